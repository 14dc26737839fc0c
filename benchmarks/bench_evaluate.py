"""Benchmark: evaluate SiamRPN++'s published raw results on LaSOT's 280 test videos (685k frames), parsing included.

One run = ``open_lasot`` on the toolkit annotation layout + reading the 280 results files + OPE scoring, in a fresh
subprocess (imports are not counted: numpy and the package are imported before the clock starts). Each run reports
its wall time and its peak resident memory (``ru_maxrss``). Two baselines are measured in the same session: the same
evaluation with the vectorised number parser switched off (``np.fromstring`` for every file, the general path of
``vlt_mini/data/textio.py``), and reading the raw bytes of every file the evaluation reads (the I/O floor).

    python benchmarks/bench_evaluate.py [--runs 5] [--shared ../shared]

Target (issue 2): median <= 2 s wall and < 1 GiB memory on the 2-core CI machine.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from vlt_mini.data.lasot import open_lasot
from vlt_mini.evaluation.report import evaluate_trackers
annotations, results, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
cpu_start = time.process_time()
if mode == "general":
    from vlt_mini.data import textio
    textio._parse_plain_decimals = lambda body: None
if mode in ("evaluate", "general"):
    dataset = open_lasot(annotations, split="test")
    opened = time.perf_counter()
    scores = evaluate_trackers(dataset, [results])["trackers"][results.name]
    out = {"suc": scores["suc"], "prec": scores["prec"], "norm_prec": scores["norm_prec"],
           "frames": scores["num_frames"], "open_s": opened - start}
else:  # the I/O floor: the bytes of every file the evaluation reads
    names = (annotations / "testing_set.txt").read_text().split()
    size = 0
    for name in names:
        for path in (annotations / "groundtruth" / f"{name}.txt", annotations / "absent" / f"{name}.txt",
                     annotations / "nlp" / f"{name}.txt", annotations / "att" / f"{name}.txt",
                     results / f"{name}.txt"):
            size += len(path.read_bytes())
    out = {"bytes": size}
out["wall_s"] = time.perf_counter() - start
out["cpu_s"] = time.process_time() - cpu_start
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def run_child(annotations: Path, results: Path, mode: str) -> dict:
    completed = subprocess.run([sys.executable, "-c", CHILD, str(annotations), str(results), mode],
                               capture_output=True, text=True, cwd=REPO_ROOT)
    if completed.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="number of timed runs (median reported)")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the ../shared folder")
    args = parser.parse_args()
    annotations = args.shared / "data" / "lasot_test_annos"
    results = args.shared / "data" / "lasot_results" / "SiamRPN++"
    if not annotations.is_dir() or not results.is_dir():
        raise SystemExit(f"needs {annotations} and {results} (the ../shared folder beside the project)")

    run_child(annotations, results, "evaluate")  # warm the file cache
    runs, generals, floors = [], [], []
    for _ in range(args.runs):
        runs.append(run_child(annotations, results, "evaluate"))
        generals.append(run_child(annotations, results, "general"))
        floors.append(run_child(annotations, results, "read"))
    wall = statistics.median(run["wall_s"] for run in runs)
    cpu = statistics.median(run["cpu_s"] for run in runs)
    opening = statistics.median(run["open_s"] for run in runs)
    peak = max(run["peak_rss_mib"] for run in runs)
    floor = statistics.median(run["wall_s"] for run in floors)
    general = statistics.median(run["wall_s"] for run in generals)
    assert all(g["suc"] == r["suc"] for g, r in zip(generals, runs)), "the two parsers disagree"
    first = runs[0]
    print(f"LaSOT test set, SiamRPN++: {first['frames']} frames, SUC {first['suc']:.2f}  P {first['prec']:.2f}  "
          f"P_norm {first['norm_prec']:.2f}")
    print(f"evaluate (open_lasot + read results + OPE), median of {args.runs}: {wall:.3f} s wall "
          f"({cpu:.3f} s CPU; open_lasot {opening:.3f} s), {first['frames'] / wall / 1e3:.0f}k frames/s")
    print("runs: " + ", ".join(f"{run['wall_s']:.3f}" for run in runs) + " s")
    print(f"peak resident memory (whole process, incl. numpy): {peak:.0f} MiB")
    print(f"baseline, the same with np.fromstring parsing: {general:.3f} s -> {general / wall:.1f}x slower")
    print(f"baseline, reading the raw bytes ({floors[0]['bytes'] / 2**20:.0f} MiB): {floor:.3f} s "
          f"-> evaluate / read = {wall / floor:.1f}x")
    verdict = "meets" if wall <= 2.0 and peak < 1024 else "MISSES"
    print(f"target <= 2 s and < 1 GiB: {verdict}")


if __name__ == "__main__":
    main()
