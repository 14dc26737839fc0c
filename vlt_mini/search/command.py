"""``vlt-mini search``: the command-line front of ``vlt_mini.search.pipeline.run_search``.

    vlt-mini search --supernet runs/supernet/model_final.pt --dataset mini-lasot --root data/mini-lasot-cpu-seed0 \\
        --profile cpu --out runs/search [--symmetric] [--resume] [--seed N] [population=12 max_frames=60 ...]

Trailing ``key=value`` overrides set fields of ``SearchConfig`` (``vlt_mini.search.evolution``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vlt_mini.arguments import add_device_argument, add_profile_argument, add_progress_argument


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.registry import DATASETS

    parser.description = __doc__
    parser.add_argument("--supernet", required=True, type=Path, help="checkpoint of a `vlt-mini train --model "
                        "supernet` run (model_final.pt or checkpoint_last.pt)")
    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset: validation videos for "
                        "the fitness, its train split for BN recalibration")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (else the environment variable)")
    parser.add_argument("--split", default=None, help="fitness split (default val; test is refused)")
    add_profile_argument(parser, "search size (population, generations, videos)")
    parser.add_argument("--out", required=True, type=Path, help="search folder: log, top candidates, summary, plot")
    parser.add_argument("--symmetric", action="store_true", help="one path and mixer ops for both branches (Tab. 5a)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out from its log")
    parser.add_argument("--seed", type=int, default=None, help="random seed (sets seed)")
    parser.add_argument("--text-model", default=None, help="text model (default: the one the supernet names, if it "
                        "is a known model: minilm or bert-base-uncased)")
    add_device_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="SearchConfig overrides: population=12 generations=5 max_frames=60 bn_batches=0")


def command_search(args) -> None:
    from vlt_mini.arguments import quiet_libraries
    from vlt_mini.config import apply_overrides
    from vlt_mini.search.evolution import SearchConfig
    from vlt_mini.search.pipeline import run_search

    if args.no_progress:
        quiet_libraries()

    overrides = list(args.overrides)
    overrides += [f"split={args.split}"] if args.split is not None else []
    overrides += [f"seed={args.seed}"] if args.seed is not None else []
    overrides += ["symmetric=true"] if args.symmetric else []
    config = apply_overrides(SearchConfig.for_profile(args.profile), overrides)
    summary = run_search(args.supernet, args.dataset, args.root, args.out, config, resume=args.resume,
                         device=args.device, progress=not args.no_progress, text_model=args.text_model)
    best = summary["best"]
    print(f"searched {summary['evaluations']} candidates ({summary['reused_from_log']} read back from the log) on "
          f"{len(summary['videos'])} {config.split} videos; best fitness (SUC) {best['fitness']:.2f} in generation "
          f"{best['generation']}; {args.out / 'best_candidate.json'}")
