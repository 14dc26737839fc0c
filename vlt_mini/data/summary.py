"""A short text summary of a dataset split: videos, frames, absence, sentences, attribute counts."""
from __future__ import annotations

import numpy as np

from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES


def dataset_statistics(dataset: Dataset) -> dict:
    """Counts over one split: videos, frames, absent frames, sentences and their lengths, attribute frequencies."""
    lengths = np.array([len(s) for s in dataset], dtype=np.int64)
    absent = int(sum(int((~s.visible).sum()) for s in dataset))
    sentences = [s.sentence for s in dataset if s.sentence]
    words = np.array([len(sentence.split()) for sentence in sentences]) if sentences else np.zeros(0)
    attributes = {
        name: int(sum(bool(s.attributes.get(name, False)) for s in dataset))
        for name in LASOT_ATTRIBUTES
        if any(name in s.attributes for s in dataset)
    }
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "videos": len(dataset),
        "frames": int(lengths.sum()),
        "frames_per_video": (int(lengths.min()), float(lengths.mean()), int(lengths.max())) if len(lengths) else None,
        "absent_frames": absent,
        "with_sentence": len(sentences),
        "words_per_sentence": float(words.mean()) if len(words) else None,
        "attributes": attributes,
    }


def describe_dataset(dataset: Dataset) -> str:
    """The statistics as readable lines."""
    stats = dataset_statistics(dataset)
    lines = [f"{stats['dataset']} / {stats['split']}: {stats['videos']} videos, {stats['frames']} frames"]
    if stats["frames_per_video"]:
        low, mean, high = stats["frames_per_video"]
        lines.append(f"  frames per video: min {low}, mean {mean:.1f}, max {high}")
    if stats["frames"]:
        lines.append(f"  absent frames: {stats['absent_frames']} ({100 * stats['absent_frames'] / stats['frames']:.1f} %)")
    if stats["with_sentence"]:
        lines.append(f"  sentences: {stats['with_sentence']}, {stats['words_per_sentence']:.1f} words on average")
    if stats["attributes"]:
        lines.append("  attributes: " + ", ".join(f"{k} {v}" for k, v in stats["attributes"].items()))
    examples = [s for s in dataset if s.sentence][:3]
    for sequence in examples:
        lines.append(f"  e.g. {sequence.name}: \"{sequence.sentence}\"")
    return "\n".join(lines)
