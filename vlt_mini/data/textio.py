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
_ASCII_ZEROS = 0x3030303030303030                   # b"00000000" as a little-endian word
# the top k bytes of a word set (k = 0..8): where the last k digits of a run sit in the word that ends with them
_HIGH_BYTES = np.array([(2**64 - 1) ^ (2 ** (64 - 8 * k) - 1) for k in range(9)], dtype=np.uint64)
_HIGH_ZEROS = _HIGH_BYTES & np.uint64(_ASCII_ZEROS)       # b"0" in those bytes
_POWERS_OF_TEN_U64 = np.array([10**k for k in range(_MOST_DIGITS + 1)], dtype=np.uint64)
_POWERS_OF_TEN = 10.0 ** np.arange(23)              # exact doubles up to 1e22
_VELTKAMP = 134217729.0                             # 2**27 + 1, splits a double into two 26-bit halves
_EXTENDED_PRECISION = np.finfo(np.longdouble).nmant >= 63   # x86's 80-bit long double (not on ARM or Windows)
_POWERS_OF_TEN_EXTENDED = _POWERS_OF_TEN_U64.astype(np.longdouble)   # exact: from the integers, not from doubles


def _parse_plain_decimals(body: str | bytes) -> tuple[np.ndarray, np.ndarray] | None:
    """Numbers and the line index of each, for text of decimals (``12``, ``-3.25``, ``367.0763161678982``) and
    separators; exactly the doubles ``float()`` gives (correctly rounded), several times faster than ``np.fromstring``.

    Vectorised over tokens: each token's integer and fraction digits are read eight at a time as 64-bit words
    (``_digit_run_values``); the integer mantissa (at most 19 digits) is then divided by a power of ten with exact
    rounding (``_divide_by_power_of_ten``). The rare other tokens (exponents, ``nan``, more digits) go to ``float()``
    one by one. Returns None when a token is not a number at all, so that the caller's general parser reports the
    file and the line.
    """
    if isinstance(body, str):
        try:
            body = body.encode("ascii")
        except UnicodeEncodeError:
            return None
    # Eight zero bytes in front: the 8-byte word that ends at any byte of the text lies inside the buffer.
    padded = np.frombuffer(bytes(8) + body, dtype=np.uint8)
    data = padded[8:]
    special = np.flatnonzero((data - np.uint8(48)) > 9)          # one pass over the bytes: where the non-digits are
    special_kind = _BYTE_CLASS[data[special]]
    is_bound = special_kind >= 4                                  # separators and newlines
    bounds = np.concatenate(([-1], special[is_bound], [len(data)]))
    is_line_end = np.concatenate(([0], special_kind[is_bound] == 5))
    bounds_before = np.cumsum(is_bound)[~is_bound]                # per '.', '-' or other character
    if np.diff(bounds).min() > 1:                                 # one separator between tokens (the usual case)
        starts, ends = bounds[:-1] + 1, bounds[1:]                # token k lies between separators k - 1 and k
        owner = bounds_before                                     # the token of each '.', '-' or other character
        line_of_token = np.cumsum(is_line_end)
    else:
        gap = np.flatnonzero(np.diff(bounds) > 1)
        starts, ends = bounds[gap] + 1, bounds[gap + 1]           # every token: a maximal run of non-separators
        if len(starts) == 0:
            return None
        # the token holding each '.', '-' or other character: the one after the last separator before it
        token_after_bound = np.full(len(bounds), -1)
        token_after_bound[gap] = np.arange(len(starts))
        owner = token_after_bound[bounds_before]
        line_of_token = np.cumsum(is_line_end)[gap]
    position, kind = special[~is_bound], special_kind[~is_bound]
    unusual = np.zeros(len(starts), dtype=bool)                   # tokens left to float()
    unusual[owner[kind == 0]] = True
    is_minus = kind == 3
    minus_owner = owner[is_minus]
    unusual[minus_owner[position[is_minus] != starts[minus_owner]]] = True   # a minus inside a token ("1e-05")
    is_dot = kind == 2
    dots, dot_owner = position[is_dot], owner[is_dot]
    unusual[dot_owner[1:][np.diff(dot_owner) == 0]] = True      # two dots
    negative = data[starts] == 45
    integer_end = ends.copy()
    integer_end[dot_owner] = dots
    integer_digits = integer_end - starts - negative
    fraction_digits = np.zeros(len(starts), dtype=np.int64)
    fraction_digits[dot_owner] = ends[dot_owner] - dots - 1
    total = integer_digits + fraction_digits
    unusual |= (total == 0) | (total > _MOST_DIGITS)
    integer_digits[unusual] = 0
    fraction_digits[unusual] = 0
    words = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=padded, strides=(1,))  # words[i]: data[i-8:i]
    mantissa = _digit_run_values(words, integer_end, integer_digits)
    if dots.size:
        mantissa = mantissa * _POWERS_OF_TEN_U64[fraction_digits] + _digit_run_values(words, ends, fraction_digits)
    numbers = _divide_by_power_of_ten(mantissa, fraction_digits)
    numbers[negative] *= -1
    for index in np.flatnonzero(unusual):
        token = body[starts[index]:ends[index]]
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


