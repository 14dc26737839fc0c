"""LaSOT and the synthetic mini-LaSOT: the dataset layout and the official toolkit's annotation layout
(docs/datasets.md).

LaSOT (Fan et al., CVPR 2019) is VLT's main benchmark: 1400 videos, 280 of them the test split (``testing_set.txt``),
one sentence per video (``nlp.txt``), and 14 attributes per video. Two layouts are read, detected automatically:

(a) the dataset layout (the download, and mini-LaSOT)::

        <root>/<class>/<class>-<k>/img/00000001.jpg ...
                                   groundtruth.txt       x,y,w,h per line
                                   full_occlusion.txt    one line of comma-separated 0/1
                                   out_of_view.txt       one line of comma-separated 0/1
                                   nlp.txt               one sentence
        <root>/testing_set.txt  [training_set.txt]  [validation_set.txt]  [att/<class>-<k>.txt]

    (``<root>/<class>-<k>/`` without the class level is accepted too.) A frame is visible unless it is fully occluded
    or out of view, as the official toolkit's ``absent`` files say.

(b) the toolkit's annotation layout (``../shared/data/lasot_test_annos``; annotations only, no frames)::

        <root>/groundtruth/<seq>.txt  absent/<seq>.txt (one 0/1 per line)  nlp/<seq>.txt
        <root>/att/<seq>.txt (14 comma-separated flags)  testing_set.txt

Reading (b) for all 280 test videos is part of the evaluator's benchmark, so it does no per-frame Python work, and
its parsed annotations are cached until a file changes (``vlt_mini/data/annotation_cache.py``; ``VLT_MINI_CACHE=off``
turns that off); (a) lists each ``img`` folder once and checks that the frame count equals the ground-truth line count (exact in LaSOT).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from vlt_mini.data.annotation_cache import cached_annotations
from vlt_mini.data.layout import (
    FramePaths,
    check_frame_count,
    check_split,
    list_frames,
    natural_key,
    read_binary_flags,
    read_name_list,
    required_sentence,
    select_sequences,
)
from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES, Sequence
from vlt_mini.data.textio import DataFormatError, map_in_order, read_boxes, read_flags

SPLITS = ("train", "val", "test", "all")
SPLIT_FILES = {"train": "training_set.txt", "val": "validation_set.txt", "test": "testing_set.txt"}

LAYOUTS_HELP = """LaSOT is read from either layout:
  (a) dataset layout: <root>/<class>/<class>-<k>/img/00000001.jpg, groundtruth.txt, full_occlusion.txt,
      out_of_view.txt, nlp.txt, with testing_set.txt (and optionally training_set.txt, validation_set.txt, att/) at <root>
  (b) toolkit annotation layout: <root>/groundtruth/<seq>.txt, absent/<seq>.txt, nlp/<seq>.txt, att/<seq>.txt,
      testing_set.txt (as in the LaSOT evaluation toolkit's annos folder)"""

MISSING_TEST_LIST = (
    "{path} not found: the LaSOT download does not ship the list of its 280 test videos. Copy testing_set.txt from "
    "the LaSOT evaluation toolkit (github.com/HengLan/LaSOT_Evaluation_Toolkit) into {root}"
)


def open_lasot(
    root: str | Path,
    split: str = "test",
    sequences: Iterable[str] | None = None,
    dataset_name: str = "lasot",
) -> Dataset:
    """Open one split of LaSOT at ``root`` in either layout (see the module docstring); ``sequences`` picks a subset."""
    root = Path(root)
    check_split(split, SPLITS, dataset_name)
    if detect_lasot_layout(root) == "toolkit":
        return _open_toolkit_layout(root, split, sequences, dataset_name)
    return _open_dataset_layout(root, split, sequences, dataset_name)


def open_mini_lasot(root: str | Path, split: str = "test", sequences: Iterable[str] | None = None) -> Dataset:
    """Open the synthetic mini-LaSOT (LaSOT's dataset layout plus ``validation_set.txt`` and ``att/``)."""
    root = Path(root)
    check_split(split, SPLITS, "mini-lasot")
    unfinished = _unfinished_generation(root, split)
    if unfinished:
        raise FileNotFoundError(unfinished)
    if not root.is_dir() or not _scan_sequence_folders(root, first_only=True):
        raise FileNotFoundError(
            f"no mini-LaSOT videos at {root}; generate them with `vlt-mini data mini-lasot --out {root}`"
        )
    return _open_dataset_layout(root, split, sequences, "mini-lasot")


def _unfinished_generation(root: Path, split: str) -> str | None:
    """The message for a mini-LaSOT whose generation was interrupted (``generation.json`` but no split lists yet)."""
    marker = root / "generation.json"
    if not marker.is_file() or (split in SPLIT_FILES and (root / SPLIT_FILES[split]).is_file()) or \
            (split == "all" and (root / SPLIT_FILES["test"]).is_file()):
        return None
    import json

    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        command = (f"vlt-mini data mini-lasot --out {root} --profile {record['profile']} --seed {record['seed']}")
    except (ValueError, KeyError, TypeError):
        command = f"vlt-mini data mini-lasot --out {root} (with the same --profile and --seed)"
    return (f"{root} holds an unfinished mini-LaSOT generation (no {SPLIT_FILES.get(split, 'testing_set.txt')} "
            f"yet: it was interrupted); run `{command}` again to finish it")


def detect_lasot_layout(root: Path) -> str:
    """``"toolkit"`` or ``"dataset"``; any other folder is an error that describes both layouts."""
    if not root.is_dir():
        raise FileNotFoundError(f"LaSOT root not found: {root}\n{LAYOUTS_HELP}")
    if (root / "groundtruth").is_dir():
        if not (root / "absent").is_dir():
            raise FileNotFoundError(
                f"{root / 'absent'} not found: the toolkit annotation layout needs it.\n{LAYOUTS_HELP}"
            )
        return "toolkit"
    test_list = root / SPLIT_FILES["test"]
    if test_list.is_file():
        names = read_name_list(test_list)
        if names and _sequence_folder(root, names[0]) is not None:
            return "dataset"
    if _scan_sequence_folders(root, first_only=True):
        return "dataset"
    raise DataFormatError(f"{root} is not a LaSOT folder.\n{LAYOUTS_HELP}")


# ---------------------------------------------------------------------------------------------------------------
# (b) the toolkit annotation layout


def _open_toolkit_layout(root: Path, split: str, wanted: Iterable[str] | None, dataset_name: str) -> Dataset:
    if split not in ("test", "all"):
        raise ValueError(
            f"{root} is the LaSOT toolkit annotation layout, which holds the test split only; asked for {split!r}"
        )
    test_list = root / SPLIT_FILES["test"]
    if test_list.is_file():
        names = read_name_list(test_list)
    else:  # an annotation folder without the list: every ground-truth file is a video
        names = sorted((name[:-4] for name in os.listdir(root / "groundtruth") if name.endswith(".txt")), key=natural_key)
    names = select_sequences(names, wanted, f"the LaSOT test split at {root}")
    has_attributes = (root / "att").is_dir()
    folders = ("groundtruth", "absent", "nlp", "att") if has_attributes else ("groundtruth", "absent", "nlp")
    absolute = str(root.resolve())
    files = [os.path.join(absolute, folder, f"{name}.txt") for name in names for folder in folders]
    annotations = cached_annotations("lasot-toolkit", files,
                                     lambda: _parse_toolkit_annotations(root, names, has_attributes))
    ends = np.cumsum(annotations["lengths"])
    sequences = [
        Sequence(
            name=name,
            frame_paths=[],
            ground_truth=annotations["ground_truth"][end - length:end],
            visible=annotations["visible"][end - length:end],
            sentence=sentence,
            attributes=attributes,
            dataset=dataset_name,
            ground_truth_file=root / "groundtruth" / f"{name}.txt",
        )
        for name, length, end, sentence, attributes in zip(names, annotations["lengths"].tolist(), ends.tolist(),
                                                           annotations["sentences"], annotations["attributes"])
    ]
    return Dataset(dataset_name, split, root, sequences)


def _parse_toolkit_annotations(root: Path, names: list[str], has_attributes: bool) -> dict:
    """Every video's boxes and visibility (concatenated, with the lengths), sentence and attributes."""
    def read_video(name: str):
        boxes_file = root / "groundtruth" / f"{name}.txt"
        ground_truth = read_boxes(boxes_file, "ground-truth")
        absent = read_binary_flags(root / "absent" / f"{name}.txt", len(ground_truth), "absent", boxes_file.name)
        return (ground_truth, absent == 0, required_sentence(root / "nlp" / f"{name}.txt"),
                read_attributes(root / "att" / f"{name}.txt") if has_attributes else {})

    ground_truths, visibles, sentences, attributes = [], [], [], []
    for ground_truth, visible, sentence, attribute in map_in_order(read_video, names):
        ground_truths.append(ground_truth)
        visibles.append(visible)
        sentences.append(sentence)
        attributes.append(attribute)
    return {
        "lengths": np.array([len(boxes) for boxes in ground_truths], dtype=np.int64),
        "ground_truth": np.concatenate(ground_truths) if names else np.zeros((0, 4)),
        "visible": np.concatenate(visibles) if names else np.zeros(0, dtype=bool),
        "sentences": sentences,
        "attributes": attributes,
    }


# ---------------------------------------------------------------------------------------------------------------
# (a) the dataset layout


def _open_dataset_layout(root: Path, split: str, wanted: Iterable[str] | None, dataset_name: str) -> Dataset:
    names, folders = _split_names(root, split)
    names = select_sequences(names, wanted, f"the {dataset_name} {split} split at {root}")
    has_attributes = (root / "att").is_dir()
    sequences = []
    for name in names:
        folder = folders.get(name) or _sequence_folder(root, name)
        if folder is None:
            raise FileNotFoundError(
                f"sequence {name!r} is listed in {root / SPLIT_FILES.get(split, '')} but neither "
                f"{root / _class_of(name) / name} nor {root / name} holds its groundtruth.txt"
            )
        sequences.append(read_lasot_sequence(folder, has_attributes and root / "att" / f"{name}.txt", dataset_name))
    return Dataset(dataset_name, split, root, sequences)


def read_lasot_sequence(folder: Path, attributes_file: Path | None = None, dataset_name: str = "lasot") -> Sequence:
    """One video folder of the dataset layout; frames are listed (not read) and counted against the ground truth."""
    boxes_file = folder / "groundtruth.txt"
    ground_truth = read_boxes(boxes_file, "ground-truth")
    full_occlusion = read_binary_flags(folder / "full_occlusion.txt", len(ground_truth), "full-occlusion")
    out_of_view = read_binary_flags(folder / "out_of_view.txt", len(ground_truth), "out-of-view")
    image_folder = folder / "img"
    frame_names = list_frames(image_folder)
    check_frame_count(image_folder, len(frame_names), len(ground_truth), boxes_file)
    return Sequence(
        name=folder.name,
        frame_paths=FramePaths(image_folder, frame_names),
        ground_truth=ground_truth,
        visible=(full_occlusion == 0) & (out_of_view == 0),
        sentence=required_sentence(folder / "nlp.txt"),
        attributes=read_attributes(attributes_file) if attributes_file else {},
        dataset=dataset_name,
        ground_truth_file=boxes_file,
    )


def read_attributes(path: Path) -> dict[str, bool]:
    """The 14 LaSOT attribute flags of one video (``att/<seq>.txt``), keyed by LASOT_ATTRIBUTES."""
    flags = read_flags(path, "attribute")
    if len(flags) != len(LASOT_ATTRIBUTES):
        raise DataFormatError(
            f"{path}: expected {len(LASOT_ATTRIBUTES)} attribute flags ({', '.join(LASOT_ATTRIBUTES)}), "
            f"found {len(flags)}"
        )
    if np.any((flags != 0) & (flags != 1)):
        raise DataFormatError(f"{path}: attribute flags must be 0 or 1, found {flags.tolist()}")
    return {name: bool(flag) for name, flag in zip(LASOT_ATTRIBUTES, flags)}


def _split_names(root: Path, split: str) -> tuple[list[str], dict[str, Path]]:
    """The names of ``split`` and the folders already found while working them out (name -> folder)."""
    lists = {key: root / file for key, file in SPLIT_FILES.items()}
    if split in ("test", "val", "train") and lists[split].is_file():
        return read_name_list(lists[split]), {}
    if split == "test":
        raise FileNotFoundError(MISSING_TEST_LIST.format(path=lists["test"], root=root))
    if split == "val":
        raise FileNotFoundError(f"{lists['val']} not found: this LaSOT folder has no validation split")
    folders = _scan_sequence_folders(root)
    names = sorted(folders, key=natural_key)
    if split == "all":
        return names, folders
    # train without training_set.txt: every video that is neither a test nor a validation video
    if not lists["test"].is_file():
        raise FileNotFoundError(
            f"cannot tell LaSOT's training videos at {root}: neither training_set.txt nor testing_set.txt is there. "
            + MISSING_TEST_LIST.format(path=lists["test"], root=root)
        )
    held_out = set(read_name_list(lists["test"]))
    if lists["val"].is_file():
        held_out.update(read_name_list(lists["val"]))
    return [name for name in names if name not in held_out], folders


def _class_of(name: str) -> str:
    return name.rsplit("-", 1)[0]


def _sequence_folder(root: Path, name: str) -> Path | None:
    for folder in (root / _class_of(name) / name, root / name):
        if (folder / "groundtruth.txt").is_file():
            return folder
    return None


def _scan_sequence_folders(root: Path, first_only: bool = False) -> dict[str, Path]:
    """Every ``<class>/<class>-<k>/`` (or ``<class>-<k>/``) folder that holds a groundtruth.txt."""
    found: dict[str, Path] = {}
    for entry in sorted(os.scandir(root), key=lambda item: item.name):
        if not entry.is_dir() or entry.name in ("att", "img"):
            continue
        folder = Path(entry.path)
        if (folder / "groundtruth.txt").is_file():
            candidates = [folder]
        else:
            candidates = [Path(child.path) for child in os.scandir(folder) if child.is_dir()]
            candidates = [child for child in candidates if (child / "groundtruth.txt").is_file()]
        for candidate in candidates:
            if candidate.name in found:
                raise DataFormatError(
                    f"{root}: sequence {candidate.name!r} found twice: {found[candidate.name]} and {candidate}"
                )
            found[candidate.name] = candidate
            if first_only:
                return found
    return found
