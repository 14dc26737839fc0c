"""The main job, ``vlt-mini demo``: generate mini-LaSOT, train VLT-mini and the vision-only SiamCAR baseline, track
the test split with them and OpenCV MIL, evaluate, and write a report folder.

The default (``--profile cpu``) trains both networks with the ``cpu`` recipe shortened to ``DEMO_ITERATIONS``
iterations, so that the whole job stays under 10 minutes on a 2-core laptop; ``--iterations 1000`` is the full
``cpu`` recipe (what the README's accuracy study reports), ``--profile tiny`` a seconds-long smoke run. With two or
more CPU cores the two networks train side by side, one process and one thread each (two small networks on one
thread each use two cores better than one after the other on two threads), and the trackers run two at a time.

The report folder holds ``report.md`` (the table and what was run), ``scores.json``, ``success.png`` (success and
precision plots), the attribute chart, the training runs (``train/<model>/``: loss curves, metrics, checkpoints) and
``<sequence>.gif``: one test video annotated with every tracker's box and the sentence. Re-running resumes: finished
training runs and tracked sequences are reused.
"""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from vlt_mini.config import check_profile
from vlt_mini.io import atomic_write_text

DEMO_MODELS = {"VLT-mini": "vlt", "SiamCAR": "siamcar"}  # results folder name -> model kind
BASELINE_TRACKERS = ("mil",)
DEMO_ITERATIONS = {"tiny": None, "cpu": 600, "colab": None, "paper": None}  # None: the profile's own schedule


COMMITTED_STUDY = Path("results") / "study-cpu" / "test" / "comparisons.csv"  # in a checkout
HEADLINE_COMPARISONS = ("VLT-mini - SiamCAR (vision only, same paths)", "VLT-mini: own sentence - no sentence")


def committed_study_lines() -> list[str]:
    """Report lines that put this one-seed table next to the committed multi-seed study (``vlt-mini study``): its two
    headline paired differences with their 95 % intervals; nothing outside a checkout."""
    import csv

    from vlt_mini.io import project_root

    root = project_root()
    path = root / COMMITTED_STUDY if root else None
    if path is None or not path.is_file():
        return []
    rows = {row["comparison"]: row for row in csv.DictReader(path.read_text(encoding="utf-8").splitlines())}
    found = [rows[name] for name in HEADLINE_COMPARISONS if name in rows]
    if not found:
        return []
    return ["One seed is one draw: training here is chaotic, and seeds differ by several SUC points. The committed "
            f"study (`{COMMITTED_STUDY.as_posix()}`, `cpu`, {found[0]['seeds']} seeds × {found[0]['videos']} test "
            "videos, paired per seed and video) finds:", ""] + [
        f"- {row['comparison']}: {float(row['delta']):+.1f} SUC, 95 % interval [{float(row['ci_low']):+.1f}, "
        f"{float(row['ci_high']):+.1f}] (paper {float(row['paper_delta']):+.1f}): {row['verdict']}" for row in found] + [""]


def schedule_overrides(profile: str, iterations: int | None) -> list[str]:
    """Config overrides that shorten the profile's schedule to about ``iterations`` iterations (whole epochs)."""
    if iterations is None:
        return []
    from vlt_mini.training import TrainingSetup

    setup = TrainingSetup.for_profile(profile)
    per_epoch = setup.pairs.samples_per_epoch // setup.train.batch_size
    if iterations < per_epoch:
        return [f"pairs.samples_per_epoch={iterations * setup.train.batch_size}", "train.epochs=1"]
    return [f"train.epochs={max(1, round(iterations / per_epoch))}"]


def _train_one(kind: str, data_root: str, out_dir: str, profile: str, seed: int, overrides: list[str],
               threads: int) -> str:
    import torch

    from vlt_mini.training import train_model

    torch.set_num_threads(threads)
    return str(train_model(kind, data_root, out_dir, profile=profile, seed=seed, overrides=overrides,
                           device="cpu", progress=False))


def _iterations_done(run_dir: Path) -> int:
    metrics = run_dir / "metrics.jsonl"
    if not metrics.is_file():
        return 0
    lines = metrics.read_text().strip().splitlines()
    try:
        return int(json.loads(lines[-1])["iteration"]) if lines else 0
    except (ValueError, KeyError):
        return 0  # a line being written