def _digit_run_values(words: np.ndarray, end: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The integer written by the ``length`` digits just before byte ``end`` (per token; 0 where ``length`` is 0).

    Eight digits per step, from the right: ``words[end]`` is the 8 bytes ending at the run's last digit (the first
    byte the lowest, little-endian). The bytes before the run are masked away and b"0" is subtracted from the digits
    (``_HIGH_BYTES`` / ``_HIGH_ZEROS``, indexed by the digit count), which leaves the run as an 8-digit number with
    leading zeros for fast_float's SWAR conversion (``_eight_digits``). Only tokens with digits left take the next step.
    """
    count = np.minimum(length, 8)
    value = _eight_digits((words[end] & _HIGH_BYTES[count]) - _HIGH_ZEROS[count])
    for done in range(8, int(length.max(initial=0)), 8):
        more = np.flatnonzero(length > done)
        count = np.minimum(length[more] - done, 8)
        chunk = _eight_digits((words[end[more] - done] & _HIGH_BYTES[count]) - _HIGH_ZEROS[count])
        value[more] += chunk * np.uint64(10**done)
    return value


def _divide_by_power_of_ten(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``mantissa / 10**exponent`` correctly rounded, as ``float("<digits>")`` is.

    Mantissas up to 2**53 are exact doubles and so is 10**exponent: one IEEE division rounds correctly (Clinger's fast
    path). Larger ones (17-digit tracker output) go through ``_divide_extended`` where the platform's long double has
    a 64-bit mantissa (x86), else through Dekker's exact remainder here: the mantissa is rounded to a double first, so
    the quotient may be one ulp off; the exact remainder (Dekker's product, no FMA needed) says which neighbour is
    nearest; the few too close to call go to Python's exact integer division.
    """
    scale = _POWERS_OF_TEN[exponent]
    rounded = mantissa.astype(np.float64)
    quotient = rounded / scale
    long = np.flatnonzero(mantissa > np.uint64(2**53))
    if long.size and _EXTENDED_PRECISION:
        quotient[long] = _divide_extended(mantissa[long], exponent[long])
    elif long.size:
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


