"""Tracking speed on this CPU: the SiamCAR / VLT tracker's fast path against its reference path, per profile.

Per frame everything a user waits for is timed: reading (decoding) the frame from disk, the search crop, the network
and the decoding of its maps into a box; the template (once per video) is not. The fast path
(``VLTTracker(fast=True)``, the default, with frames decoded two ahead by a background thread as ``vlt-mini run``
does) and the reference path (``fast=False``, frames decoded in turn) run interleaved on the same videos in
the same process, so a load change on a shared machine hits both; frames/s is the median over videos of
(frames − 1) / seconds, then the median over ``--runs`` runs; the ratio is fast / reference per run, median over runs.
OpenCV's MIL tracker is timed the same way as a yardstick. Speed does not depend on the weights, so untrained networks
of each profile are used unless ``--checkpoint`` gives a trained one (its profile's rows then use it).

``--agreement`` also checks that the two paths compute the same thing on the test split (``tracking/agreement.py``):
frame-by-frame (teacher-forced) box IoU, score-map difference and peak; and closed-loop mean IoU per video, printed
next to the reference path against itself at another thread count (the floor that float rounding alone sets).

    python benchmarks/bench_tracking.py [--root DIR] [--videos 4] [--runs 3] [--profiles tiny cpu paper] [--threads 2]
    python benchmarks/bench_tracking.py --profiles cpu --checkpoint runs/vlt-cpu/model_final.pt --agreement --videos 40

``--workers N`` also times whole runs as ``vlt-mini run`` makes them (``run_tracker`` into a fresh folder: trackers
built, frames decoded, results written), the fast path with one process of ``--threads`` threads against N one-thread
processes tracking N videos at once (``vlt-mini run --workers N``): frames/s of the run = frames / wall seconds,
median of ``--runs`` interleaved runs, and the ratio.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def tracked_fps(make_tracker, sequence, read_ahead: int = 0) -> float:
    """Frames/s over frames 2.. of ``sequence``, decoding each frame from disk inside the timed loop (``read_ahead``:
    decoded by a background thread that many frames ahead, as ``vlt-mini run`` does)."""
    tracker = make_tracker()
    frames = sequence.frames(read_ahead)
    tracker.initialize(next(frames), sequence.init_box, sequence.sentence)
    start = time.perf_counter()
    for frame in frames:
        tracker.track(frame)
    return (len(sequence) - 1) / (time.perf_counter() - start)


def compare(makers: dict, sequences, runs: int, read_ahead: dict | None = None) -> dict:
    """{name: [median fps over videos, per run]} with the makers interleaved video by video."""
    results = {name: [] for name in makers}
    read_ahead = read_ahead or {}
    for _ in range(runs):
        per_video = {name: [] for name in makers}
        for sequence in sequences:
            for name, make in makers.items():
                per_video[name].append(tracked_fps(make, sequence, read_ahead.get(name, 0)))
        for name in makers:
            results[name].append(statistics.median(per_video[name]))
    return results


def whole_runs(make_tracker, sequences, runs: int, workers: int, threads: int) -> None:
    """Frames/s of whole ``run_tracker`` runs, one process (``threads`` threads) vs ``workers`` one-thread processes."""
    from vlt_mini.tracking.runner import run_tracker

    frames = sum(len(s) - 1 for s in sequences)
    results = {1: [], workers: []}
    for _ in range(runs):
        for count in results:
            with tempfile.TemporaryDirectory() as out:
                start = time.perf_counter()
                run_tracker(make_tracker, sequences, out, progress=False, workers=count)
                results[count].append(frames / (time.perf_counter() - start))
    ratio = statistics.median(n / one for one, n in zip(results[1], results[workers]))
    print(f"{'  whole run, 1 process x ' + str(threads) + ' threads':34s} {statistics.median(results[1]):9.1f}")
    print(f"{'  whole run, ' + str(workers) + ' processes x 1 thread':34s} {statistics.median(results[workers]):9.1f}"
          f" {'':10s} {ratio:9.2f}  (vs one process; runs: "
          + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(results[workers], results[1])) + ")", flush=True)


def agreement(model, encoder, sequences, threads: int) -> None:
    from vlt_mini.tracking.agreement import closed_loop_agreement, step_agreement
    from vlt_mini.tracking.tracker import VLTTracker

    folded = VLTTracker.fold(model)
    step_ious, differences, peaks, closed, floor = [], [], [], [], []
    other_threads = 1 if threads != 1 else 2
    for sequence in sequences:
        frames = [sequence.frame(i) for i in range(len(sequence))]
        result = step_agreement(VLTTracker(model, encoder, "mini-lasot", folded=folded), sequence, frames)
        step_ious.append(result["iou"].min())
        differences.append(result["max_map_difference"])
        peaks.append(result["same_peak"])
        closed.append(closed_loop_agreement(lambda: VLTTracker(model, encoder, "mini-lasot", folded=folded),
                                            lambda: VLTTracker(model, encoder, "mini-lasot", fast=False),
                                            sequence, frames))
        reference = [VLTTracker(model, encoder, "mini-lasot", fast=False) for _ in range(2)]
        torch.set_num_threads(other_threads)
        boxes_other = _track(reference[0], sequence, frames)
        torch.set_num_threads(threads)
        boxes_same = _track(reference[1], sequence, frames)
        from vlt_mini.tracking.agreement import box_iou

        floor.append(float(box_iou(boxes_other, boxes_same).mean()))
    print(f"  agreement on {len(sequences)} videos: frame by frame (same state): min box IoU "
          f"{min(step_ious):.5f}, largest map difference {max(differences):.2e}, same peak on "
          f"{100 * float(np.mean(peaks)):.2f}% of frames")
    print(f"  closed loop, mean IoU per video: fast vs reference min {min(closed):.3f}, median "
          f"{statistics.median(closed):.3f}, {sum(c >= 0.99 for c in closed)}/{len(closed)} videos >= 0.99; "
          f"reference vs reference at {other_threads} thread(s): min {min(floor):.3f}, median "
          f"{statistics.median(floor):.3f}, {sum(c >= 0.99 for c in floor)}/{len(floor)} >= 0.99")


def _track(tracker, sequence, frames) -> np.ndarray:
    tracker.initialize(frames[0], sequence.init_box, sequence.sentence)
    return np.array([tracker.track(frame) for frame in frames[1:]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="a mini-LaSOT root (default: generate the cpu profile)")
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profiles", nargs="+", default=["tiny", "cpu", "paper"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--checkpoint", type=Path, default=None, help="a trained checkpoint (its profile uses it)")
    parser.add_argument("--agreement", action="store_true", help="also check fast vs reference on the videos")
    parser.add_argument("--frames", type=int, default=0, help="only the first N frames of each video (0: all)")
    parser.add_argument("--workers", type=int, default=0,
                        help="also time whole runs: one process against this many (vlt-mini run --workers)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import generate_mini_lasot
    from vlt_mini.models import VLTConfig, VLTNet
    from vlt_mini.models.text_encoder import TextEncoder
    from vlt_mini.models.vlt import load_vlt_checkpoint
    from vlt_mini.tracking.baselines import OpenCVMILTracker
    from vlt_mini.tracking.tracker import VLTTracker

    root = args.root or generate_mini_lasot(Path(tempfile.gettempdir()) / "vlt-mini-bench-cpu", "cpu", 0, progress=False)
    from vlt_mini.search.evolution import truncate

    sequences = [truncate(s, args.frames) for s in list(open_dataset("mini-lasot", root, "test"))[: args.videos]]
    encoder = TextEncoder()
    trained = load_vlt_checkpoint(args.checkpoint)[0] if args.checkpoint else None
    print(f"tracking speed on {len(sequences)} mini-LaSOT test videos ({sum(len(s) for s in sequences)} frames, "
          f"{Path(root).name}), {torch.get_num_threads()} torch threads, decode + crop + network + maps per frame, "
          f"median of {args.runs} runs; load average before: {os.getloadavg()[0]:.1f}")
    mil = statistics.median(compare({"mil": OpenCVMILTracker}, sequences, args.runs)["mil"])
    print(f"{'tracker':34s} {'fast f/s':>9s} {'reference':>10s} {'fast/ref':>9s} {'fold ms':>8s}")
    print(f"{'OpenCV MIL':34s} {mil:9.1f}")
    for profile in args.profiles:
        for modamixer in (True, False):
            if trained is not None and trained.config.profile == profile:
                if trained.config.use_modamixer != modamixer:
                    continue
                net, label = trained, "trained"
            else:
                net, label = VLTNet(VLTConfig.for_profile(profile, use_modamixer=modamixer)).eval(), "untrained"
            text = encoder if modamixer else None
            start = time.perf_counter()
            folded = VLTTracker.fold(net)
            fold_ms = (time.perf_counter() - start) * 1e3
            makers = {"fast": lambda: VLTTracker(net, text, "mini-lasot", folded=folded),
                      "reference": lambda: VLTTracker(net, text, "mini-lasot", fast=False)}
            result = compare(makers, sequences, args.runs, {"fast": 2})
            ratio = statistics.median(f / r for f, r in zip(result["fast"], result["reference"]))
            name = f"{'VLT_SCAR' if modamixer else 'SiamCAR (vision only)'} {profile} ({label})"
            print(f"{name:34s} {statistics.median(result['fast']):9.1f} {statistics.median(result['reference']):10.1f} "
                  f"{ratio:9.2f} {fold_ms:8.1f}", flush=True)
            if args.agreement:
                agreement(net, text, sequences, args.threads)
            if args.workers > 1:
                whole_runs(lambda: VLTTracker(net, text, "mini-lasot", folded=folded), sequences, args.runs,
                           args.workers, args.threads)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
