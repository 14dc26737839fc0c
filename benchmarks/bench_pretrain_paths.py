"""Why ``vlt-mini pretrain`` learns so slowly at ``cpu`` widths: one fixed path against SPOS's uniform path sampling,
at two learning rates, next to a plain 5-layer CNN, on the same rendered objects and the same number of iterations.

Each variant trains for ``--iterations`` steps of the ``cpu`` pretraining recipe apart from the learning rate (AdamW,
batches of 64 images of 64 px, warm-up over 300 steps, then linear decay to 0, label smoothing 0.1), then reports held-out
accuracy on images of another seed: the joint class (chance 1 %), the category and the colour read off it (chance
10 % each). Supernet variants are scored on the official VLT_SCAR template path after SPOS's BatchNorm recalibration
(``vlt_mini.training.pretrain.recalibrate``), with ``pretrain.top1``. One thread per process; run two at a time on two cores.

    OMP_NUM_THREADS=1 python benchmarks/bench_pretrain_paths.py --variants fixed,uniform --lrs 0.003,0.01
    OMP_NUM_THREADS=1 python benchmarks/bench_pretrain_paths.py --variants cnn --lrs 0.003
"""
from __future__ import annotations

import argparse
import random
import time

import numpy as np
import torch
from torch import nn

VARIANTS = ("fixed", "uniform", "cnn")


class PlainCNN(nn.Module):
    """Five 3x3 convolutions with BatchNorm and ReLU (full resolution first, then stride 2), pooled, one linear layer;
    ``forward_logits(images, path)`` ignores the path, so the package's ``top1`` scores it like a supernet."""

    def __init__(self, num_classes: int, width: int = 32) -> None:
        super().__init__()
        channels = [3, width, width, 2 * width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for index in range(5):
            layers += [nn.Conv2d(channels[index], channels[index + 1], 3, 2 if index else 1, 1, bias=False),
                       nn.BatchNorm2d(channels[index + 1]), nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, num_classes))

    def forward_logits(self, images: torch.Tensor, path=None) -> torch.Tensor:
        return self.body(images)


def run_variant(variant: str, base_lr: float, iterations: int, train, held_out, seed: int = 0) -> dict:
    """Train one variant with the ``cpu`` pretraining recipe (``PretrainConfig.for_profile``: its optimizer groups,
    warm-up and decay, label smoothing) at ``base_lr``, then score it with the package's ``top1``."""
    from vlt_mini.data.object_images import NUM_CLASSES
    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE
    from vlt_mini.models.supernet import SPOSSupernet, SupernetConfig, sample_path
    from vlt_mini.training.pretrain import PretrainConfig, _learning_rate, _optimizer, recalibrate, top1

    config = PretrainConfig.for_profile("cpu", base_lr=base_lr, iterations=iterations,
                                        warmup_iterations=min(300, iterations - 1), seed=seed)
    torch.manual_seed(seed)
    fixed_path = VLT_SCAR_CANDIDATE.template_path
    if variant == "cnn":
        model = PlainCNN(NUM_CLASSES)
    else:
        model = SPOSSupernet(config=SupernetConfig.for_profile("cpu", stride=32, with_classifier=True,
                                                               num_classes=NUM_CLASSES))
    optimizer = _optimizer(model, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    model.train()
    for iteration in range(iterations):
        path = sample_path(random.Random(f"bench:{seed}:{iteration}")) if variant == "uniform" else fixed_path
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, iteration)
        index = rng.choice(len(train.images), config.batch_size, replace=False)
        images = torch.from_numpy(train.images[index]).permute(0, 3, 1, 2).float()
        loss = criterion(model.forward_logits(images, path), torch.from_numpy(train.labels[index]).long())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - started
    if variant != "cnn":
        recalibrate(model, fixed_path, train.images, config.bn_batches, config.batch_size)
    scores = top1(model, fixed_path, held_out.images, held_out.labels)
    return {"variant": variant, "lr": base_lr, "seconds": seconds, "joint": scores["top1"],
            "category": scores["category"], "colour": scores["colour"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="fixed,uniform", help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--lrs", default="0.003,0.01", help="comma-separated AdamW base learning rates")
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--held-out-images", type=int, default=1_000)
    args = parser.parse_args()
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or args.iterations < 1:
        parser.error(f"--variants from {', '.join(VARIANTS)} (got {', '.join(unknown)}); --iterations >= 1")
    try:
        lrs = [float(value) for value in args.lrs.split(",")]
    except ValueError:
        parser.error(f"--lrs: expected comma-separated numbers, got {args.lrs!r}")
    if min(lrs) <= 0:
        parser.error(f"--lrs: learning rates must be > 0, got {args.lrs!r}")

    from vlt_mini.data.object_images import render_object_images

    started = time.perf_counter()
    train = render_object_images(args.train_images, 64, seed=0)
    held_out = render_object_images(args.held_out_images, 64, seed=1)
    print(f"rendered {args.train_images} + {args.held_out_images} images of 64 px in "
          f"{time.perf_counter() - started:.0f} s; {torch.get_num_threads()} thread(s)", flush=True)
    print("| variant | AdamW lr | iterations | s | held-out joint | category | colour |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for variant in variants:
        for lr in lrs:
            row = run_variant(variant, lr, args.iterations, train, held_out)
            print(f"| {variant} | {lr:g} | {args.iterations} | {row['seconds']:.0f} | {row['joint']:.1%} | "
                  f"{row['category']:.1%} | {row['colour']:.1%} |", flush=True)


if __name__ == "__main__":
    main()
