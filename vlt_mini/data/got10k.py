"""GOT-10k (Huang et al., TPAMI 2019): 10k videos with class labels instead of sentences
(the pseudo-sentences: docs/datasets.md).

Layout::

    <root>/<split>/list.txt                         the split's video names, in order (optional)
    <root>/<split>/GOT-10k_<Split>_<id>/00000001.jpg ...
                                        groundtruth.txt   x,y,w,h per line
                                        absence.label     0/1 per line: 1 = the target is absent
                                        cover.label       0..8 per line: the visible fraction of the target, in eighths
                                        meta_info.ini     object_class, motion_class, major_class, root_class ...

``root`` may also be the split folder itself. VLT gives GOT-10k videos a pseudo-description, the concatenation of
the object, motion, major and root classes of ``meta_info.ini`` ("dove, walking, bird, animal").

The test split publishes only the first frame's box (results are scored by the evaluation server), and no absence
or cover labels: such videos come back with ``first_box_only=True``, one ground-truth row, and every frame listed.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from vlt_mini.data.layout import (
    FramePaths,
    check_flag_values,
    check_frame_count,
    check_split,
    list_frames,
    read_binary_flags,
    read_name_list,
    select_sequences,
)
from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import Sequence
from vlt_mini.data.textio import DataFormatError, read_boxes, read_flags

SPLITS = ("train", "val", "test")
DESCRIPTION_FIELDS = ("object_class", "motion_class", "major_class", "root_class")  # the paper's order

LAYOUT_HELP = """GOT-10k is read from <root>/<split>/GOT-10k_<Split>_<id>/00000001.jpg, groundtruth.txt, absence.label,
cover.label, meta_info.ini (with <split> one of train, val, test), or from a split folder itself"""


def open_got10k(root: str | Path, split: str = "val", sequences: Iterable[str] | None = None) -> Dataset:
    """Open GOT-10k's ``train``, ``val`` or ``test`` split (test: first boxes only, see the module docstring)."""
    root = Path(root)
    check_split(split, SPLITS, "GOT-10k")
    folder = got10k_split_folder(root, split)
    if (folder / "list.txt").is_file():
        names = read_name_list(folder / "list.txt")
    else:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_dir() and entry.name.startswith("GOT-10k_"))
    names = select_sequences(names, sequences, f"the GOT-10k {split} split at {folder}")
    return Dataset("got10k", split, root, [read_got10k_sequence(folder / name, split) for name in names])


def got10k_split_folder(root: Path, split: str) -> Path:
    """``<root>/<split>``, or ``root`` itself when it is a split folder (checked to be the split asked for)."""
    if not root.is_dir():
        raise FileNotFoundError(f"GOT-10k root not found: {root}\n{LAYOUT_HELP}")
    if (root / split).is_dir():
        return root / split
    videos = [entry.name for entry in os.scandir(root) if entry.is_dir() and entry.name.startswith("GOT-10k_")]
    if not videos:
        raise FileNotFoundError(f"no GOT-10k {split} split at {root}: {root / split} is missing.\n{LAYOUT_HELP}")
    held = videos[0].split("_")[1].lower() if videos[0].count("_") >= 2 else split
    if held != split:
        raise ValueError(f"{root} holds GOT-10k's {held} split (e.g. {videos[0]}), but the {split} split was asked for")
    return root


def read_got10k_sequence(folder: Path, split: str = "val") -> Sequence:
    if not folder.is_dir():
        raise FileNotFoundError(f"GOT-10k video folder not found: {folder}")
    boxes_file = folder / "groundtruth.txt"
    ground_truth = read_boxes(boxes_file, "ground-truth")
    frame_names = list_frames(folder)
    frame_paths = FramePaths(folder, frame_names)
    meta_file = folder / "meta_info.ini"
    sentence = pseudo_description(meta_file) if (meta_file.is_file() or split != "test") else None
    if split == "test" and len(ground_truth) == 1 and not (folder / "absence.label").is_file():
        # the test split: the first box only; the other frames are to be tracked and scored by the server
        return Sequence(folder.name, frame_paths, ground_truth, [True], sentence, dataset="got10k", first_box_only=True)
    check_frame_count(folder, len(frame_names), len(ground_truth), boxes_file)
    absent = read_binary_flags(folder / "absence.label", len(ground_truth), "absence")
    cover_file = folder / "cover.label"
    cover = read_flags(cover_file, "cover")
    if len(cover) != len(ground_truth):
        raise DataFormatError(
            f"{cover_file}: {len(cover)} cover labels but groundtruth.txt has {len(ground_truth)} boxes"
        )
    check_flag_values(cover_file, cover, allowed=range(9))
    return Sequence(
        name=folder.name,
        frame_paths=frame_paths,
        ground_truth=ground_truth,
        visible=absent == 0,
        sentence=sentence,
        dataset="got10k",
        cover=cover,
    )


def read_meta_info(path: Path) -> dict[str, str]:
    """``key: value`` lines of a GOT-10k ``meta_info.ini`` (the ``[METAINFO]`` header and blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except FileNotFoundError:
        raise FileNotFoundError(f"meta-information file not found: {path}") from None
    info = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith(("[", "#", ";")):
            continue
        key, separator, value = line.partition(":")
        if not separator:
            raise DataFormatError(f"{path}:{number}: expected 'key: value', found {line[:80]!r}")
        info[key.strip().lower()] = value.strip()
    return info


def pseudo_description(path: Path) -> str:
    """VLT's sentence for a GOT-10k video: object, motion, major and root class joined by commas."""
    info = read_meta_info(path)
    parts = [info[field] for field in DESCRIPTION_FIELDS if info.get(field)]
    if not parts:
        raise DataFormatError(f"{path}: none of {', '.join(DESCRIPTION_FIELDS)} is given")
    return ", ".join(parts)
