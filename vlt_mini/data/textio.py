"""Parsing annotation and results files: boxes separated by commas, tabs or spaces; 0/1 flags.

The fast path parses a whole file with numpy at once (the evaluator reads 685k LaSOT boxes twice); on any problem the
slow path re-reads line by line so that the error names the file and the line.
"""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np


class DataFormatError(ValueError):
    """A dataset or results file that cannot be parsed; the message names the file and, where known, the line."""


_SEPARATORS = re.compile(r"[,\t ;]+")

# Byte classes for the vectorised parser of plain decimals: 1 digit, 2 '.', 3 '-', 4 separator, 5 newline, 0 other.
_BYTE_CLASS = np.zeros(256, dtype=np.uint8)
_BYTE_CLASS[48:58] = 1
_BYTE_CLASS[46] = 2
_BYTE_CLASS[45] = 3
_BYTE_CLASS[[32, 9, 44, 59, 13]] = 4
_BYTE_CLASS[10] = 5
_MOST_DIGITS = 19                                   # any 19-digit mantissa fits in uint64
_ASCII_ZEROS = np.uint64(0x3030303030303030)        # b"00000000" as a little-endian word
_POWERS_OF_TEN_U64 = np.array([10**k for k in range(_MOST_DIGITS + 1)], dtype=np.uint64)
_POWERS_OF_TEN = 10.0 ** np.arange(23)              # exact doubles up to 1e22
_VELTKAMP = 134217729.0                             # 2**27 + 1, splits a double into two 26-bit halves


