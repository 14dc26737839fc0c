"""Run a tracker over every sequence of a dataset and write toolkit-compatible results (pytracking's ``running.py``).

``<out>/<sequence>.txt`` holds one ``x,y,w,h`` line per frame (the LaSOT toolkit's format) and
``<out>/<sequence>_time.txt`` the seconds spent on each frame. Both are written atomically once the sequence is done,
so a re-run resumes: finished sequences (one box and one time per frame) are skipped, an interrupted or truncated one
is tracked again from its first frame. The folder's ``tracker.json`` records what made the results, and a run with
another tracker, checkpoint or settings is refused (``vlt_mini.tracking.provenance``).

``workers=N`` tracks N videos at once in N forked processes of one thread each (Linux, CPU): on a machine with N cores
that multiplies the frames per second of the whole run, while each video's per-frame time stays what one thread gives.
One thread per process is not only the fastest split of the cores for these small networks, it is required: GNU
OpenMP's thread pool does not survive ``fork`` (a forked child that starts several OpenMP threads hangs), nor does
OpenCV's (a child that calls ``cv2.setNumThreads`` hangs), so OpenCV is set to one thread in the parent before the
fork and set back after.
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
from vlt_mini.tracking.provenance import claim_results_folder, result_files

_FORKED_JOB: dict = {}  # what forked workers inherit: the tracker factory, the sequences, language on / off


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
    check_trackable(sequence)
    from vlt_mini.tracking.base import check_init_box

    boxes = np.zeros((len(sequence), 4), dtype=np.float64)
    times = np.zeros(len(sequence), dtype=np.float64)
    sentence = sequence.sentence if use_language else None
    for index, frame in enumerate(sequence.frames(read_ahead=2)):  # the next frames decode while this one tracks
        start = time.perf_counter()
        if index == 0:
            check_init_box(sequence.init_box, frame.shape, what=first_box_description(sequence))
            tracker.initialize(frame, sequence.init_box, sentence)
            boxes[0] = sequence.init_box
        else:
            boxes[index] = np.asarray(tracker.track(frame), dtype=np.float64).reshape(4)
        times[index] = time.perf_counter() - start
    return SequenceRun(sequence.name, boxes, times)


def check_trackable(sequence: Sequence) -> None:
    """A clear error, before any work, for a sequence that cannot be tracked: no frames, or a first ground-truth box
    that is not a box (the box against the frame is checked when the first frame is read)."""
    if not sequence.has_frames:
        if len(sequence) == 0:
            raise ValueError(f"sequence {sequence.name} has no frames and no ground truth"
                             + (f" ({sequence.ground_truth_file} is empty)" if sequence.ground_truth_file else "")
                             + ": nothing to track; remove it from the split list or restore its files")
        raise FileNotFoundError(f"sequence {sequence.name} has annotations but no frames to track (e.g. the LaSOT "
                                "toolkit's annotation folder); give the dataset folder with the videos' img/ frames")
    box = sequence.init_box
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        raise ValueError(f"{first_box_description(sequence)} {box.tolist()} has zero or negative size or is not "
                         "finite; fix the annotation")


def first_box_description(sequence: Sequence) -> str:
    """``the first ground-truth box of sequence X (line 1 of FILE)``, for error messages."""
    source = sequence.ground_truth_file
    if source is None and sequence.frame_paths:
        candidate = Path(sequence.frame_paths[0]).parent.parent / "groundtruth.txt"
        source = candidate if candidate.is_file() else None
    where = f" (line 1 of {source})" if source is not None else (f" ({sequence.dataset})" if sequence.dataset else "")
    return f"the first ground-truth box of sequence {sequence.name}{where}"


def results_path(out_dir: str | Path, sequence_name: str) -> Path:
    return Path(out_dir) / f"{sequence_name}.txt"


def results_complete(out_dir: str | Path, sequences: Iterable[Sequence]) -> bool:
    """Whether every sequence has complete results in ``out_dir`` (see ``finished_run``)."""
    return all(finished_run(out_dir, sequence) is not None for sequence in sequences)


def finished_run(out_dir: str | Path, sequence: Sequence) -> SequenceRun | None:
    """The run of ``sequence`` read back from ``out_dir`` when it is complete (one box and one time per frame, every
    line readable), else None: a missing, truncated or corrupt file means "track it again"."""
    from vlt_mini.data.textio import DataFormatError, read_boxes

    boxes_file, times_file = result_files(Path(out_dir), sequence.name)
    if not boxes_file.is_file() or not times_file.is_file():
        return None
    try:
        boxes = read_boxes(boxes_file, "results")
        times = np.loadtxt(times_file, ndmin=1, dtype=np.float64)
    except (DataFormatError, ValueError, OSError):
        return None
    if len(boxes) != len(sequence) or times.shape != (len(sequence),):
        return None
    return SequenceRun(sequence.name, boxes, times, True)


def run_provenance(tracker: Tracker, sequences: list[Sequence], use_language: bool, settings: dict | None) -> dict:
    """What ``tracker.json`` records for a run: the tracker's identity, the dataset, language on / off, settings."""
    from vlt_mini import __version__

    identity = tracker.identity()
    datasets = sorted({sequence.dataset for sequence in sequences if sequence.dataset})
    return {**identity, "use_language": bool(use_language) and identity.get("use_language", True),
            "dataset": datasets[0] if len(datasets) == 1 else (datasets or None), "settings": settings or {},
            "written_by": f"vlt-mini {__version__}"}


