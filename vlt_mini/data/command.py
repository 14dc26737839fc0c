"""``vlt-mini data``: generate the synthetic mini-LaSOT, or describe a dataset.

    vlt-mini data mini-lasot --out data/mini-lasot-cpu-seed0 [--profile cpu] [--seed 0]
    vlt-mini data info --dataset lasot --root /data/lasot [--split test]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vlt_mini.arguments import add_profile_argument, add_progress_argument


def add_dataset_arguments(parser: argparse.ArgumentParser, split: str = "test") -> None:
    """``--dataset``, ``--root``, ``--split``: how every command names a dataset split."""
    from vlt_mini.data.registry import DATASETS

    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset name")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (else the dataset's environment variable)")
    parser.add_argument("--split", default=split, help=f"split: test, train, val, all (default {split})")


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    kinds = parser.add_subparsers(dest="data_command", required=True, metavar="{mini-lasot,info,compare}")
    generate = kinds.add_parser("mini-lasot", help="generate the synthetic, language-grounded mini-LaSOT")
    generate.add_argument("--out", required=True, type=Path, help="folder to write it to (LaSOT's layout)")
    add_profile_argument(generate, "size")
    generate.add_argument("--seed", default=0, type=int, help="random seed (the same seed gives byte-identical files)")
    add_progress_argument(generate)
    info = kinds.add_parser("info", help="summarise one split of a dataset (videos, frames, sentences, attributes)")
    add_dataset_arguments(info)
    compare = kinds.add_parser("compare", help="statistics of a dataset side by side with a reference (e.g. LaSOT)")
    add_dataset_arguments(compare)
    compare.add_argument("--reference", required=True,
                         help="NAME:ROOT of the reference dataset, e.g. lasot:/data/LaSOT (NAME alone: its env variable)")
    compare.add_argument("--reference-split", default=None, help="the reference's split (default: --split)")
    compare.add_argument("--plot", type=Path, default=None, help="write the comparison figure (PNG)")
    compare.add_argument("--text", action="store_true", help="an aligned text table instead of markdown")


def command_data(args) -> None:
    if args.data_command == "mini-lasot":
        from vlt_mini.data.mini_lasot import generate_mini_lasot

        if args.seed < 0:
            raise ValueError(f"--seed must be >= 0, got {args.seed}")
        root = generate_mini_lasot(args.out, profile=args.profile, seed=args.seed, progress=not args.no_progress)
        print(f"mini-LaSOT ({args.profile}, seed {args.seed}) written to {root}")
    elif args.data_command == "compare":
        from vlt_mini.data.statistics import compare_datasets

        if args.plot is not None:
            if args.plot.is_dir():
                raise IsADirectoryError(f"--plot {args.plot} is a folder; give a file name (e.g. {args.plot / 'compare.png'})")
        print(compare_datasets(args.dataset, args.root, args.reference, split=args.split,
                               reference_split=args.reference_split, plot=args.plot, markdown=not args.text))
        if args.plot is not None:
            print(f"figure written to {args.plot}")
    else:
        from vlt_mini.data import open_dataset
        from vlt_mini.data.summary import describe_dataset

        print(describe_dataset(open_dataset(args.dataset, args.root, args.split)))
