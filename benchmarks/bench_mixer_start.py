"""How much ModaMixer changes a pretrained backbone's features at the first training step, per selector start.

The paper starts VLT from an ImageNet-trained SPOS supernet and copies each stage's last block into its ModaMixer
(App. A.3). With the official selector start (a random projection + BatchNorm), every sentence multiplies the feature
by its own random-sign pattern, and the copied block adds that scrambled feature to the stage's output: this script
measures the cosine between each mixer's output and the stage's own feature on a batch of training pairs
(``vlt_mini.experiments.diagnostics.mixer_feature_change``), for ``model.selector_init`` = random and ones.

    python benchmarks/bench_mixer_start.py --root data/mini-lasot-v2-cpu-seed0 \\
        --backbone runs/pretrain-cpu/supernet_spos.pth.tar
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
from pathlib import Path

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, required=True, help="mini-LaSOT root (pairs from its train split)")
    parser.add_argument("--backbone", type=Path, default=None,
                        help="a supernet from vlt-mini pretrain (official SPOS layout); none: from scratch")
    parser.add_argument("--profile", default="cpu")
    parser.add_argument("--pairs", type=int, default=32)
    parser.add_argument("--seeds", type=int, default=3, help="network initialisations per start")
    args = parser.parse_args()

    from vlt_mini.data import open_dataset
    from vlt_mini.experiments.diagnostics import mixer_feature_change
    from vlt_mini.models.vlt import VLTNet
    from vlt_mini.training import PairSource, Trainer, TrainingSetup, make_pair_loader
    from vlt_mini.training.initialisation import initialise_from_spos

    if args.backbone is not None and not args.backbone.is_file():
        parser.error(f"--backbone {args.backbone}: no such file")
    setup = TrainingSetup.for_profile(args.profile)
    sources = [PairSource(open_dataset("mini-lasot", args.root, "train"))]
    trainer = Trainer("vlt", setup.model, setup.train, setup.pairs, sources, Path(tempfile.mkdtemp()), device="cpu",
                      progress=False)  # for its pair dataset (sentences embedded as in training)
    batch = next(iter(make_pair_loader(trainer.dataset, args.pairs, 1)))
    start = f"pretrained ({args.backbone})" if args.backbone else "from scratch"
    print(f"{args.profile} VLT, {start}, {args.pairs} training pairs, BatchNorm on batch statistics; per branch and "
          f"stage the cosine between the mixer's output and the stage's own feature (1: kept), median of "
          f"{args.seeds} initialisations")
    for init in ("random", "ones"):
        per_key: dict[tuple[str, int], list[float]] = {}
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            net = VLTNet(dataclasses.replace(trainer.model.config, selector_init=init), candidate=trainer.model.candidate)
            if args.backbone:
                initialise_from_spos(net, args.backbone)
            for row in mixer_feature_change(net, batch):
                per_key.setdefault((row["branch"], row["stage"]), []).append(row["cosine"])
        cells = "  ".join(f"{branch[0]}{stage} {statistics.median(values):.2f}"
                          for (branch, stage), values in per_key.items())
        print(f"  selector_init={init:6s}  {cells}")


if __name__ == "__main__":
    main()
