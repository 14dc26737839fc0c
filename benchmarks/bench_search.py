"""Time per candidate evaluation of the evolutionary search (BN recalibration + tracking + SUC), and how it scales.

For one profile: the seconds one fitness evaluation takes (median over ``--runs`` random candidates) with the
profile's settings, with and without BN recalibration, and for 2, 5, 10, 20 validation videos (truncated to the
profile's ``max_frames``); the ratio column is against the profile's own setting measured in the same run. Wall and
process-CPU seconds are both printed: with ``--threads 1`` the CPU seconds are what an idle core would take, so they
stay meaningful while other jobs share the machine. Speed does
not depend on the weights, so without ``--supernet`` an untrained supernet of the profile is used. From the median it
estimates the wall time of the whole search (population × generations evaluations).

    python benchmarks/bench_search.py --profile tiny [--root DIR] [--supernet CKPT] [--runs 3] [--videos 2 5 10 20]
"""
from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch


def untrained_supernet(profile: str, path: Path) -> Path:
    from vlt_mini.io import atomic_torch_save
    from vlt_mini.models.vlt import VLTConfig, VLTNet, model_checkpoint

    torch.manual_seed(0)
    model = VLTNet(VLTConfig.for_profile(profile))
    atomic_torch_save(model_checkpoint(model, text_model="minilm", kind="supernet", profile=profile), path)
    return path


def median_seconds(evaluator, candidates, recalibrate: bool = True) -> tuple[float, float]:
    """(median wall seconds, median CPU seconds of this process) per evaluation. With one thread the CPU time is
    what the evaluation would take on an idle core, even when other jobs share the machine."""
    walls, cpus = [], []
    for candidate in candidates:
        wall, cpu = time.perf_counter(), time.process_time()
        evaluator(candidate, recalibrate=recalibrate)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="tiny", choices=("tiny", "cpu", "paper"))
    parser.add_argument("--root", type=Path, default=None, help="mini-LaSOT root (default: data/mini-lasot-<profile>"
                        "-seed0, generated if missing)")
    parser.add_argument("--supernet", type=Path, default=None, help="supernet checkpoint (default: untrained)")
    parser.add_argument("--runs", type=int, default=3, help="candidates per measurement (median)")
    parser.add_argument("--videos", type=int, nargs="+", default=[2, 5, 10, 20])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vlt_mini.data.mini_lasot import generate_mini_lasot
    from vlt_mini.models.candidate import Candidate
    from vlt_mini.search.evolution import FitnessEvaluator, SearchConfig
    from vlt_mini.search.pipeline import prepare_search

    root = args.root or Path(__file__).resolve().parents[1] / "data" / f"mini-lasot-{args.profile}-seed0"
    if not root.is_dir():
        root = generate_mini_lasot(root, args.profile, 0, progress=False)
    supernet = args.supernet or untrained_supernet(args.profile, Path(tempfile.mkdtemp()) / "supernet.pt")
    config = SearchConfig.for_profile(args.profile)
    wide = dataclasses.replace(config, num_videos=max(args.videos + [config.num_videos]))
    started = time.perf_counter()
    setup = prepare_search(supernet, "mini-lasot", root, wide, device="cpu")
    print(f"set-up (supernet, text encoder, {config.bn_batches} recalibration batches of {config.bn_batch_size} "
          f"pairs): {time.perf_counter() - started:.1f} s")
    rng = random.Random(0)
    candidates = [Candidate.sample(rng) for _ in range(args.runs)]
    videos = setup.evaluator.videos
    evaluator = setup.evaluator

    def with_videos(count: int) -> FitnessEvaluator:
        return FitnessEvaluator(setup.model, evaluator.text_encoder, videos[:count], evaluator.recalibration_batches,
                                evaluator.preset, "cpu")

    evaluator(candidates[0])  # warm-up (first-call allocations, sentence look-ups)
    default = with_videos(config.num_videos)
    frames = sum(len(v) for v in default.videos)
    base = median_seconds(default, candidates)
    rows = [(f"profile setting: {len(default.videos)} videos, {frames} frames, recalibration on", base)]
    rows.append((f"profile setting, recalibration off", median_seconds(default, candidates, recalibrate=False)))
    for count in args.videos:
        if count > len(videos):
            print(f"({count} videos skipped: the {config.split} split has {len(videos)})")
        elif count != config.num_videos:
            subset = with_videos(count)
            rows.append((f"{count} videos, {sum(len(v) for v in subset.videos)} frames, recalibration on",
                         median_seconds(subset, candidates)))

    print(f"\nbench_search: profile {args.profile}, {args.threads} threads, max_frames {config.max_frames}, median of "
          f"{args.runs} random candidates (untrained weights: {args.supernet is None})")
    print(f"{'measurement':<58} {'wall s':>7} {'CPU s':>7} {'ratio':>6}")
    for name, (wall, cpu) in rows:
        print(f"{name:<58} {wall:>7.2f} {cpu:>7.2f} {cpu / base[1]:>6.2f}")
    if args.threads == 1:
        print("(one thread: CPU seconds = the time on an idle core; wall seconds include waiting for shared cores)")
    recalibration = rows[0][1][1] - rows[1][1][1]
    evaluations = config.population * config.generations
    print(f"\nBN recalibration ({config.bn_batches} × {config.bn_batch_size} pairs): {recalibration:.2f} CPU s; "
          f"tracking and scoring {frames / rows[1][1][1]:.1f} frames per CPU second")
    print(f"whole search ({config.population} × {config.generations} = {evaluations} evaluations): about "
          f"{evaluations * base[1] / 60:.1f} min of CPU time ({evaluations * base[0] / 60:.1f} min at this run's wall "
          "time)")


if __name__ == "__main__":
    main()
