"""Folder helpers shared by the dataset readers: listing frames once per folder, lazy frame paths, checked flag files.

Readers must stay fast on real benchmarks (LaSOT's test split is 685k frames): a frame folder is listed with one
``os.listdir`` call, nothing is ``stat``-ed per frame, and ``Path`` objects are only built for the frames asked for.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence as SequenceABC
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from vlt_mini.data.textio import DataFormatError, read_flags

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that orders ``img2.jpg`` before ``img10.jpg`` (numbers compared as numbers)."""
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(name))


def list_frames(folder: Path) -> list[str]:
    """Image file names in ``folder`` in frame order, from a single directory listing (no per-file ``stat``)."""
    try:
        names = [name for name in os.listdir(folder) if name.lower().endswith(IMAGE_EXTENSIONS)]
    except FileNotFoundError:
        raise FileNotFoundError(f"frame folder not found: {folder}") from None
    except NotADirectoryError:
        raise DataFormatError(f"{folder}: expected a folder of frames, found a file") from None
    if names and all(len(name) == len(names[0]) for name in names):
        names.sort()  # zero-padded names (LaSOT, GOT-10k, OTB): plain order is frame order
    else:
        names.sort(key=natural_key)
    return names


class FramePaths(SequenceABC):
    """The frame files of one video, in order: a list-like of ``Path`` built on access (cheap for 10^6 frames)."""

    def __init__(self, folder: Path, names: list[str]):
        self.folder = Path(folder)
        self.names = list(names)

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self.folder / name for name in self.names[index]]
        return self.folder / self.names[index]

    def __iter__(self) -> Iterator[Path]:
        folder = self.folder
        return (folder / name for name in self.names)

    def __eq__(self, other) -> bool:
        if isinstance(other, FramePaths):
            return self.folder == other.folder and self.names == other.names
        if isinstance(other, (list, tuple)):
            return list(self) == [Path(item) for item in other]
        return NotImplemented

    def __repr__(self) -> str:
        first = f", first={self.names[0]!r}" if self.names else ""
        return f"FramePaths({str(self.folder)!r}, {len(self)} frames{first})"


def check_frame_count(folder: Path, frames: int, boxes: int, boxes_file: Path) -> None:
    if frames != boxes:
        raise DataFormatError(
            f"{folder}: {frames} frames but {boxes_file.name} has {boxes} boxes ({boxes_file})"
        )


def read_binary_flags(path: Path, expected: int, what: str, against: str = "groundtruth.txt") -> np.ndarray:
    """0/1 flags from ``path`` (one line comma-separated or one per line), checked for count and values."""
    flags = read_flags(path, what)
    if len(flags) != expected:
        raise DataFormatError(f"{path}: {len(flags)} {what} flags but {against} has {expected} boxes")
    return check_flag_values(path, flags, allowed=(0, 1))


def check_flag_values(path: Path, flags: np.ndarray, allowed: Iterable[int]) -> np.ndarray:
    """Raise naming the file and the line (one value per line) or position (one line) of the first bad value."""
    allowed = np.asarray(list(allowed))
    bad = np.flatnonzero(~np.isin(flags, allowed))
    if bad.size:
        index = int(bad[0])
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        where = f"{path}:{index + 1}" if "\n" in text else f"{path}:1: value {index + 1}"
        raise DataFormatError(f"{where}: flag {int(flags[index])} is not one of {', '.join(map(str, allowed))}")
    return flags


def read_name_list(path: Path) -> list[str]:
    """A split file: one sequence name per line (blank lines ignored); duplicate names are an error."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"split file not found: {path}") from None
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        name = line.strip()
        if not name:
            continue
        if name in seen:
            raise DataFormatError(f"{path}:{number}: sequence {name!r} already listed on line {seen[name]}")
        seen[name] = number
        names.append(name)
    return names


def select_sequences(available: list[str], wanted: Iterable[str] | None, where: str) -> list[str]:
    """The ``sequences=[...]`` option of every reader: a subset of ``available`` in the order asked for."""
    if wanted is None:
        return available
    if isinstance(wanted, str):
        wanted = [wanted]
    wanted = list(wanted)
    known = set(available)
    missing = [name for name in wanted if name not in known]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise KeyError(f"{len(missing)} sequence(s) not in {where}: {shown}")
    return wanted


def required_sentence(path: Path) -> str:
    """The first non-empty line of a language file that must exist (LaSOT nlp.txt, TNL2K language.txt)."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"sentence file not found: {path}") from None
    for line in text.splitlines():
        if line.strip():
            return " ".join(line.split())
    raise DataFormatError(f"{path}: empty sentence file")


def check_split(split: str, choices: tuple[str, ...], dataset: str) -> str:
    if split not in choices:
        raise ValueError(f"unknown split {split!r} for {dataset}; choose one of {', '.join(choices)}")
    return split
