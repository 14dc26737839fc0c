"""Accuracy on the mini-LaSOT test split: VLT-mini vs the vision-only SiamCAR baseline vs OpenCV MIL, over seeds.

For each seed, VLT-mini (the official VLT_SCAR candidate scaled to the profile, with ModaMixer and the sentence) and
the vision-only baseline (the same backbone paths without ModaMixer) are trained with the profile's recipe on the
training split (``vlt_mini.training.train_model``: finished runs are reused, unfinished ones resumed), then run on
the test split with the mini-LaSOT tracker preset. MIL and the static baseline have no training and run once. The
table gives mean ± sample standard deviation over seeds of SUC, P_norm and P (percent), and every run's numbers.
Nothing is tuned on the test split: the recipe and the tracker preset were fixed before this script ran.

    python benchmarks/study_accuracy.py --profile cpu --seeds 0 1 2 --out runs/study-cpu
    python benchmarks/study_accuracy.py --profile tiny --seeds 0 --out /tmp/study-tiny      # a smoke run
    # two cores, one process per model with one thread each, then the table (everything reused):
    OMP_NUM_THREADS=1 python benchmarks/study_accuracy.py --profile cpu --out runs/study-cpu --models VLT-mini &
    OMP_NUM_THREADS=1 python benchmarks/study_accuracy.py --profile cpu --out runs/study-cpu --models SiamCAR \
        --no-baselines; wait; python benchmarks/study_accuracy.py --profile cpu --out runs/study-cpu

Writes ``OUT/study.json`` and ``OUT/study.md`` (atomically) and prints the table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

MODELS = {"VLT-mini": "vlt", "SiamCAR": "siamcar"}  # results name -> model kind
BASELINES = ("mil", "static")


def mean_spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="cpu", choices=("tiny", "cpu", "paper"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--root", type=Path, default=None, help="mini-LaSOT root (default: data/mini-lasot-<profile>-seed0)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS),
                        help="train and run only these (e.g. one per process, to use two cores with one thread each)")
    parser.add_argument("--no-baselines", action="store_true", help="skip MIL and static in this process")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()

    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import default_folder_name, generate_mini_lasot
    from vlt_mini.evaluation.report import evaluate_trackers
    from vlt_mini.io import atomic_write_text
    from vlt_mini.tracking.runner import run_tracker, summarize_speed
    from vlt_mini.tracking import tracker_factory
    from vlt_mini.training import train_model

    progress = not args.no_progress
    root = args.root or Path("data") / default_folder_name(args.profile, 0)
    generate_mini_lasot(root, profile=args.profile, seed=0, progress=progress)  # reuses a finished folder
    test = open_dataset("mini-lasot", root, "test")
    runs: dict[str, dict] = {}
    for name in ([] if args.no_baselines else BASELINES):
        result_dir = args.out / "baselines" / name
        speed = summarize_speed(run_tracker(tracker_factory(name), test, result_dir, progress, description=name))
        runs[name] = {"tracker": name, "seed": None, "dir": result_dir, "fps": speed["fps"]}
    for seed in args.seeds:
        for name, kind in MODELS.items():
            if name not in args.models:
                continue
            started = time.perf_counter()
            checkpoint = train_model(kind, root, args.out / f"seed{seed}" / "train" / name, profile=args.profile,
                                     seed=seed, device=args.device, progress=progress)
            train_s = time.perf_counter() - started
            result_dir = args.out / f"seed{seed}" / "results" / name
            factory = tracker_factory("vlt", checkpoint=checkpoint, preset="mini-lasot", device=args.device)
            speed = summarize_speed(run_tracker(factory, test, result_dir, progress, description=f"{name} seed {seed}"))
            runs[f"{name} seed {seed}"] = {"tracker": name, "seed": seed, "dir": result_dir, "fps": speed["fps"],
                                           "train_s_this_call": train_s}

    rows = []
    for key, run in runs.items():
        scores = evaluate_trackers(test, [run["dir"]])["trackers"][run["dir"].name]
        run.update(suc=scores["suc"], norm_prec=scores["norm_prec"], prec=scores["prec"], dir=str(run["dir"]))
        rows.append(run)
    table = ["| tracker | seeds | SUC | P_norm | P |", "| --- | --- | ---: | ---: | ---: |"]
    for tracker in [*MODELS, *BASELINES]:
        mine = [r for r in rows if r["tracker"] == tracker]
        if not mine:
            continue
        seeds = ",".join(str(r["seed"]) for r in mine) if mine[0]["seed"] is not None else "(no training)"
        table.append(f"| {tracker} | {seeds} | " + " | ".join(mean_spread([r[m] for r in mine])
                                                              for m in ("suc", "norm_prec", "prec")) + " |")
    per_run = ["| run | SUC | P_norm | P |", "| --- | ---: | ---: | ---: |"]
    per_run += [f"| {key} | {r['suc']:.1f} | {r['norm_prec']:.1f} | {r['prec']:.1f} |" for key, r in runs.items()]
    text = "\n".join([f"# Accuracy on the mini-LaSOT test split ({args.profile} profile, {len(test)} videos)", "",
                      "Mean ± sample standard deviation over training seeds; percent.", "", *table, "",
                      "Every run:", "", *per_run, ""])
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "study.md", text)
    atomic_write_text(args.out / "study.json", json.dumps({"profile": args.profile, "seeds": args.seeds,
                                                           "root": str(root), "runs": runs}, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
