"""The ``vlt-mini`` command line: ``data``, ``run``, ``evaluate``, ``track``, ``demo`` (and ``train``, ``search``,
``ablate``, ``pretrain``).

Each sub-command is a thin wrapper over a package function, so everything here can also be done from Python.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vlt_mini.config import PROFILES


def _add_data(subparsers) -> None:
    parser = subparsers.add_parser("data", help="generate the synthetic mini-LaSOT, or describe a dataset")
    kinds = parser.add_subparsers(dest="data_command", required=True)
    generate = kinds.add_parser("mini-lasot", help="generate the synthetic, language-grounded mini-LaSOT")
    generate.add_argument("--out", required=True, type=Path, help="folder to write it to (LaSOT's layout)")
    generate.add_argument("--profile", default="tiny", choices=PROFILES, help="size: tiny (CI), cpu (laptop), paper (GPU)")
    generate.add_argument("--seed", default=0, type=int, help="random seed (the same seed gives byte-identical files)")
    generate.add_argument("--no-progress", action="store_true", help="no progress bar")
    info = kinds.add_parser("info", help="summarise one split of a dataset (videos, frames, sentences, attributes)")
    _add_dataset_arguments(info)


def _add_dataset_arguments(parser) -> None:
    from vlt_mini.data.registry import DATASETS

    parser.add_argument("--dataset", required=True, choices=sorted(DATASETS), help="dataset name")
    parser.add_argument("--root", type=Path, default=None, help="dataset root (else the dataset's environment variable)")
    parser.add_argument("--split", default="test", help="split: test (default), train, val, all")


def _add_run(subparsers) -> None:
    from vlt_mini.tracking import TRACKERS

    parser = subparsers.add_parser("run", help="run a tracker over a dataset split; one results file per sequence")
    parser.add_argument("--tracker", required=True, choices=sorted(TRACKERS), help="tracker name")
    _add_dataset_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="results folder, named after the tracker by convention")
    parser.add_argument("--sequences", default=None, help="comma-separated sequence names (default: the whole split)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (vlt / siamcar trackers)")
    parser.add_argument("--preset", default=None, help="tracker hyper-parameters preset (default: the dataset's)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (vlt / siamcar trackers)")
    parser.add_argument("--no-language", action="store_true", help="do not give the sentence to the tracker")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_evaluate(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="score results folders with the official one-pass evaluation")
    _add_dataset_arguments(parser)
    parser.add_argument("--results", required=True, nargs="+", type=Path, help="results folders, one per tracker")
    parser.add_argument("--json", dest="json_out", type=Path, default=None, help="write all scores and curves as JSON")
    parser.add_argument("--plot", dest="plot_out", type=Path, default=None, help="write success / precision plots (PNG)")
    parser.add_argument("--no-leaderboard", action="store_true", help="do not print the paper's Table 2 leaderboard")


def _add_demo(subparsers) -> None:
    parser = subparsers.add_parser("demo", help="the main job: mini-LaSOT, trackers, evaluation, a report folder")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"), help="report folder (default runs/demo)")
    parser.add_argument("--profile", default="cpu", choices=PROFILES,
                        help="data, network and recipe (default cpu: under 10 minutes on a 2-core CPU; tiny: seconds)")
    parser.add_argument("--iterations", type=int, default=-1,
                        help="training iterations per network (default: 600 at cpu, the profile's schedule otherwise; "
                             "1000 is the full cpu recipe)")
    parser.add_argument("--sequential", action="store_true",
                        help="train the two networks one after the other (default: side by side with 2+ cores)")
    parser.add_argument("--seed", default=0, type=int, help="random seed")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _add_track(subparsers) -> None:
    from vlt_mini.tracking.tracker import PRESETS

    parser = subparsers.add_parser("track", help="track one video (a file or a folder of frames) from a box and a sentence")
    parser.add_argument("--video", required=True, type=Path, help="video file, or a folder of frames (or with img/)")
    parser.add_argument("--box", required=True, help="the target in the first frame: x,y,w,h")
    parser.add_argument("--text", default=None, help="the sentence describing the target")
    parser.add_argument("--checkpoint", required=True, type=Path, help="model checkpoint from `vlt-mini train`")
    parser.add_argument("--out", required=True, type=Path, help="output folder: boxes.txt and the annotated video")
    parser.add_argument("--preset", default="lasot", choices=sorted(PRESETS), help="tracker hyper-parameters")
    parser.add_argument("--format", default="gif", choices=("gif", "mp4"), help="annotated video format")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vlt-mini",
        description="vlt-mini: vision-language tracking (VLT, NeurIPS 2022) reproduced step by step.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_data(subparsers)
    _add_run(subparsers)
    _add_evaluate(subparsers)
    _add_track(subparsers)
    _add_demo(subparsers)
    from vlt_mini.training.command import add_train_parser

    add_train_parser(subparsers)
    from vlt_mini.search.command import add_search_parser

    add_search_parser(subparsers)
    from vlt_mini.experiments.command import add_ablate_parser

    add_ablate_parser(subparsers)
    from vlt_mini.training.pretrain import add_pretrain_parser

    add_pretrain_parser(subparsers)
    return parser


def _command_data(args) -> None:
    if args.data_command == "mini-lasot":
        from vlt_mini.data.mini_lasot import generate_mini_lasot

        root = generate_mini_lasot(args.out, profile=args.profile, seed=args.seed, progress=not args.no_progress)
        print(f"mini-LaSOT ({args.profile}, seed {args.seed}) written to {root}")
    else:
        from vlt_mini.data import open_dataset
        from vlt_mini.data.summary import describe_dataset

        print(describe_dataset(open_dataset(args.dataset, args.root, args.split)))


def _command_run(args) -> None:
    from vlt_mini.data import open_dataset
    from vlt_mini.tracking.runner import run_tracker, summarize_speed
    from vlt_mini.tracking import tracker_factory

    dataset = open_dataset(args.dataset, args.root, args.split)
    sequences = list(dataset)
    if args.sequences:
        wanted = [name.strip() for name in args.sequences.split(",") if name.strip()]
        sequences = [dataset[name] for name in wanted]
    options = {}
    if args.tracker in ("vlt", "siamcar"):
        options = dict(checkpoint=args.checkpoint, preset=args.preset or args.dataset, device=args.device,
                       use_language=not args.no_language)
    elif args.checkpoint is not None:
        raise ValueError(f"--checkpoint is for the vlt / siamcar trackers, not {args.tracker!r}")
    runs = run_tracker(
        tracker_factory(args.tracker, **options),
        sequences,
        args.out,
        progress=not args.no_progress,
        use_language=not args.no_language,
        description=args.tracker,
    )
    speed = summarize_speed(runs)
    skipped = sum(run.skipped for run in runs)
    print(
        f"{args.tracker}: {len(runs)} sequences in {args.out} ({skipped} already done); "
        f"{speed['frames']} frames tracked now at {speed['fps']:.1f} frames/s"
    )


def _command_evaluate(args) -> None:
    from vlt_mini.evaluation.report import run_evaluate

    run_evaluate(
        args.dataset,
        args.root,
        args.results,
        split=args.split,
        json_out=args.json_out,
        plot_out=args.plot_out,
        leaderboard=not args.no_leaderboard,
    )


def _command_track(args) -> None:
    from vlt_mini.tracking.tracker import VLTTracker
    from vlt_mini.tracking.video import parse_box, track_video

    box = parse_box(args.box)
    if not args.video.exists():
        raise FileNotFoundError(f"video not found: {args.video}")
    tracker = VLTTracker.from_checkpoint(args.checkpoint, preset=args.preset, device=args.device)
    result = track_video(tracker, args.video, box, args.text, args.out, video_name=f"annotated.{args.format}",
                         progress=not args.no_progress)
    print(f"tracked {result['frames']} frames at {result['fps']:.1f} frames/s; wrote {result['boxes']} and {result['video']}")


def _command_demo(args) -> None:
    from vlt_mini.experiments.demo import run_demo

    if args.iterations == 0 or args.iterations < -1:
        raise ValueError(f"--iterations must be a positive number, got {args.iterations}")
    run_demo(args.out, profile=args.profile, seed=args.seed, progress=not args.no_progress,
             iterations=args.iterations,
             parallel=False if args.sequential else None)


COMMANDS = {"data": _command_data, "run": _command_run, "evaluate": _command_evaluate, "track": _command_track,
            "demo": _command_demo}


def _command_train(args) -> None:
    from vlt_mini.training.command import command_train

    command_train(args)


COMMANDS["train"] = _command_train


def _command_search(args) -> None:
    from vlt_mini.search.command import command_search

    command_search(args)


COMMANDS["search"] = _command_search


def _command_ablate(args) -> None:
    from vlt_mini.experiments.command import command_ablate

    command_ablate(args)


COMMANDS["ablate"] = _command_ablate


def _command_pretrain(args) -> None:
    from vlt_mini.training.pretrain import command_pretrain

    command_pretrain(args)


COMMANDS["pretrain"] = _command_pretrain


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, KeyError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"vlt-mini {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
