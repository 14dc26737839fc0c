"""Benchmark: open LaSOT's 280 test videos (685k frames) from the toolkit annotation layout with ``open_lasot``.

    python benchmarks/bench_readers.py [--runs 7] [--shared ../shared]

Prints the median wall and CPU time of ``--runs`` warm runs (files in the page cache, after one untimed run), and, as
the baseline measured in the same run, the same reader with the vectorised parser of plain decimals switched off
(``np.fromstring`` for every ground-truth and absent file). Target (issue 2, part of the evaluator's 2 s): <= 0.6 s.
"""
from __future__ import annotations

import argparse
import statistics
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
    wall, cpu, frames = timed_runs(root, args.runs)
    with mock.patch.object(textio, "_parse_plain_decimals", lambda body: None):
        base_wall, base_cpu, _ = timed_runs(root, args.runs)
    print(f"open_lasot, toolkit layout, 280 videos / {frames} frames, median of {args.runs} warm runs:")
    print(f"  vectorised parser : {wall:.3f} s wall ({cpu:.3f} s CPU), {frames / wall / 1e6:.2f}M frames/s")
    print(f"  np.fromstring only: {base_wall:.3f} s wall ({base_cpu:.3f} s CPU) -> speed-up {base_wall / wall:.1f}x")
    print(f"  target <= 0.6 s: {'meets' if wall <= 0.6 else 'MISSES'}")


if __name__ == "__main__":
    main()
