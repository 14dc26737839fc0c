"""Benchmark: evaluate SiamRPN++'s published raw results on LaSOT's 280 test videos (685k frames), parsing included.

One run = ``open_lasot`` on the toolkit annotation layout + reading the 280 results files + OPE scoring, in a fresh
subprocess (imports are not counted: numpy and the package are imported before the clock starts). Each run reports
its wall time and its peak resident memory (``ru_maxrss``). Cold runs parse everything (``VLT_MINI_CACHE=off``); warm
runs load the parsed annotations from the annotation cache (``vlt_mini/data/annotation_cache.py``, a temporary
folder here, filled before the clock starts; the results files are always parsed). Two baselines are measured in the
same session, cold: the same evaluation with the vectorised parsers switched off (``np.fromstring`` for every file,
the general path of ``vlt_mini/data/textio.py``), and reading the raw bytes of every file the evaluation reads (the
I/O floor).

The same evaluation is then measured through the command, start-up and argument parsing included
(``vlt-mini evaluate --dataset lasot --root ../shared/data/lasot_test_annos --results .../SiamRPN++``), cold and warm,
and ``vlt-mini --help``, each in a fresh process (wall time and that process's own peak memory, ``wait4``), beside a
bare ``python -c pass`` (the interpreter's start-up, the floor of any command).

    python benchmarks/bench_evaluate.py [--runs 5] [--shared ../shared]

Targets: the evaluation (issue 2) median <= 2 s wall and < 1 GiB; through the command (issue 11) ``vlt-mini evaluate``
<= 1.0 s wall and <= 300 MB peak, ``vlt-mini --help`` <= 0.5 s, on the 2-core CI machine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
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
    textio._parse_single_digit_flags = lambda body: None
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


def run_child(annotations: Path, results: Path, mode: str, cache: str = "off") -> dict:
    completed = subprocess.run([sys.executable, "-c", CHILD, str(annotations), str(results), mode],
                               capture_output=True, text=True, cwd=REPO_ROOT, env={**os.environ, "VLT_MINI_CACHE": cache})
    if completed.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_command(arguments: list[str], cache: str = "off") -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one fresh ``python arguments...`` process (output discarded)."""
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   "VLT_MINI_CACHE": cache}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, *arguments], cwd=REPO_ROOT, env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(arguments)} failed:\n{process.stderr.read().decode()}")
    process.stderr.close()
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="number of timed runs (median reported)")
    parser.add_argument("--shared", type=Path, default=REPO_ROOT.parent / "shared", help="the ../shared folder")
    args = parser.parse_args()
    annotations = args.shared / "data" / "lasot_test_annos"
    results = args.shared / "data" / "lasot_results" / "SiamRPN++"
    if not annotations.is_dir() or not results.is_dir():
        raise SystemExit(f"needs {annotations} and {results} (the ../shared folder beside the project)")

    with tempfile.TemporaryDirectory(prefix="vlt-mini-annotation-cache-") as cache:
        measure(annotations, results, args.runs, cache)


def measure(annotations: Path, results: Path, count: int, cache: str) -> None:
    run_child(annotations, results, "evaluate")         # warm the operating system's file cache
    run_child(annotations, results, "evaluate", cache)  # fill the annotation cache
    runs, warms, generals, floors = [], [], [], []
    for _ in range(count):
        runs.append(run_child(annotations, results, "evaluate"))
        warms.append(run_child(annotations, results, "evaluate", cache))
        generals.append(run_child(annotations, results, "general"))
        floors.append(run_child(annotations, results, "read"))
    wall = statistics.median(run["wall_s"] for run in runs)
    cpu = statistics.median(run["cpu_s"] for run in runs)
    opening = statistics.median(run["open_s"] for run in runs)
    peak = max(run["peak_rss_mib"] for run in runs)
    warm = statistics.median(run["wall_s"] for run in warms)
    warm_opening = statistics.median(run["open_s"] for run in warms)
    floor = statistics.median(run["wall_s"] for run in floors)
    general = statistics.median(run["wall_s"] for run in generals)
    assert all(g["suc"] == r["suc"] == w["suc"] for g, r, w in zip(generals, runs, warms)), "the parsers disagree"
    first = runs[0]
    print(f"LaSOT test set, SiamRPN++: {first['frames']} frames, SUC {first['suc']:.2f}  P {first['prec']:.2f}  "
          f"P_norm {first['norm_prec']:.2f}")
    print(f"evaluate (open_lasot + read results + OPE), cold, median of {count}: {wall:.3f} s wall "
          f"({cpu:.3f} s CPU; open_lasot {opening:.3f} s), {first['frames'] / wall / 1e3:.0f}k frames/s")
    print("runs: " + ", ".join(f"{run['wall_s']:.3f}" for run in runs) + " s")
    print(f"peak resident memory (whole process, incl. numpy): {peak:.0f} MiB")
    print(f"warm (annotations from the cache): {warm:.3f} s wall (open_lasot {warm_opening:.3f} s), "
          f"peak {max(run['peak_rss_mib'] for run in warms):.0f} MiB")
    print(f"baseline, the same with np.fromstring parsing: {general:.3f} s -> {general / wall:.1f}x slower")
    print(f"baseline, reading the raw bytes ({floors[0]['bytes'] / 2**20:.0f} MiB): {floor:.3f} s "
          f"-> evaluate / read = {wall / floor:.1f}x")
    verdict = "meets" if wall <= 2.0 and peak < 1024 else "MISSES"
    print(f"target <= 2 s and < 1 GiB: {verdict}")

    evaluate = ["-m", "vlt_mini.cli", "evaluate", "--dataset", "lasot", "--root", str(annotations), "--results",
                str(results)]
    commands = {"python -c pass": (["-c", "pass"], "off"), "vlt-mini --help": (["-m", "vlt_mini.cli", "--help"], "off"),
                "vlt-mini evaluate": (evaluate, "off"), "  warm": (evaluate, cache)}
    run_command(evaluate)  # warm the file cache
    measured = {name: [run_command(arguments, cached) for _ in range(count)]
                for name, (arguments, cached) in commands.items()}
    print(f"\nthrough the command (fresh process: start-up, parsing, imports, output), median of {count}; "
          "cold, then warm:")
    for name, runs in measured.items():
        print(f"  {name:18} {statistics.median(w for w, _ in runs):.3f} s wall, peak {max(m for _, m in runs):.0f} MiB"
              f"  (runs: {', '.join(f'{w:.2f}' for w, _ in runs)})")
    help_wall = statistics.median(w for w, _ in measured["vlt-mini --help"])
    floor_wall = statistics.median(w for w, _ in measured["python -c pass"])
    command_wall = statistics.median(w for w, _ in measured["vlt-mini evaluate"])
    print(f"  vlt-mini evaluate / the evaluation in-process = {command_wall / wall:.2f}x; start-up over a bare "
          f"interpreter: --help +{help_wall - floor_wall:.3f} s")
    for name, label in (("vlt-mini evaluate", "cold"), ("  warm", "warm")):
        wall_s = statistics.median(w for w, _ in measured[name])
        verdict = "meets" if wall_s <= 1.0 and max(m for _, m in measured[name]) * 2**20 <= 300e6 else "MISSES"
        print(f"target vlt-mini evaluate <= 1.0 s and <= 300 MB, {label}: {verdict}")
    print(f"target vlt-mini --help <= 0.5 s: {'meets' if help_wall <= 0.5 else 'MISSES'}")


if __name__ == "__main__":
    main()
