"""OTB-100 (Wu et al., TPAMI 2015) and OTB99-LANG (Li et al., CVPR 2017: OTB with one query sentence per video).

Layout (docs/datasets.md)::

    <root>/<Seq>/img/0001.jpg ...           (or <root>/OTB_videos/<Seq>/..., as in the OTB99-LANG release)
    <root>/<Seq>/groundtruth_rect.txt       x,y,w,h; separated by commas, tabs or spaces depending on the video
    <root>/OTB_query_train/<Seq>.txt        OTB99-LANG: one sentence; the folder holding it gives the split
    <root>/OTB_query_test/<Seq>.txt         (51 train / 48 test videos)

OTB's irregular videos, handled as the benchmark's own ``configSeqs.m`` (and pytracking's OTB list) do:

* several targets in one video: ``groundtruth_rect.1.txt``, ``groundtruth_rect.2.txt`` give the sequences
  ``<Seq>-1``, ``<Seq>-2`` (Jogging-1, Skating2-2, Human4-2);
* annotated frame ranges: the ground truth of a few videos covers only part of ``img/`` (David starts at frame 300);
  ``FRAME_RANGES`` lists them, and any other count mismatch is an error naming the folder and both counts.

OTB has no absence labels: every frame is marked visible. ``root`` may also be one video folder (``img/`` and
``groundtruth_rect*.txt`` inside), as with ``../shared/data/otb_crossing``.
"""
from __future__ import annotations

import os
import re
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

# Video -> (first, last) annotated frame numbers, from OTB's configSeqs.m (the frames outside have no ground truth).
FRAME_RANGES = {
    "David": (300, 770),
    "Football1": (1, 74),
    "Freeman3": (1, 460),
    "Freeman4": (1, 283),
    "Diving": (1, 215),
    "Tiger1": (6, 354),
    "BlurCar1": (247, 988),
    "BlurCar3": (3, 359),
    "BlurCar4": (18, 397),
}
QUERY_FOLDERS = {"train": "OTB_query_train", "test": "OTB_query_test"}
_TARGET_FILE = re.compile(r"^groundtruth_rect(?:\.(\d+))?\.txt$")
_NUMBER = re.compile(r"(\d+)")

LAYOUT_HELP = """OTB is read from <root>/<Seq>/img/0001.jpg and <root>/<Seq>/groundtruth_rect.txt (or
groundtruth_rect.<k>.txt per target), with <root> possibly one video folder itself; OTB99-LANG adds <root>/OTB_query_train/<Seq>.txt and
<root>/OTB_query_test/<Seq>.txt, the videos being in <root>/ or <root>/OTB_videos/"""


def open_otb(
    root: str | Path,
    split: str = "all",
    sequences: Iterable[str] | None = None,
    require_frames: bool = True,
) -> Dataset:
    """Every OTB video (and target) under ``root``; OTB is a test-only benchmark, so ``test`` means ``all`` too."""
    root = Path(root)
    if split not in ("all", "test"):
        raise ValueError(f"OTB has one split ('all', also called 'test'); asked for {split!r}. "
                         "For OTB99-LANG's train/test split use open_otb99_lang (dataset 'otb99-lang')")
    targets = find_otb_targets(root)
    names = select_sequences(sorted(targets), sequences, f"OTB at {root}")
    videos = [read_otb_sequence(*targets[name], require_frames=require_frames) for name in names]
    return Dataset("otb", split, root, videos)


def open_otb99_lang(
    root: str | Path,
    split: str = "test",
    sequences: Iterable[str] | None = None,
    require_frames: bool = True,
) -> Dataset:
    """OTB99-LANG's ``train`` (51), ``test`` (48) or ``all`` videos, each with its query sentence."""
    root = Path(root)
    check_split(split, ("train", "test", "all"), "OTB99-LANG")
    queries: dict[str, Path] = {}
    for part in ("train", "test") if split == "all" else (split,):
        folder = root / QUERY_FOLDERS[part]
        if not folder.is_dir():
            raise FileNotFoundError(f"OTB99-LANG query folder not found: {folder}\n{LAYOUT_HELP}")
        for entry in sorted(os.listdir(folder)):
            if entry.endswith(".txt"):
                queries[entry[:-4]] = folder / entry
    targets = find_otb_targets(root / "OTB_videos" if (root / "OTB_videos").is_dir() else root)
    by_lower = {name.lower(): name for name in targets}
    names = select_sequences(sorted(queries), sequences, f"the OTB99-LANG {split} split at {root}")
    result = []
    for name in names:
        target = name if name in targets else by_lower.get(name.lower())
        if target is None:
            raise FileNotFoundError(f"{queries[name]}: no OTB video folder with ground truth for {name!r} under {root}")
        sequence = read_otb_sequence(*targets[target], require_frames=require_frames, dataset="otb99-lang")
        sequence.sentence = required_sentence(queries[name])
        result.append(sequence)
    return Dataset("otb99-lang", split, root, result)


def find_otb_targets(root: Path) -> dict[str, tuple[Path, Path, str]]:
    """Sequence name -> (video folder, ground-truth file, name); ``root`` is a folder of videos or one video."""
    if not root.is_dir():
        raise FileNotFoundError(f"OTB root not found: {root}\n{LAYOUT_HELP}")
    targets = _targets_in(root)
    if targets:  # root is a single video folder
        return targets
    for entry in sorted(os.scandir(root), key=lambda item: item.name):
        if entry.is_dir():
            targets.update(_targets_in(Path(entry.path)))
    if not targets:
        raise FileNotFoundError(f"no OTB video under {root}.\n{LAYOUT_HELP}")
    return targets


def _targets_in(folder: Path) -> dict[str, tuple[Path, Path, str]]:
    targets = {}
    for entry in sorted(os.listdir(folder)):
        match = _TARGET_FILE.match(entry)
        if match:
            name = folder.name if match.group(1) is None else f"{folder.name}-{match.group(1)}"
            targets[name] = (folder, folder / entry, name)
    return targets


def read_otb_sequence(
    folder: Path, boxes_file: Path, name: str, require_frames: bool = True, dataset: str = "otb"
) -> Sequence:
    """One target of one OTB video; frames restricted to the annotated range where OTB defines one."""
    ground_truth = read_boxes(boxes_file, "ground-truth")
    image_folder = folder / "img"
    frame_paths: FramePaths | list = []
    if image_folder.is_dir() or require_frames:
        frame_names = list_frames(image_folder)
        if len(frame_names) != len(ground_truth) and folder.name in FRAME_RANGES:
            first, last = FRAME_RANGES[folder.name]
            frame_names = [frame for frame in frame_names if first <= _frame_number(image_folder, frame) <= last]
        if len(frame_names) != len(ground_truth) and folder.name not in FRAME_RANGES:
            raise DataFormatError(
                f"{image_folder}: {len(frame_names)} frames but {boxes_file.name} has {len(ground_truth)} boxes "
                f"({boxes_file}); {folder.name!r} is not one of OTB's videos with a known annotated frame range "
                f"({', '.join(FRAME_RANGES)})"
            )
        check_frame_count(image_folder, len(frame_names), len(ground_truth), boxes_file)
        frame_paths = FramePaths(image_folder, frame_names)
    return Sequence(
        name=name,
        frame_paths=frame_paths,
        ground_truth=ground_truth,
        visible=np.ones(len(ground_truth), dtype=bool),  # OTB has no absence labels
        dataset=dataset,
    )


def _frame_number(folder: Path, frame: str) -> int:
    match = _NUMBER.search(frame)
    if match is None:
        raise DataFormatError(f"{folder / frame}: frame file name without a number")
    return int(match.group(1))