def train_side_by_side(runs: dict[str, tuple[str, Path]], data_root: Path, profile: str, seed: int,
                       overrides: list[str], total_iterations: int, progress: bool) -> dict[str, Path]:
    """Train every (kind, out_dir) of ``runs`` in its own process with one thread; one progress bar for all."""
    from tqdm.auto import tqdm

    with ProcessPoolExecutor(max_workers=len(runs), mp_context=get_context("spawn")) as pool:
        futures = {name: pool.submit(_train_one, kind, str(data_root), str(out_dir), profile, seed, overrides, 1)
                   for name, (kind, out_dir) in runs.items()}
        with tqdm(total=total_iterations * len(runs), desc="training", unit="it", disable=not progress) as bar:
            while not all(f.done() for f in futures.values()):
                time.sleep(1.0)
                bar.n = sum(_iterations_done(out_dir) for _, out_dir in runs.values())
                bar.refresh()
            bar.n = bar.total
            bar.refresh()
        return {name: Path(future.result()) for name, future in futures.items()}


def _track_one(name: str, checkpoint: str | None, data_root: str, result_dir: str, threads: int,
               progress: bool, workers: int = 1) -> dict:
    """Run one tracker (a trained network from ``checkpoint``, or the baseline ``name``) over the test split,
    ``workers`` videos at once (``run_tracker``)."""
    import torch

    from vlt_mini.data import open_dataset
    from vlt_mini.tracking.runner import run_tracker, summarize_speed
    from vlt_mini.tracking import tracker_factory

    if threads:
        torch.set_num_threads(threads)
    factory = (tracker_factory("vlt", checkpoint=checkpoint, preset="mini-lasot") if checkpoint is not None
               else tracker_factory(name))
    test = open_dataset("mini-lasot", data_root, "test")
    return summarize_speed(run_tracker(factory, test, result_dir, progress=progress, description=name,
                                       workers=workers))


def track_side_by_side(jobs: dict[str, str | None], data_root: Path, results: Path, videos: int,
                       progress: bool) -> dict[str, dict]:
    """Run the trackers of ``jobs`` (name -> checkpoint or None) on two cores with one progress bar: the trained
    networks two at a time, one thread each, then each baseline (MIL, the slowest) on two videos at once
    (``run_tracker(workers=2)``), so that no core waits while one tracker finishes alone."""
    from tqdm.auto import tqdm

    networks = [name for name, checkpoint in jobs.items() if checkpoint is not None]
    baselines = [name for name, checkpoint in jobs.items() if checkpoint is None]
    futures = {}
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool, \
            tqdm(total=videos * len(jobs), desc="tracking", unit="video", disable=not progress) as bar:
        def wait() -> None:
            while not all(f.done() for f in futures.values()):
                time.sleep(1.0)
                bar.n = sum(len(list((results / name).glob("*_time.txt"))) for name in jobs)
                bar.refresh()
            for future in futures.values():
                future.result()  # a failed tracker stops the demo here, with its error

        for name in networks:
            futures[name] = pool.submit(_track_one, name, jobs[name], str(data_root), str(results / name), 1, False)
        wait()
        for name in baselines:
            futures[name] = pool.submit(_track_one, name, None, str(data_root), str(results / name), 1, False, 2)
            wait()
        bar.n = bar.total
        bar.refresh()
    return {name: futures[name].result() for name in jobs}