def run_tracker(
    make_tracker: Callable[[], Tracker],
    sequences: Iterable[Sequence],
    out_dir: str | Path,
    progress: bool = True,
    use_language: bool = True,
    description: str = "tracking",
    settings: dict | None = None,
    overwrite: bool = False,
    workers: int = 1,
) -> list[SequenceRun]:
    """Track every sequence with a fresh tracker from ``make_tracker``; results go to ``out_dir`` (resumable).

    Returns one ``SequenceRun`` per sequence; sequences whose results are complete on disk are read back and marked
    ``skipped``. ``out_dir/tracker.json`` records the tracker (weights digest, checkpoint, text model,
    hyper-parameters), language on / off and ``settings``; a folder made by anything else is refused (ValueError)
    unless ``overwrite``, which tracks everything again. The progress bar counts frames and shows frames/s.
    ``workers``: videos tracked at once, each in its own one-thread process (see the module docstring).
    """
    from tqdm.auto import tqdm

    check_workers(workers)
    sequences = list(sequences)
    for sequence in sequences:
        check_trackable(sequence)  # before the folder is claimed: a bad input leaves nothing behind
    provenance = run_provenance(make_tracker(), sequences, use_language, settings)
    with claim_results_folder(out_dir, provenance, [s.name for s in sequences], overwrite) as out_dir:
        runs: dict[str, SequenceRun] = {}
        for sequence in sequences:
            finished = finished_run(out_dir, sequence)
            if finished is not None:
                runs[sequence.name] = finished
        pending = [s for s in sequences if s.name not in runs]
        total_frames = sum(len(s) for s in pending)
        with tqdm(total=total_frames, desc=description, unit="frame", disable=not progress or not pending) as bar:
            if workers > 1 and len(pending) > 1:
                finished_runs = _track_in_processes(make_tracker, pending, use_language, workers)
            else:
                finished_runs = _track_in_turn(make_tracker, pending, use_language, bar)
            by_name = {sequence.name: sequence for sequence in pending}
            for run in finished_runs:
                sequence = by_name[run.name]
                boxes_file, times_file = result_files(out_dir, sequence.name)
                atomic_write_text(times_file, "".join(f"{t:.6f}\n" for t in run.frame_times))
                atomic_write_text(boxes_file, format_boxes(run.boxes))
                runs[sequence.name] = run
                bar.update(len(sequence))
    return [runs[s.name] for s in sequences]


def check_workers(workers) -> None:
    """A clear error, before any work, for a ``workers`` value this machine cannot honour."""
    import multiprocessing

    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"--workers {workers!r}: expected a whole number >= 1")
    if workers > 1 and "fork" not in multiprocessing.get_all_start_methods():
        raise ValueError(f"--workers {workers}: tracking in several processes needs fork (Linux); use --workers 1")


def _track_in_turn(make_tracker, sequences, use_language, bar):
    for sequence in sequences:
        bar.set_postfix_str(sequence.name)
        yield track_sequence(make_tracker(), sequence, use_language=use_language)


def _track_in_processes(make_tracker, sequences, use_language, workers):
    """Runs as they finish, from ``workers`` forked one-thread processes; the longest videos are handed out first so
    that no worker is left with a long one at the end."""
    import multiprocessing

    import cv2

    order = sorted(range(len(sequences)), key=lambda index: -len(sequences[index]))
    _FORKED_JOB.update(make_tracker=make_tracker, sequences=sequences, use_language=use_language)
    opencv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(workers, len(sequences)), initializer=_one_thread_worker) as pool:
            yield from pool.imap_unordered(_track_forked, order)
    finally:
        _FORKED_JOB.clear()
        cv2.setNumThreads(opencv_threads)


def _one_thread_worker() -> None:
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _track_forked(index: int) -> SequenceRun:
    sequence = _FORKED_JOB["sequences"][index]
    return track_sequence(_FORKED_JOB["make_tracker"](), sequence, use_language=_FORKED_JOB["use_language"])


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
