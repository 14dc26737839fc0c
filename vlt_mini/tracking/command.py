"""``vlt-mini run`` (a tracker over a dataset split, one results file per sequence) and ``vlt-mini track`` (one video
from a box and a sentence).

    vlt-mini run --tracker vlt --checkpoint runs/vlt/model_final.pt --dataset mini-lasot --root data/mini-lasot \\
        --out runs/results/vlt [tracker.penalty_k=0.1 tracker.window_influence=0.4 ...]
    vlt-mini track --video clip.mp4 --box 120,80,60,40 --text "a red car" --checkpoint runs/vlt/model_final.pt \\
        --out runs/track

A results folder records what made it (``tracker.json``: tracker, checkpoint hash, text model, hyper-parameters,
language on / off): ``run`` into a folder made by anything else is refused unless ``--overwrite``. Trailing
``tracker.KEY=VALUE`` overrides set the tracker's hyper-parameters (penalty_k, window_influence, lr, context,
min_size) on top of ``--preset``.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from vlt_mini.arguments import add_device_argument, add_progress_argument


def _add_tracker_arguments(parser: argparse.ArgumentParser, default_preset: str | None) -> None:
    from vlt_mini.tracking.presets import PRESETS

    preset_help = "tracker hyper-parameters preset" + (f" (default {default_preset})" if default_preset
                                                        else " (default: the dataset's)")
    parser.add_argument("--preset", default=default_preset, choices=sorted(PRESETS), help=preset_help)
    parser.add_argument("--text-model", default=None, help="text model (default: the one the checkpoint names, if it "
                        "is a known model: minilm or bert-base-uncased)")
    parser.add_argument("--reference-path", action="store_true",
                        help="the reference computation (unfolded network, PyTorch decoding) instead of the fast path")
    add_device_argument(parser)
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="tracker.KEY=VALUE",
                        help="tracker hyper-parameters: tracker.penalty_k=0.1 tracker.window_influence=0.4 tracker.lr=0.3")


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.command import add_dataset_arguments
    from vlt_mini.tracking import TRACKERS

    parser.description = __doc__
    parser.add_argument("--tracker", required=True, choices=sorted(TRACKERS), help="tracker name")
    add_dataset_arguments(parser)
    parser.add_argument("--out", required=True, type=Path, help="results folder, named after the tracker by convention")
    parser.add_argument("--sequences", default=None, help="comma-separated sequence names (default: the whole split)")
    parser.add_argument("--checkpoint", type=Path, default=None, help="model checkpoint (vlt / siamcar trackers)")
    parser.add_argument("--no-language", action="store_true", help="do not give the sentence to the tracker")
    parser.add_argument("--overwrite", action="store_true",
                        help="track again into an --out made by another tracker, checkpoint or settings")
    parser.add_argument("--workers", type=int, default=1,
                        help="videos tracked at once, each in a one-thread process (CPU, Linux; default 1): "
                             "--workers 2 on two cores roughly doubles the frames/s of the whole run")
    _add_tracker_arguments(parser, None)


def add_track_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.add_argument("--video", required=True, type=Path, help="video file, or a folder of frames (or with img/)")
    parser.add_argument("--box", required=True, help="the target in the first frame: x,y,w,h (e.g. --box 12,30,40,80)")
    parser.add_argument("--text", default=None, help="the sentence describing the target")
    parser.add_argument("--checkpoint", required=True, type=Path, help="model checkpoint from `vlt-mini train`")
    parser.add_argument("--out", required=True, type=Path, help="output folder: boxes.txt and the annotated video")
    parser.add_argument("--format", default="gif", choices=("gif", "mp4"), help="annotated video format")
    _add_tracker_arguments(parser, "lasot")


def command_run(args) -> None:
    from vlt_mini.arguments import quiet_libraries, resolve_device
    from vlt_mini.data import open_dataset
    from vlt_mini.tracking import tracker_factory
    from vlt_mini.tracking.presets import PRESETS, hyper_parameters
    from vlt_mini.io import check_output_folder
    from vlt_mini.tracking.runner import check_workers, run_tracker, summarize_speed

    if args.no_progress:
        quiet_libraries()
    check_workers(args.workers)
    trained = args.tracker in ("vlt", "siamcar")
    if not trained:
        for flag, value in (("--checkpoint", args.checkpoint), ("--preset", args.preset),
                            ("--reference-path", args.reference_path or None),
                            ("--text-model", args.text_model), ("tracker.KEY=VALUE", args.overrides or None)):
            if value is not None:
                raise ValueError(f"{flag} is for the vlt / siamcar trackers, not {args.tracker!r}")
    preset = args.preset or (args.dataset if args.dataset in PRESETS else "lasot")
    hyper = hyper_parameters(preset, args.overrides) if trained else None  # bad overrides fail before any work
    dataset = open_dataset(args.dataset, args.root, args.split)
    sequences = list(dataset)
    if args.sequences:
        wanted = [name.strip() for name in args.sequences.split(",") if name.strip()]
        sequences = [dataset[name] for name in wanted]
    check_output_folder(args.out, create=False)
    options = {}
    device = resolve_device(args.device) if trained else "cpu"
    if args.workers > 1 and device != "cpu":
        raise ValueError(f"--workers {args.workers} is for tracking on the CPU (--device {args.device} gives {device}); "
                         "a GPU tracks one video at a time: use --workers 1")
    if trained:
        options = dict(checkpoint=args.checkpoint, preset=hyper, device=device,
                       use_language=not args.no_language, text_model=args.text_model, fast=not args.reference_path)
    settings = {"preset": preset, "overrides": list(args.overrides)} if trained else {}
    start = time.perf_counter()
    runs = run_tracker(tracker_factory(args.tracker, **options), sequences, args.out, progress=not args.no_progress,
                       use_language=not args.no_language, description=args.tracker, settings=settings,
                       overwrite=args.overwrite, workers=args.workers)
    wall = time.perf_counter() - start
    speed = summarize_speed(runs)
    skipped = sum(run.skipped for run in runs)
    overall = f", {speed['frames'] / wall:.1f} frames/s overall with {args.workers} workers" if args.workers > 1 else ""
    print(f"{args.tracker}: {len(runs)} sequences in {args.out} ({skipped} already done); "
          f"{speed['frames']} frames tracked now at {speed['fps']:.1f} frames/s{overall}")


def command_track(args) -> None:
    from vlt_mini.arguments import quiet_libraries, resolve_device
    from vlt_mini.tracking.presets import hyper_parameters
    from vlt_mini.io import check_output_folder
    from vlt_mini.tracking.video import parse_box

    if args.no_progress:
        quiet_libraries()
    box = parse_box(args.box)
    hyper = hyper_parameters(args.preset, args.overrides)
    if not args.video.exists():
        raise FileNotFoundError(f"--video {args.video}: not found")
    check_output_folder(args.out, create=False)
    from vlt_mini.tracking.tracker import VLTTracker
    from vlt_mini.tracking.video import track_video

    tracker = VLTTracker.from_checkpoint(args.checkpoint, preset=hyper, device=resolve_device(args.device),
                                         text_model=args.text_model, fast=not args.reference_path)
    result = track_video(tracker, args.video, box, args.text, args.out, video_name=f"annotated.{args.format}",
                         progress=not args.no_progress)
    print(f"tracked {result['frames']} frames at {result['fps']:.1f} frames/s; wrote {result['boxes']} and "
          f"{result['video']}")
