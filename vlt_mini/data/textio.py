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
                float(item)
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
