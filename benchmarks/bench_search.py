"""Time per candidate evaluation of the evolutionary search (BN recalibration + tracking + SUC), and how it scales.

For one profile: the seconds one fitness evaluation takes (median over ``--runs`` random candidates) with the
profile's settings, with and without BN recalibration, with the tracker's fast path (the default) and its reference
path interleaved candidate by candidate; the ratio column is reference / fast CPU seconds. Wall and
process-CPU seconds are both printed: with ``--threads 1`` the CPU seconds are what an idle core would take, so they
stay meaningful while other jobs share the machine. Speed does
not depend on the weights, so without ``--supernet`` an untrained supernet of the profile is used. From the median it
estimates the wall time of the whole search (population × generations evaluations).

    python benchmarks/bench_search.py --profile tiny [--root DIR] [--supernet CKPT] [--runs 3] [--threads 1]
"""
from __future__ import annotations

import argparse
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
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from vlt_mini.data.mini_lasot import default_folder_name, generate_mini_lasot
    from vlt_mini.models.candidate import Candidate
    from vlt_mini.search.evolution import FitnessEvaluator, SearchConfig
    from vlt_mini.search.pipeline import prepare_search

    root = args.root or Path(__file__).resolve().parents[1] / "data" / default_folder_name(args.profile, 0)
    if not root.is_dir():
        root = generate_mini_lasot(root, args.profile, 0, progress=False)
    supernet = args.supernet or untrained_supernet(args.profile, Path(tempfile.mkdtemp()) / "supernet.pt")
    config = SearchConfig.for_profile(args.profile)
    started = time.perf_counter()
    setup = prepare_search(supernet, "mini-lasot", root, config, device="cpu")
    print(f"set-up (supernet, text encoder, {config.bn_batches} recalibration batches of {config.bn_batch_size} "
          f"pairs): {time.perf_counter() - started:.1f} s")
    rng = random.Random(0)
    candidates = [Candidate.sample(rng) for _ in range(args.runs)]
    videos = setup.evaluator.videos
    evaluator = setup.evaluator

    def with_videos(count: int, fast: bool = True) -> FitnessEvaluator:
        return FitnessEvaluator(setup.model, evaluator.text_encoder, videos[:count], evaluator.recalibration_batches,
                                evaluator.preset, "cpu", fast=fast)

    evaluator(candidates[0])  # warm-up (first-call allocations, sentence look-ups)
    count = config.num_videos
    paths = {"fast": with_videos(count, True), "reference": with_videos(count, False)}
    frames = sum(len(v) for v in paths["fast"].videos)
    times = {(name, recalibrate): [] for name in paths for recalibrate in (True, False)}
    fitness = {name: [] for name in paths}
    for candidate in candidates:  # the two paths interleaved candidate by candidate: a load change hits both
        for recalibrate in (True, False):
            for name, path in paths.items():
                wall, cpu = time.perf_counter(), time.process_time()
                result = path(candidate, recalibrate=recalibrate)
                times[name, recalibrate].append((time.perf_counter() - wall, time.process_time() - cpu))
                if recalibrate:
                    fitness[name].append(result["fitness"])

    def median(name: str, recalibrate: bool) -> tuple[float, float]:
        return tuple(statistics.median(t[i] for t in times[name, recalibrate]) for i in (0, 1))

    print(f"\nbench_search: profile {args.profile}, {args.threads} threads, {count} videos, {frames} frames "
          f"(max_frames {config.max_frames}), median of {args.runs} random candidates (untrained weights: "
          f"{args.supernet is None})")
    print(f"{'seconds per candidate':<44} {'fast wall':>9} {'ref wall':>9} {'fast CPU':>9} {'ref CPU':>9} {'ref/fast CPU':>13}")
    for recalibrate in (True, False):
        fast, reference = median("fast", recalibrate), median("reference", recalibrate)
        ratio = statistics.median(r[1] / f[1] for f, r in zip(times["fast", recalibrate], times["reference", recalibrate]))
        label = f"fitness, recalibration {'on' if recalibrate else 'off (tracking + SUC only)'}"
        print(f"{label:<44} {fast[0]:>9.2f} {reference[0]:>9.2f} {fast[1]:>9.2f} {reference[1]:>9.2f} {ratio:>13.2f}")
    if args.threads == 1:
        print("(one thread: CPU seconds = the time on an idle core; wall seconds include waiting for shared cores)")
    gaps = [abs(f - r) for f, r in zip(fitness["fast"], fitness["reference"])]
    print(f"fitness (SUC) fast vs reference: largest difference {max(gaps):.2f} points over {len(gaps)} candidates "
          f"({', '.join(f'{f:.1f}/{r:.1f}' for f, r in zip(fitness['fast'], fitness['reference']))})")
    recalibration = median("fast", True)[1] - median("fast", False)[1]
    evaluations = config.population * config.generations
    print(f"BN recalibration ({config.bn_batches} × {config.bn_batch_size} pairs): {recalibration:.2f} CPU s; "
          f"tracking and scoring {frames / median('fast', False)[1]:.1f} frames per CPU second (fast path)")
    print(f"whole search ({config.population} × {config.generations} = {evaluations} evaluations): about "
          f"{evaluations * median('fast', True)[1] / 60:.1f} min of CPU time with the fast path, "
          f"{evaluations * median('reference', True)[1] / 60:.1f} min with the reference")


if __name__ == "__main__":
    main()