def _divide_extended(mantissa: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    """``mantissa / 10**exponent`` correctly rounded, through the 80-bit long double (64-bit mantissa).

    Any uint64 mantissa and 10**0..10**19 are exact long doubles, so the quotient is rounded once to 64 bits, then to
    a double. Rounding twice can only err when the first rounding lands exactly halfway between two doubles; those
    (and the few whose neighbouring long doubles round to different doubles, a superset) are divided exactly by
    Python's integers.
    """
    extended = mantissa.astype(np.longdouble) / _POWERS_OF_TEN_EXTENDED[exponent]
    quotient = extended.astype(np.float64)
    near_halfway = (np.nextafter(extended, np.longdouble(np.inf)).astype(np.float64)
                    != np.nextafter(extended, np.longdouble(-np.inf)).astype(np.float64))
    for index in np.flatnonzero(near_halfway):
        quotient[index] = int(mantissa[index]) / 10 ** int(exponent[index])
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


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} file not found: {path}") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: expected a {what} file, found a folder") from None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


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


def parse_boxes(text: str | bytes, path: str | Path = "<text>", columns: int = 4) -> np.ndarray:
    """Parse rows of ``columns`` numbers (x, y, w, h) separated by commas, tabs or spaces into an (N, columns) array.

    Blank lines are ignored only at the end of the file; a blank line in the middle is an error (it would shift every
    later frame). ``nan`` is accepted (some trackers write it for a lost target). ``text`` may be a file's raw bytes
    (``read_boxes``): plain ASCII is parsed as it is, anything else is decoded as UTF-8 first.
    """
    path = Path(path)
    body = text.rstrip()
    if not body:
        return np.zeros((0, columns), dtype=np.float64)
    is_bytes = isinstance(body, bytes)
    plain = _parse_plain_decimals(body)
    if plain is not None:
        numbers, line_of_number = plain
        ends_with_number = _BYTE_CLASS[body[-1] if is_bytes else ord(body[-1])] < 4   # no trailing ',' or ';'
        # then the last number's line is the last line: no need to count the newlines of the whole text
        lines = int(line_of_number[-1]) + 1 if ends_with_number else body.count(b"\n" if is_bytes else "\n") + 1
        if numbers.size != lines * columns or np.any(np.bincount(line_of_number, minlength=lines) != columns):
            raise _locate_bad_line(path, _decode(body) if is_bytes else body, columns)
        return numbers.reshape(lines, columns)
    if is_bytes:
        return parse_boxes(_decode(body), path, columns)
    lines = body.count("\n") + 1
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


def map_in_order(function, items, threads: int = 2):
    """``function`` over ``items``, results in order, on ``threads`` threads where there are several cores and enough
    items: the parsers' numpy loops release the GIL, so one file's parsing overlaps the next one's. An error is raised
    for the first failing item in order, as a plain loop would."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    items = list(items)
    if threads < 2 or len(items) < 8 or (os.cpu_count() or 1) < 2:
        yield from map(function, items)
        return
    with ThreadPoolExecutor(threads) as pool:
        yield from pool.map(function, items)


def read_boxes(path: str | Path, what: str = "box", columns: int = 4) -> np.ndarray:
    """Read an (N, 4) float64 array of boxes from a ground-truth or results file."""
    path = Path(path)
    return parse_boxes(_read_bytes(path, what), path, columns)


def _parse_single_digit_flags(body: bytes) -> np.ndarray | None:
    """Flags written as single digits, each followed by one separator (``0\\n1\\n0``, ``0,1,0``): every other byte
    is a flag, so no number parsing is needed (LaSOT's 685k absent flags). None for any other text."""
    data = np.frombuffer(body, dtype=np.uint8)
    if len(data) % 2 == 0:
        return None
    digits = data[0::2] - np.uint8(48)
    if digits.max() > 9 or np.any(_BYTE_CLASS[data[1::2]] < 4):
        return None
    return digits.astype(np.int64)


def read_flags(path: str | Path, what: str = "flag") -> np.ndarray:
    """Read 0/1 flags, one line of comma-separated values (LaSOT) or one value per line (toolkit, GOT-10k)."""
    path = Path(path)
    body = _read_bytes(path, what).strip()
    flags = _parse_single_digit_flags(body) if body else None
    if flags is not None:
        return flags
    text = _decode(body).strip()
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
