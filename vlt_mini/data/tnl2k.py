"""TNL2K (Wang et al., CVPR 2021), natural-language tracking: 700 test and 1300 training videos (docs/datasets.md).

Each video folder holds ``imgs/`` (``*.jpg`` or ``*.png``), ``groundtruth.txt`` (x,y,w,h per line; a frame where the
target is absent is written as ``0,0,0,0``, so such rows are marked not visible) and ``language.txt`` (one sentence).

The release unpacks into one folder per split, ``TNL2K_test_subset/`` (and the training parts, e.g.
``TNL2K_train_subset/`` or ``TNL2K_train_subset_p1/`` ...). ``root`` may be

* a split folder itself (it holds the video folders directly; ``split`` is then only a label, but asking for
  ``train`` from a folder whose name says ``test`` (or the reverse) is an error), or
* a folder that holds the split folders: every sub-folder whose name contains ``test`` (or ``train``) is searched,
  one level deep for videos, or two where a training part unpacks into a folder of its own.

The real annotation files (``../shared/data/tnl2k_sample``) mix LF and CRLF line ends, may lack the final newline,
and their sentences often end in a space; the box files hold integers, some negative (targets leaving the frame).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from vlt_mini.data.layout import (
    FramePaths,
    check_frame_count,
    check_split,
    list_frames,
    required_sentence,
    select_sequences,
)
from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import Sequence
from vlt_mini.data.textio import DataFormatError, read_boxes

SPLITS = ("train", "test", "all")

LAYOUT_HELP = """TNL2K is read from <root>/<video>/imgs/*.jpg|png, groundtruth.txt, language.txt, where <root> is a split
folder (e.g. TNL2K_test_subset) or a folder that holds TNL2K_test_subset/ and TNL2K_train_subset*/ folders"""


def open_tnl2k(
    root: str | Path,
    split: str = "test",
    sequences: Iterable[str] | None = None,
    require_frames: bool = True,
) -> Dataset:
    """Open one split of TNL2K; ``require_frames=False`` accepts videos without ``imgs/`` (annotations only)."""
    root = Path(root)
    check_split(split, SPLITS, "TNL2K")
    folders = find_tnl2k_videos(root, split)
    names = select_sequences(sorted(folders), sequences, f"the TNL2K {split} split at {root}")
    return Dataset("tnl2k", split, root, [read_tnl2k_sequence(folders[name], require_frames) for name in names])


def read_tnl2k_sequence(folder: Path, require_frames: bool = True) -> Sequence:
    boxes_file = folder / "groundtruth.txt"
    ground_truth = read_boxes(boxes_file, "ground-truth")
    image_folder = folder / "imgs"
    frame_paths: FramePaths | list = []
    if image_folder.is_dir() or require_frames:
        if not image_folder.is_dir():
            raise FileNotFoundError(
                f"frame folder not found: {image_folder} (pass require_frames=False to read the annotations alone)"
            )
        names = list_frames(image_folder)
        check_frame_count(image_folder, len(names), len(ground_truth), boxes_file)
        frame_paths = FramePaths(image_folder, names)
    return Sequence(
        name=folder.name,
        frame_paths=frame_paths,
        ground_truth=ground_truth,
        visible=~np.all(ground_truth == 0, axis=1),  # TNL2K writes 0,0,0,0 where the target is absent
        sentence=required_sentence(folder / "language.txt"),
        dataset="tnl2k",
    )


def find_tnl2k_videos(root: Path, split: str) -> dict[str, Path]:
    """Video name -> folder for ``split`` under ``root`` (see the module docstring for the accepted layouts)."""
    if not root.is_dir():
        raise FileNotFoundError(f"TNL2K root not found: {root}\n{LAYOUT_HELP}")
    direct = _videos_in(root)
    if direct:
        other = {"test": "train", "train": "test"}.get(split)
        if other and other in root.name.lower() and split not in root.name.lower():
            raise ValueError(f"{root} looks like TNL2K's {other} folder, but the {split} split was asked for")
        return direct
    keywords = ("test", "train") if split == "all" else (split,)
    found: dict[str, Path] = {}
    for entry in sorted(os.scandir(root), key=lambda item: item.name):
        if not entry.is_dir() or not any(word in entry.name.lower() for word in keywords):
            continue
        videos = _videos_in(Path(entry.path))
        if not videos:  # a training part that unpacks into a folder of its own
            for child in sorted(os.scandir(entry.path), key=lambda item: item.name):
                if child.is_dir():
                    videos.update(_videos_in(Path(child.path)))
        for name, folder in videos.items():
            if name in found:
                raise DataFormatError(f"TNL2K video {name!r} found twice: {found[name]} and {folder}")
            found[name] = folder
    if not found:
        raise FileNotFoundError(f"no TNL2K {split} videos under {root}.\n{LAYOUT_HELP}")
    return found


def _videos_in(folder: Path) -> dict[str, Path]:
    videos = {}
    for entry in os.scandir(folder):
        if entry.is_dir() and os.path.isfile(os.path.join(entry.path, "groundtruth.txt")):
            videos[entry.name] = Path(entry.path)
    return videos
