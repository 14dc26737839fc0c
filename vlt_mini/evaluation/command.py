"""``vlt-mini evaluate``: score results folders with the official one-pass evaluation (``run_evaluate``).

    vlt-mini evaluate --dataset mini-lasot --root data/mini-lasot-cpu-seed0 --results runs/results/vlt runs/results/mil
"""
from __future__ import annotations

import argparse
from pathlib import Path


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.command import add_dataset_arguments

    parser.description = __doc__
    add_dataset_arguments(parser)
    parser.add_argument("--results", required=True, nargs="+", type=Path, help="results folders, one per tracker")
    parser.add_argument("--json", dest="json_out", type=Path, default=None, help="write all scores and curves as JSON")
    parser.add_argument("--plot", dest="plot_out", type=Path, default=None, help="write success / precision plots (PNG)")
    parser.add_argument("--no-leaderboard", action="store_true", help="do not print the paper's Table 2 leaderboard")


def command_evaluate(args) -> None:
    from vlt_mini.evaluation.report import run_evaluate
    from vlt_mini.io import check_output_folder

    for path in (args.json_out, args.plot_out):
        if path is not None:
            if path.is_dir():
                raise IsADirectoryError(f"{path} is a folder; give a file name (e.g. {path / 'scores.json'})")
            check_output_folder(path.parent, "output", create=False)
    run_evaluate(args.dataset, args.root, args.results, split=args.split, json_out=args.json_out,
                 plot_out=args.plot_out, leaderboard=not args.no_leaderboard)