def run_demo(out: str | Path = "runs/demo", profile: str = "cpu", seed: int = 0, progress: bool = True,
             iterations: int | None = -1, parallel: bool | None = None) -> dict:
    """Run the whole pipeline on the embedded default; returns the evaluation scores (percent)."""
    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import default_folder_name, generate_mini_lasot
    from vlt_mini.data.textio import read_boxes
    from vlt_mini.evaluation.report import run_evaluate
    from vlt_mini.training import train_model

    check_profile(profile)
    out = Path(out)
    started = time.perf_counter()
    data_root = out / "data" / default_folder_name(profile, seed)
    print(f"[1/4] mini-LaSOT ({profile}, seed {seed}) -> {data_root}")
    generate_mini_lasot(data_root, profile=profile, seed=seed, progress=progress)
    test = open_dataset("mini-lasot", data_root, "test")

    if iterations == -1:
        iterations = DEMO_ITERATIONS[profile]
    overrides = schedule_overrides(profile, iterations)
    from vlt_mini.training import TrainingSetup
    from vlt_mini.config import apply_overrides

    setup = apply_overrides(TrainingSetup.for_profile(profile), overrides)
    total = setup.train.epochs * (setup.pairs.samples_per_epoch // setup.train.batch_size)
    work = out / f"{profile}-{total}it-seed{seed}"  # a finished run is reused only for the same schedule
    runs = {name: (kind, work / "train" / name) for name, kind in DEMO_MODELS.items()}
    parallel = (os.cpu_count() or 1) >= 2 if parallel is None else parallel
    print(f"[2/4] training {', '.join(DEMO_MODELS)} on {len(open_dataset('mini-lasot', data_root, 'train'))} videos: "
          f"{total} iterations of {setup.train.batch_size} pairs each"
          + (", side by side (one process and one thread each)" if parallel else ""))
    train_started = time.perf_counter()
    if parallel:
        checkpoints = train_side_by_side(runs, data_root, profile, seed, overrides, total, progress)
    else:
        checkpoints = {name: train_model(kind, data_root, run_dir, profile=profile, seed=seed, overrides=overrides,
                                         progress=progress)
                       for name, (kind, run_dir) in runs.items()}
    train_seconds = time.perf_counter() - train_started

    print(f"[3/4] tracking {len(test)} test videos with {', '.join([*DEMO_MODELS, *BASELINE_TRACKERS])}")
    jobs = {name: str(path) for name, path in checkpoints.items()} | {name: None for name in BASELINE_TRACKERS}
    result_dirs = [work / "results" / name for name in jobs]
    if parallel:
        speeds = track_side_by_side(jobs, data_root, work / "results", len(test), progress)
    else:
        speeds = {name: _track_one(name, checkpoint, str(data_root), str(work / "results" / name), 0, progress)
                  for name, checkpoint in jobs.items()}

    print("[4/4] evaluating (one-pass evaluation, LaSOT protocol)")
    scores = run_evaluate(
        "mini-lasot", data_root, result_dirs, split="test",
        json_out=out / "scores.json", plot_out=out / "success.png", leaderboard=False,
    )

    example = max(test, key=lambda s: len(s))
    from vlt_mini.tracking.drawing import annotate_frame, write_video

    boxes = {d.name: read_boxes(d / f"{example.name}.txt") for d in result_dirs}
    frames = (
        annotate_frame(example.frame(i), {n: b[i] for n, b in boxes.items()}, example.ground_truth[i],
                       example.sentence, i, scale=max(1.0, 320 / example.frame(0).shape[1]))
        for i in range(len(example))
    )
    video = write_video(frames, out / f"{example.name}.gif", fps=12)

    rows = sorted(scores["trackers"].items(), key=lambda item: -item[1]["suc"])
    table = ["| tracker | SUC | P_norm | P | frames/s |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, score in rows:
        fps = speeds.get(name, {}).get("fps", float("nan"))
        table.append(f"| {name} | {score['suc']:.1f} | {score['norm_prec']:.1f} | {score['prec']:.1f} | {fps:.0f} |")
    curves = {name: (run_dir / "loss_curves.png").relative_to(out) for name, (_, run_dir) in runs.items()
              if (run_dir / "loss_curves.png").is_file()}
    elapsed = time.perf_counter() - started
    report = "\n".join([
        "# vlt-mini demo",
        "",
        f"mini-LaSOT profile `{profile}`, seed {seed}: {len(test)} test videos, "
        f"{int(np.sum([len(s) for s in test]))} frames. One-pass evaluation with the LaSOT toolkit's rules.",
        "",
        *table,
        "",
        f"![success and precision plots](success.png)",
        "",
        f"Training: {total} iterations of {setup.train.batch_size} pairs per network, the `{profile}` recipe"
        + (f" shortened with `{' '.join(overrides)}`" if overrides else "")
        + f" ({train_seconds:.0f} s this run; a reused run takes none). The same schedule and seed for both "
        "networks; VLT-mini adds ModaMixer and the sentence. "
        + ", ".join(f"[{name} loss curves]({path})" for name, path in curves.items()),
        "",
        *committed_study_lines(),
        f"Example: `{example.name}` — \"{example.sentence}\" ({video.name})",
        "",
        f"Wall time: {elapsed:.0f} s.",
        "",
    ])
    atomic_write_text(out / "report.md", report)
    print("\n".join(table))
    print(f"report written to {out / 'report.md'} ({elapsed:.0f} s)")
    return scores
