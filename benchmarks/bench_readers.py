"""Benchmark: open LaSOT's 280 test videos (685k frames) from the toolkit annotation layout with ``open_lasot``.

    python benchmarks/bench_readers.py [--runs 7] [--shared ../shared]

Prints the median wall and CPU time of ``--runs`` warm runs (files in the page cache, after one untimed run), parsing
every file (the annotation cache off), and, as the baselines measured in the same run, the same reader with the
vectorised parsers switched off (``np.fromstring`` for every ground-truth and absent file) and with the annotation
cache on (``vlt_mini/data/annotation_cache.py``, in a temporary folder, filled by the untimed run). Target (issue 2,
part of the evaluator's 2 s): <= 0.6 s, parsing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from unittest import mock

from vlt_mini.data import textio
from vlt_mini.data.lasot import open_lasot

REPO_ROOT = Path(__file__).resolve().parents[1]


def timed_runs(root: Path, runs: int) -> tuple[float, float, int]:
    frames = sum(len(sequence) for sequence in open_lasot(root))  # warm-up: page cache, imports
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        open_lasot(root)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared")
    args = parser.parse_args()
    root = args.shared / "data" / "lasot_test_annos"
    if not root.is_dir():
        raise SystemExit(f"LaSOT toolkit annotations not found at {root} (pass --shared)")
    os.environ["VLT_MINI_CACHE"] = "off"
    wall, cpu, frames = timed_runs(root, args.runs)
    with mock.patch.object(textio, "_parse_plain_decimals", lambda body: None), \
            mock.patch.object(textio, "_parse_single_digit_flags", lambda body: None):
        base_wall, base_cpu, _ = timed_runs(root, args.runs)
    with tempfile.TemporaryDirectory(prefix="vlt-mini-annotation-cache-") as cache:
        os.environ["VLT_MINI_CACHE"] = cache
        cached_wall, cached_cpu, _ = timed_runs(root, args.runs)
    print(f"open_lasot, toolkit layout, 280 videos / {frames} frames, median of {args.runs} warm runs:")
    print(f"  vectorised parser : {wall:.3f} s wall ({cpu:.3f} s CPU), {frames / wall / 1e6:.2f}M frames/s")
    print(f"  np.fromstring only: {base_wall:.3f} s wall ({base_cpu:.3f} s CPU) -> speed-up {base_wall / wall:.1f}x")
    print(f"  annotation cache  : {cached_wall:.3f} s wall ({cached_cpu:.3f} s CPU) -> {wall / cached_wall:.1f}x faster "
          "than parsing")
    print(f"  target <= 0.6 s: {'meets' if wall <= 0.6 else 'MISSES'}")


if __name__ == "__main__":
    main()