def _parse_plain_decimals(body: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Numbers and the line index of each, for text of decimals (``12``, ``-3.25``, ``367.0763161678982``) and
    separators; exactly the doubles ``float()`` gives (correctly rounded), several times faster than ``np.fromstring``.

    Vectorised over tokens: eight digits at a time are read as one 64-bit word and combined with the SWAR steps of
    fast_float's ``parse_eight_digits_unrolled``; the integer mantissa (at most 19 digits) is then divided by a power of
    ten with exact rounding (``_divide_by_power_of_ten``). The rare other tokens (exponents, ``nan``, more digits) go
    to ``float()`` one by one. Returns None when a token is not a number at all, so that the caller's general parser
    reports the file and the line.
    """
    try:
        raw = body.encode("ascii")
    except UnicodeEncodeError:
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    special = np.flatnonzero((data - np.uint8(48)) > 9)          # one pass over the bytes: where the non-digits are
    special_kind = _BYTE_CLASS[data[special]]
    is_bound = special_kind >= 4                                  # separators and newlines
    bounds = np.concatenate(([-1], special[is_bound], [len(data)]))
    gap = np.flatnonzero(np.diff(bounds) > 1)
    starts, ends = bounds[gap] + 1, bounds[gap + 1]               # every token: a maximal run of non-separators
    if len(starts) == 0:
        return None
    # the token holding each '.', '-' or other character: the one after the last separator before it
    token_after_bound = np.full(len(bounds), -1)
    token_after_bound[gap] = np.arange(len(starts))
    owner = token_after_bound[np.cumsum(is_bound)[~is_bound]]
    position, kind = special[~is_bound], special_kind[~is_bound]
    unusual = np.zeros(len(starts), dtype=bool)                   # tokens left to float()
    unusual[owner[kind == 0]] = True
    minus_owner = owner[kind == 3]
    unusual[minus_owner[position[kind == 3] != starts[minus_owner]]] = True   # a minus inside a token ("1e-05")
    dots, dot_owner = position[kind == 2], owner[kind == 2]
    unusual[dot_owner[1:][np.diff(dot_owner) == 0]] = True      # two dots
    line_of_token = np.concatenate(([0], np.cumsum(special_kind[is_bound] == 5)))[gap]
    negative = data[starts] == 45
    digits_start = starts + negative
    integer_end = ends.copy()
    integer_end[dot_owner] = dots
    integer_digits = integer_end - digits_start
    fraction_digits = np.zeros(len(starts), dtype=np.int64)
    fraction_digits[dot_owner] = ends[dot_owner] - dots - 1
    total = integer_digits + fraction_digits
    unusual |= (total == 0) | (total > _MOST_DIGITS)
    integer_digits[unusual] = 0
    fraction_digits[unusual] = 0
    padded = raw + bytes(32)
    words = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # the 8 bytes at each offset
    mantissa = (_digit_run_values(words, digits_start, integer_digits) * _POWERS_OF_TEN_U64[fraction_digits]
                + _digit_run_values(words, integer_end + 1, fraction_digits))
    numbers = _divide_by_power_of_ten(mantissa, fraction_digits)
    numbers[negative] *= -1
    for index in np.flatnonzero(unusual):
        token = raw[starts[index]:ends[index]]
        if b"_" in token:  # float() accepts "1_000"; a results file must not
            return None
        try:
            numbers[index] = float(token)
        except ValueError:
            return None
    return numbers, line_of_token


def _eight_digits(words: np.ndarray) -> np.ndarray:
    """The value of 8 digit bytes per uint64 (first digit in the lowest byte, b"0" already subtracted): SWAR."""
    words = words * np.uint64(10) + (words >> np.uint64(8))                 # pairs of digits
    low = words & np.uint64(0x000000FF000000FF)
    high = (words >> np.uint64(16)) & np.uint64(0x000000FF000000FF)
    return (low * np.uint64(100 + (1000000 << 32)) + high * np.uint64(1 + (10000 << 32))) >> np.uint64(32)


def _digit_run_values(words: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The integer written by ``length`` digits at byte ``start`` (per token), eight digits per step."""
    value = np.zeros(len(start), dtype=np.uint64)
    for offset in range(0, int(length.max(initial=0)), 8):
        count = np.minimum(np.maximum(length - offset, 0), 8)
        # Subtracting b"0" bytewise is exact for the digits; the bytes after them (borrows included) are shifted out,
        # which leaves zeros (leading zeros of the 8-digit number) in their place.
        chunk = (words[start + offset] - _ASCII_ZEROS) << ((8 - count) * 8).astype(np.uint64) % np.uint64(64)
        value = value * _POWERS_OF_TEN_U64[count] + np.where(count > 0, _eight_digits(chunk), np.uint64(0))
    return value


def _divide_by_power_of_ten(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``mantissa / 10**exponent`` correctly rounded, as ``float("<digits>")`` is.

    Mantissas up to 2**53 are exact doubles and so is 10**exponent: one IEEE division rounds correctly (Clinger's fast
    path). Larger ones are rounded to a double first, so the quotient may be one ulp off: the exact remainder
    (Dekker's product, no FMA needed) says which neighbour is nearest; the few too close to call go to Python's
    exact integer division.
    """
    scale = _POWERS_OF_TEN[exponent]
    rounded = mantissa.astype(np.float64)
    quotient = rounded / scale
    long = np.flatnonzero(mantissa > np.uint64(2**53))
    if long.size:
        m, m_rounded, p, q = mantissa[long], rounded[long], scale[long], quotient[long]
        m_low = (m - m_rounded.astype(np.uint64)).view(np.int64).astype(np.float64)  # m = m_rounded + m_low exactly
        product, product_error = _two_product(q, p)
        excess = (((m_rounded - product) - product_error) + m_low) / p             # m / p - q, nearly exact
        up, down = np.nextafter(q, np.inf), np.nextafter(q, -np.inf)
        half_up, half_down = (up - q) / 2, (q - down) / 2
        best = np.where(excess > half_up, up, np.where(excess < -half_down, down, q))
        unsure = ((np.abs(excess - half_up) <= 1e-6 * half_up) | (np.abs(excess + half_down) <= 1e-6 * half_down)
                  | (excess > 3 * half_up) | (excess < -3 * half_down))
        for index in np.flatnonzero(unsure):
            best[index] = int(m[index]) / 10 ** int(exponent[long[index]])  # Python's int division rounds exactly
        quotient[long] = best
    return quotient


def _two_product(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a * b == product + error`` exactly (Dekker 1971, with Veltkamp's split)."""
    product = a * b
    t = _VELTKAMP * a
    a_high = t - (t - a)
    a_low = a - a_high
    t = _VELTKAMP * b
    b_high = t - (t - b)
    b_low = b - b_high
    return product, ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: expected a {what} file, found a folder") from None


def _locate_bad_line(path: Path, text: str, columns: int) -> DataFormatError:
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            return DataFormatError(f"{path}:{number}: blank line before the end of the file")
        fields = [item for item in _SEPARATORS.split(stripped) if item]
        if len(fields) != columns:
            return DataFormatError(f"{path}:{number}: expected {columns} numbers, found {len(fields)}: {stripped[:80]!r}")
        for item in fields:
            try:
                float(item.replace("_", "?"))  # float() would accept "1_0"
            except ValueError:
                return DataFormatError(f"{path}:{number}: not a number: {item!r} in {stripped[:80]!r}")
    return DataFormatError(f"{path}: cannot parse as rows of {columns} numbers")


def parse_boxes(text: str, path: str | Path = "<text>", columns: int = 4) -> np.ndarray:
    """Parse rows of ``columns`` numbers (x, y, w, h) separated by commas, tabs or spaces into an (N, columns) array.

    Blank lines are ignored only at the end of the file; a blank line in the middle is an error (it would shift every
    later frame). ``nan`` is accepted (some trackers write it for a lost target).
    """
    path = Path(path)
    body = text.rstrip()
    if not body:
        return np.zeros((0, columns), dtype=np.float64)
    lines = body.count("\n") + 1
    plain = _parse_plain_decimals(body)
    if plain is not None:
        numbers, line_of_number = plain
        if numbers.size != lines * columns or np.any(np.bincount(line_of_number, minlength=lines) != columns):
            raise _locate_bad_line(path, body, columns)
        return numbers.reshape(lines, columns)
    flat = body.replace(",", " ").replace("\t", " ").replace(";", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy warns (then errors) on text it cannot parse to the end
        try:
            numbers = np.fromstring(flat, dtype=np.float64, sep=" ")
        except (ValueError, DeprecationWarning):
            raise _locate_bad_line(path, body, columns) from None
    if numbers.size != lines * columns:
        raise _locate_bad_line(path, body, columns)
    # Equal totals can still hide a 3-number line next to a 5-number one: check the count on every line.
    if np.any(_count_fields_per_line(flat) != columns):
        raise _locate_bad_line(path, body, columns)
    boxes = numbers.reshape(lines, columns)
    return boxes


def _count_fields_per_line(flat: str) -> np.ndarray:
    """Number of whitespace-separated fields on each line of ``flat``, vectorised over the bytes."""
    data = np.frombuffer(flat.encode("ascii", errors="replace"), dtype=np.uint8)
    is_space = (data == 32) | (data == 13)
    is_newline = data == 10
    is_token = ~(is_space | is_newline)
    starts = is_token & np.concatenate(([True], ~is_token[:-1]))
    line_index = np.concatenate(([0], np.cumsum(is_newline)[:-1]))
    return np.bincount(line_index[starts], minlength=int(is_newline.sum()) + 1)


def read_boxes(path: str | Path, what: str = "box", columns: int = 4) -> np.ndarray:
    """Read an (N, 4) float64 array of boxes from a ground-truth or results file."""
    path = Path(path)
    return parse_boxes(_read_text(path, what), path, columns)


def read_flags(path: str | Path, what: str = "flag") -> np.ndarray:
    """Read 0/1 flags, one line of comma-separated values (LaSOT) or one value per line (toolkit, GOT-10k)."""
    path = Path(path)
    text = _read_text(path, what).strip()
    if not text:
        return np.zeros(0, dtype=np.int64)
    plain = _parse_plain_decimals(text)
    if plain is not None:
        return plain[0].astype(np.int64)
    flat = text.replace(",", " ").replace("\t", " ").replace(";", " ")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(flat, dtype=np.float64, sep=" ")
            return values.astype(np.int64)
        except (ValueError, DeprecationWarning):
            pass
    for number, line in enumerate(text.splitlines(), start=1):
        for item in _SEPARATORS.split(line.strip()):
            if not item:
                continue
            try:
                float(item)
            except ValueError:
                raise DataFormatError(f"{path}:{number}: not a number: {item!r}") from None
    raise DataFormatError(f"{path}: cannot parse flags")


def read_sentence(path: str | Path) -> str | None:
    """The first non-empty line of a language file, or None if the file is missing or empty."""
    path = Path(path)
    if not path.is_file():
        return None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.strip():
            return line.strip()
    return None


def format_boxes(boxes: np.ndarray) -> str:
    """Results-file text: one ``x,y,w,h`` line per box, as the LaSOT toolkit reads it."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return "".join(f"{x:.4f},{y:.4f},{w:.4f},{h:.4f}\n" for x, y, w, h in boxes)
