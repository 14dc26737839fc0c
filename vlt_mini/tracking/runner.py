"""Run a tracker over every sequence of a dataset and write toolkit-compatible results (pytracking's ``running.py``).

``<out>/<sequence>.txt`` holds one ``x,y,w,h`` line per frame (the LaSOT toolkit's format) and
``<out>/<sequence>_time.txt`` the seconds spent on each frame. Both are written atomically once the sequence is done,
so a re-run resumes: finished sequences are skipped, an interrupted one is tracked again from its first frame.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from vlt_mini.data.sequence import Sequence
from vlt_mini.data.textio import format_boxes
from vlt_mini.io import atomic_write_text
from vlt_mini.tracking.base import Tracker


@dataclass
class SequenceRun:
    """What one sequence's tracking produced."""

    name: str
    boxes: np.ndarray       # (N, 4) x, y, w, h
    frame_times: np.ndarray  # (N,) seconds; the first entry is the initialisation
    skipped: bool = False   # True when the results were already on disk

    @property
    def fps(self) -> float:
        tracked = self.frame_times[1:]
        return float(len(tracked) / tracked.sum()) if len(tracked) and tracked.sum() > 0 else float("nan")


def track_sequence(tracker: Tracker, sequence: Sequence, use_language: bool = True) -> SequenceRun:
    """Initialise ``tracker`` on frame 1 with the ground-truth box (and the sentence), then track every later frame."""
    if not sequence.has_frames:
        raise FileNotFoundError(f"sequence {sequence.name} has no frames to track (annotation-only dataset layout)")
    boxes = np.zeros((len(sequence), 4), dtype=np.float64)
    times = np.zeros(len(sequence), dtype=np.float64)
    sentence = sequence.sentence if use_language else None
    for index, frame in enumerate(sequence.frames(read_ahead=2)):  # the next frames decode while this one tracks
        start = time.perf_counter()
        if index == 0:
            tracker.initialize(frame, sequence.init_box, sentence)
            boxes[0] = sequence.init_box
        else:
            boxes[index] = np.asarray(tracker.track(frame), dtype=np.float64).reshape(4)
        times[index] = time.perf_counter() - start
    return SequenceRun(sequence.name, boxes, times)


def results_path(out_dir: str | Path, sequence_name: str) -> Path:
    return Path(out_dir) / f"{sequence_name}.txt"


def run_tracker(
    make_tracker: Callable[[], Tracker],
    sequences: Iterable[Sequence],
    out_dir: str | Path,
    progress: bool = True,
    use_language: bool = True,
    description: str = "tracking",
) -> list[SequenceRun]:
    """Track every sequence with a fresh tracker from ``make_tracker``; results go to ``out_dir`` (resumable).

    Returns one ``SequenceRun`` per sequence; sequences whose results file already exists are read back and marked
    ``skipped``. The progress bar counts frames and shows frames/s.
    """
    from tqdm.auto import tqdm

    from vlt_mini.data.textio import read_boxes

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sequences = list(sequences)
    pending = [s for s in sequences if not results_path(out_dir, s.name).is_file()]
    total_frames = sum(len(s) for s in pending)
    runs: dict[str, SequenceRun] = {}
    for sequence in sequences:
        if sequence not in pending:
            times_file = out_dir / f"{sequence.name}_time.txt"
            times = np.loadtxt(times_file, ndmin=1) if times_file.is_file() else np.full(len(sequence), np.nan)
            runs[sequence.name] = SequenceRun(sequence.name, read_boxes(results_path(out_dir, sequence.name)), times, True)
    with tqdm(total=total_frames, desc=description, unit="frame", disable=not progress or not pending) as bar:
        for sequence in pending:
            bar.set_postfix_str(sequence.name)
            run = track_sequence(make_tracker(), sequence, use_language=use_language)
            atomic_write_text(out_dir / f"{sequence.name}_time.txt", "".join(f"{t:.6f}\n" for t in run.frame_times))
            atomic_write_text(results_path(out_dir, sequence.name), format_boxes(run.boxes))
            runs[sequence.name] = run
            bar.update(len(sequence))
    return [runs[s.name] for s in sequences]


def summarize_speed(runs: list[SequenceRun]) -> dict:
    """Frames per second over the runs that were tracked now (initialisation excluded): overall and median per sequence."""
    tracked = [r for r in runs if not r.skipped]
    if not tracked:
        return {"frames": 0, "fps": float("nan"), "median_sequence_fps": float("nan")}
    frames = sum(len(r.frame_times) - 1 for r in tracked)
    seconds = sum(float(r.frame_times[1:].sum()) for r in tracked)
    return {
        "frames": frames,
        "fps": frames / seconds if seconds > 0 else float("nan"),
        "median_sequence_fps": float(np.median([r.fps for r in tracked])),
    }
