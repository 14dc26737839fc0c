"""Does the fast tracking path (``VLTTracker(fast=True)``) compute what the reference path computes?

Two measures per video:

- **step agreement** (teacher-forced): on every frame both paths start from the reference path's state (centre and
  size after the previous frame) and track the same frame; we compare the two boxes (IoU), the score maps
  (largest absolute difference of ``windowed``, the map the peak is taken from) and the peaks. This isolates the
  arithmetic: it is 1 up to float rounding when the fast path is right, and it drops at once when it is wrong.
- **closed-loop agreement**: each path tracks the whole video from its own boxes; mean IoU of the two box sequences.
  A tracker feeds its box back into the next crop and takes the arg-max of a map, so a float-rounding difference can
  move a later peak to a near-equal neighbour and the two runs part ways; the reference path against itself with a
  different number of threads parts the same way (``benchmarks/bench_tracking.py --agreement`` prints both).
"""
from __future__ import annotations

import numpy as np

from vlt_mini.data.sequence import Sequence


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of matching rows of two (N, 4) x, y, w, h arrays."""
    a, b = np.asarray(a, dtype=np.float64).reshape(-1, 4), np.asarray(b, dtype=np.float64).reshape(-1, 4)
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2, y2 = np.minimum(a[:, 0] + a[:, 2], b[:, 0] + b[:, 2]), np.minimum(a[:, 1] + a[:, 3], b[:, 1] + b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def step_agreement(tracker, sequence: Sequence, frames: list[np.ndarray] | None = None) -> dict:
    """Teacher-forced comparison on one video with one ``VLTTracker`` built with ``fast=True``.

    Returns ``iou`` (per tracked frame), ``max_map_difference`` (largest |windowed_fast − windowed_reference|),
    ``same_peak`` (share of frames with the same peak) and ``reference_boxes`` (N, 4)."""
    if not tracker.fast:
        raise ValueError("step_agreement needs a tracker built with fast=True (it also runs the reference path)")
    frames = frames if frames is not None else [sequence.frame(i) for i in range(len(sequence))]
    tracker.initialize(frames[0], sequence.init_box, sequence.sentence)
    ious, differences, same_peak = [], [], []
    boxes = [np.asarray(sequence.init_box, dtype=np.float64)]
    for frame in frames[1:]:
        center, size = tracker.center.copy(), tracker.size.copy()
        fast_box = tracker.track(frame)
        fast_maps = tracker.last
        tracker.center, tracker.size = center, size
        tracker.fast = False
        try:
            reference_box = tracker.track(frame)
        finally:
            tracker.fast = True
        ious.append(float(box_iou(fast_box, reference_box)[0]))
        differences.append(float(np.abs(fast_maps["windowed"] - tracker.last["windowed"]).max()))
        same_peak.append(tuple(fast_maps["peak"]) == tuple(int(v) for v in tracker.last["peak"]))
        boxes.append(reference_box)
    return {"iou": np.array(ious), "max_map_difference": max(differences, default=0.0),
            "same_peak": float(np.mean(same_peak)) if same_peak else 1.0, "reference_boxes": np.array(boxes)}


def closed_loop_agreement(make_fast, make_reference, sequence: Sequence,
                          frames: list[np.ndarray] | None = None) -> float:
    """Mean IoU between the boxes of two trackers that each track the whole video on their own."""
    frames = frames if frames is not None else [sequence.frame(i) for i in range(len(sequence))]
    runs = []
    for make in (make_fast, make_reference):
        tracker = make()
        tracker.initialize(frames[0], sequence.init_box, sequence.sentence)
        runs.append(np.array([tracker.track(frame) for frame in frames[1:]]))
    return float(box_iou(*runs).mean()) if len(frames) > 1 else 1.0
