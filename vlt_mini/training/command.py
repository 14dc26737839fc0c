"""``vlt-mini train``: the command-line front of the trainer (registered by ``vlt_mini.cli``).

    vlt-mini train --model vlt --dataset mini-lasot --root data/mini-lasot-cpu --profile cpu --out runs/vlt-cpu
    vlt-mini train --model siamcar --dataset lasot:1 --dataset got10k:0.5 --root /data/lasot --root /data/got10k \\
        --profile paper --out runs/siamcar train.epochs=20 pairs.negative_fraction=0.2
    torchrun --nproc_per_node=4 -m vlt_mini.cli train ...      (DDP; train.batch_size is the global batch)

Trailing ``key=value`` overrides set fields of the three configs: ``model.*`` (``VLTConfig``), ``train.*``
(``TrainConfig``, including ``train.loss.*``) and ``pairs.*`` (``PairConfig``).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from vlt_mini.arguments import add_device_argument, add_profile_argument, add_progress_argument


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    from vlt_mini.data.registry import DATASETS
    from vlt_mini.models.kinds import MODEL_KINDS

    parser.description = __doc__
    parser.add_argument("--model", required=True, choices=MODEL_KINDS, help="what to train")
    parser.add_argument("--candidate", type=Path, default=None,
                        help="candidate JSON file (default: the official VLT_SCAR candidate)")
    parser.add_argument("--dataset", required=True, action="append", metavar="NAME[:WEIGHT]",
                        help=f"training dataset, repeatable, with an optional sampling weight ({', '.join(DATASETS)})")
    parser.add_argument("--root", type=Path, action="append", default=None,
                        help="dataset root, one per --dataset in the same order (else the environment variables)")
    parser.add_argument("--split", default="train", help="split to train on (default train)")
    add_profile_argument(parser, "network and schedule size")
    parser.add_argument("--out", required=True, type=Path, help="run folder: checkpoints, metrics, plots")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    add_device_argument(parser)
    parser.add_argument("--seed", type=int, default=None, help="random seed (sets train.seed)")
    parser.add_argument("--text-model", default="minilm",
                        help="sentence encoder: minilm (offline default), bert-base-uncased (the paper's), or a folder")
    parser.add_argument("--stop-after", type=int, default=None, help="stop (with a checkpoint) after N iterations")
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE",
                        help="overrides: model.no_sentence_mode=template train.epochs=2 pairs.negative_fraction=0.1")


def parse_dataset_arguments(datasets: list[str], roots: list[Path] | None) -> list[tuple[str, Path | None, float]]:
    """``NAME[:WEIGHT]`` entries paired with their roots: (name, root, weight)."""
    if roots and len(roots) != len(datasets):
        raise ValueError(f"give one --root per --dataset (or none, to use the environment variables): "
                         f"{len(datasets)} datasets, {len(roots)} roots")
    entries = []
    for index, item in enumerate(datasets):
        name, _, weight_text = item.partition(":")
        try:
            weight = float(weight_text) if weight_text else 1.0
        except ValueError:
            raise ValueError(f"--dataset {item!r}: the weight after ':' must be a number") from None
        if not weight > 0:
            raise ValueError(f"--dataset {item!r}: the weight must be > 0")
        entries.append((name, roots[index] if roots else None, weight))
    return entries


def command_train(args) -> None:
    from vlt_mini.arguments import quiet_libraries
    from vlt_mini.config import apply_overrides
    from vlt_mini.data import open_dataset
    from vlt_mini.models.candidate import Candidate
    from vlt_mini.training.checkpoints import CHECKPOINT_NAME
    from vlt_mini.training.pairs import PairSource
    from vlt_mini.training.trainer import Trainer, TrainingDiverged, TrainingSetup

    if args.no_progress:
        quiet_libraries()
    setup = apply_overrides(TrainingSetup.for_profile(args.profile), args.overrides)
    if args.seed is not None:
        setup = apply_overrides(setup, [f"train.seed={args.seed}"])
    candidate = Candidate.load(args.candidate) if args.candidate is not None else None
    sources = [PairSource(open_dataset(name, root, args.split), weight)
               for name, root, weight in parse_dataset_arguments(args.dataset, args.root)]
    from vlt_mini.io import check_output_folder

    check_output_folder(args.out, create=False)
    if (args.out / CHECKPOINT_NAME).is_file() and not args.resume:
        raise ValueError(f"{args.out} already holds a training run ({CHECKPOINT_NAME}); pass --resume to continue it "
                         "or choose another --out")
    trainer = Trainer(args.model, setup.model, setup.train, setup.pairs, sources, args.out, candidate=candidate,
                      text_model=args.text_model, device=args.device, progress=not args.no_progress)
    if args.resume:
        resumed = trainer.resume()
        if trainer.is_main:
            print(f"resuming {args.out} at iteration {trainer.iteration} of {trainer.total_iterations}" if resumed
                  else f"nothing to resume in {args.out}: starting from scratch")
    if trainer.is_main:
        print(f"training {args.model} ({args.profile}) on {', '.join(s.dataset.name for s in sources)}: "
              f"{trainer.total_iterations} iterations of {setup.train.batch_size} pairs on {trainer.device}"
              + (f" x {trainer.context.world_size} processes" if trainer.context.enabled else ""))
    try:
        summary = trainer.train(stop_after=args.stop_after)
    except TrainingDiverged as error:
        raise ValueError(str(error)) from None
    if trainer.is_main:
        last = summary["last"] or {}
        state = "finished" if summary["finished"] else f"stopped at iteration {summary['iteration']}"
        print(f"{state} in {summary['wall_time_s']:.0f} s; last loss {last.get('total', float('nan')):.3f}; "
              f"{args.out / ('model_final.pt' if summary['finished'] else CHECKPOINT_NAME)}")


def add_pretrain_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ("The ImageNet step (paper App. A.3): train the SPOS supernet to classify objects rendered by "
                          "mini-LaSOT's renderer, saved in the official SPOS checkpoint layout.")
    add_profile_argument(parser, "network widths and recipe size")
    parser.add_argument("--out", required=True, type=Path, help="folder for the pretrained supernet (SPOS layout) and pretrain.json")
    parser.add_argument("--seed", type=int, default=None, help="random seed (images, paths, weights)")
    add_progress_argument(parser)
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="PretrainConfig fields, e.g. iterations=2000 image_size=96")


def command_pretrain(args) -> None:
    import dataclasses
    import json

    from vlt_mini.config import apply_overrides
    from vlt_mini.training.pretrain import PretrainConfig, pretrain_supernet

    config = apply_overrides(PretrainConfig.for_profile(args.profile), args.overrides)
    if args.seed is not None:
        config = dataclasses.replace(config, seed=args.seed)
    path = pretrain_supernet(args.out, args.profile, config, progress=not args.no_progress)
    record = json.loads((Path(args.out) / "pretrain.json").read_text())
    scores = record["held_out_mean_over_random_paths"]
    print(f"{path}: held-out top-1 {scores['top1']:.1%} (category {scores['category']:.1%}, colour "
          f"{scores['colour']:.1%}; chance {record['chance_top1']:.0%}) in {record['seconds']['total']:.0f} s; "
          f"start a training from it with train.backbone_checkpoint={path} train.backbone_lr_factor=0.1")
