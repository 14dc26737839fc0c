"""The main job, ``vlt-mini demo``: generate mini-LaSOT, train VLT-mini and the vision-only SiamCAR baseline, track
the test split with them and OpenCV MIL, evaluate, and write a report folder.

The report folder holds ``report.md`` (the table and what was run), ``scores.json``, ``success.png`` (success and
precision plots), the attribute chart, the training runs (``train/<model>/``: loss curves, metrics, checkpoints) and
``<sequence>.gif``: one test video annotated with every tracker's box and the sentence. Re-running resumes: finished
training runs and tracked sequences are reused.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from vlt_mini.config import check_profile
from vlt_mini.io import atomic_write_text

DEMO_MODELS = {"VLT-mini": "vlt", "SiamCAR": "siamcar"}  # results folder name -> model kind
BASELINE_TRACKERS = ("mil",)


def run_demo(out: str | Path = "runs/demo", profile: str = "tiny", seed: int = 0, progress: bool = True) -> dict:
    """Run the whole pipeline on the embedded default; returns the evaluation scores (percent)."""
    from vlt_mini.data import open_dataset
    from vlt_mini.data.mini_lasot import generate_mini_lasot
    from vlt_mini.data.textio import read_boxes
    from vlt_mini.evaluation.report import run_evaluate
    from vlt_mini.runner import run_tracker, summarize_speed
    from vlt_mini.trackers import tracker_factory
    from vlt_mini.training import train_model

    check_profile(profile)
    out = Path(out)
    started = time.perf_counter()
    data_root = out / "data" / f"mini-lasot-{profile}-seed{seed}"
    print(f"[1/4] mini-LaSOT ({profile}, seed {seed}) -> {data_root}")
    generate_mini_lasot(data_root, profile=profile, seed=seed, progress=progress)
    test = open_dataset("mini-lasot", data_root, "test")

    print(f"[2/4] training {', '.join(DEMO_MODELS)} on {len(open_dataset('mini-lasot', data_root, 'train'))} videos")
    checkpoints = {name: train_model(kind, data_root, out / "train" / name, profile=profile, seed=seed,
                                     progress=progress)
                   for name, kind in DEMO_MODELS.items()}

    print(f"[3/4] tracking {len(test)} test videos with {', '.join([*DEMO_MODELS, *BASELINE_TRACKERS])}")
    result_dirs, speeds = [], {}
    factories = {name: tracker_factory("vlt", checkpoint=path, preset="mini-lasot") for name, path in checkpoints.items()}
    factories.update({name: tracker_factory(name) for name in BASELINE_TRACKERS})
    for name, factory in factories.items():
        result_dir = out / "results" / name
        runs = run_tracker(factory, test, result_dir, progress=progress, description=name)
        speeds[name] = summarize_speed(runs)
        result_dirs.append(result_dir)

    print("[4/4] evaluating (one-pass evaluation, LaSOT protocol)")
    scores = run_evaluate(
        "mini-lasot", data_root, result_dirs, split="test",
        json_out=out / "scores.json", plot_out=out / "success.png", leaderboard=False,
    )

    example = max(test, key=lambda s: len(s))
    from vlt_mini.visualize import annotate_frame, write_video

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
    curves = {name: f"train/{name}/loss_curves.png" for name in DEMO_MODELS if (out / "train" / name / "loss_curves.png").is_file()}
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
        "Training (the same schedule for both networks; VLT-mini adds ModaMixer and the sentence): "
        + ", ".join(f"[{name} loss curves]({path})" for name, path in curves.items()),
        "",
        f"Example: `{example.name}` — \"{example.sentence}\" ({video.name})",
        "",
        f"Wall time: {elapsed:.0f} s.",
        "",
    ])
    atomic_write_text(out / "report.md", report)
    print("\n".join(table))
    print(f"report written to {out / 'report.md'} ({elapsed:.0f} s)")
    return scores
