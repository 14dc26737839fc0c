"""Tracking speed on this CPU: the SiamCAR / VLT tracker at each profile, side by side with OpenCV's MIL tracker.

Speed does not depend on the weights, so untrained networks of each profile are used (the official VLT_SCAR
candidate, with and without ModaMixer). Every tracker runs the same mini-LaSOT test videos (generated at the
``cpu`` profile unless --root is given); frames/s is the median over videos of (frames − 1) / tracking seconds
(initialisation excluded), repeated ``--runs`` times; the ratio column is against MIL measured in the same run.

    python benchmarks/bench_tracking.py [--root DIR] [--videos 4] [--runs 3] [--profiles tiny cpu paper]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def track_seconds(tracker, sequence, frames) -> float:
    tracker.initialize(frames[0], sequence.init_box, sequence.sentence)
    start = time.perf_counter()
    for frame in frames[1:]:
        tracker.track(frame)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=None, help="a mini-LaSOT root (default: generate the cpu profile)")
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profiles", nargs="+", default=["tiny", "cpu", "paper"])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import generate_mini_lasot
    from vlt_mini.models.text_encoder import TextEncoder
    from vlt_mini.models import VLTConfig, VLTNet
    from vlt_mini.tracking.tracker import VLTTracker
    from vlt_mini.tracking.baselines import OpenCVMILTracker

    root = args.root or generate_mini_lasot(Path(tempfile.gettempdir()) / "vlt-mini-bench-cpu", "cpu", 0, progress=False)
    sequences = list(open_dataset("mini-lasot", root, "test"))[: args.videos]
    frames = {s.name: [s.frame(i) for i in range(len(s))] for s in sequences}  # decode once: time the trackers only
    encoder = TextEncoder()

    def factories():
        yield "OpenCV MIL", OpenCVMILTracker
        for profile in args.profiles:
            for modamixer in (True, False):
                config = VLTConfig.for_profile(profile, use_modamixer=modamixer)
                net = VLTNet(config).eval()
                name = f"{'VLT_SCAR' if modamixer else 'SiamCAR (vision only)'} {profile}"
                yield name, (lambda net=net, modamixer=modamixer: VLTTracker(net, encoder if modamixer else None))

    rows = []
    for name, make in factories():
        per_run = []
        for _ in range(args.runs):
            fps = [(len(frames[s.name]) - 1) / track_seconds(make(), s, frames[s.name]) for s in sequences]
            per_run.append(statistics.median(fps))
        rows.append((name, statistics.median(per_run), min(per_run), max(per_run)))
    mil = rows[0][1]
    frames_total = sum(len(f) for f in frames.values())
    print(f"tracking speed on {len(sequences)} mini-LaSOT test videos ({frames_total} frames, "
          f"{Path(root).name}), {torch.get_num_threads()} torch threads, median of {args.runs} runs")
    print(f"{'tracker':32s} {'frames/s':>9s} {'min':>7s} {'max':>7s} {'vs MIL':>7s}")
    for name, median, low, high in rows:
        print(f"{name:32s} {median:9.1f} {low:7.1f} {high:7.1f} {median / mil:7.2f}")


if __name__ == "__main__":
    main()
