"""``vlt-mini pretrain``: the ImageNet step (paper App. A.3, Tab. 10) on rendered objects, saved as an SPOS file.

VLT does not train its backbone from scratch: it starts from the SPOS supernet trained on ImageNet (uniform path
sampling; Guo et al., "Single Path One-Shot NAS", ECCV 2020), and its argument is that a sentence then selects
channels that already mean something. Here the supernet learns to classify the objects mini-LaSOT draws
(``vlt_mini.data.object_images``: category × colour, 100 classes, with patterns, sizes, poses, lighting, blur and
clutter), with SPOS's recipe at ``paper`` (official ``src/Supernet/train.py``): every iteration one path drawn
uniformly from the 4^20, SGD with momentum 0.9, label smoothing 0.1, a learning rate decaying linearly to 0, weight
decay 4e-5 on kernels, the official initialisation (``spos_initialisation``); the ImageNet tail (1×1 conv, global
pool, dropout, linear without bias) at the profile's widths, in the stride-32 layout (the tracking stride-8 layout has
the same parameters, so the file loads into either).

Why the small profiles learn so slowly (measured at ``cpu`` widths, 64 px; issue 13). Every convolution feeds an
affine-free BatchNorm, so SGD moves a layer by lr · |grad| / |w| radians a step: at initialisation that ratio is 12 for
the first convolution, 1 to 3 in stage 1 and 0.04 in the tail, a 300x spread that one learning rate cannot serve
(at lr 0.2 the stem is re-drawn every step while the tail hardly moves); AdamW, used at ``tiny`` / ``cpu``, moves every
layer at about the same relative rate. Even so, the narrow network learns slowly on one fixed path (the colour alone:
34 % held-out after 200 AdamW iterations of 64, where a plain 5-layer CNN fits its batches after 80), and uniform
path sampling slows it about ten times more (15-17 % after 300-500 iterations): the ops of a layer start as unrelated
random functions, so the channels a layer hands on change meaning with every sampled path, and a random network this
deep decorrelates them further (the colour is linearly readable from 48 % of the stage-1 features at initialisation,
from 14 % of the stage-4 ones). Sampling only the three Shuffle ops, training accuracy after 300 iterations is 22 %
when they start identical (the 3×3 kernel embedded in the 5×5 and 7×7) and 15 % when they start independent.
``benchmarks/bench_pretrain_paths.py`` puts numbers on it (1000 AdamW iterations at 1e-2, held-out): one fixed path
reaches colour 93 %, category 18 %; uniform sampling colour 20 %, category 11 %. SPOS pays for uniform sampling with
150k iterations of 1024 images; a ``cpu`` run (6000 of 64 at 1e-2, chosen on held-out images: 3e-3 learned half as
much, 3e-2 nothing) has 1/400 of that and ends with the colour mostly learned (74 % held-out) but hardly the
category (14 %, chance 10 %).

The file has the official SPOS checkpoint's layout: ``{"state_dict": {"module.<key>": tensor}}`` with our key names
(the official ones), so ``load_spos_checkpoint`` and ``train.backbone_checkpoint`` read ours and the official
ImageNet file the same way. Provenance (profile, seed, iterations, data, held-out top-1, time) sits beside it under
``"vlt_mini"``. To start a tracking training from it, with the paper's backbone learning-rate multiplier and every
ModaMixer block copied from its stage's last block (``initialisation.py``):

    vlt-mini pretrain --profile cpu --out runs/pretrain-cpu
    vlt-mini train --model vlt ... --profile cpu train.backbone_checkpoint=runs/pretrain-cpu/supernet_spos.pth.tar \\
        train.backbone_lr_factor=0.1

Held-out top-1 is measured on images of another seed, for ``eval_paths`` random paths (the path-averaged accuracy of
the supernet), each after BatchNorm recalibration on training images (SPOS evaluates a path that way), and for the
official VLT_SCAR template path.
"""
from __future__ import annotations

import dataclasses
import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vlt_mini.profiles import profile_settings
from vlt_mini.models.supernet import SPOSSupernet, SupernetConfig, sample_path

PRETRAINED_NAME = "supernet_spos.pth.tar"
OPTIMIZERS = ("sgd", "adamw")
INITIALISATIONS = ("spos", "pytorch")


@dataclass
class PretrainConfig:
    """The pretraining recipe (the defaults: ``paper``); ``PretrainConfig.for_profile(name)`` (``vlt_mini.profiles``).
    The network widths are the profile's
    ``SupernetConfig`` (so the file fits that profile's tracking networks)."""

    image_size: int = 128
    train_images: int = 200_000
    val_images: int = 10_000
    iterations: int = 60_000
    batch_size: int = 256
    base_lr: float = 0.5
    optimizer: str = "sgd"          # "sgd": SPOS's (momentum, no Nesterov); "adamw": the small profiles'
    warmup_iterations: int = 0      # linear warm-up from 0, then SPOS's linear decay to 0
    initialisation: str = "spos"    # "spos": the official supernet's; "pytorch": PyTorch's layer defaults
    momentum: float = 0.9
    weight_decay: float = 4e-5
    label_smoothing: float = 0.1
    eval_paths: int = 3
    bn_batches: int = 10
    log_every: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        counts = ("image_size", "train_images", "val_images", "iterations", "batch_size", "eval_paths", "log_every")
        bad = [name for name in counts if getattr(self, name) < 1]
        if (bad or self.image_size < 32 or self.base_lr <= 0 or self.bn_batches < 0
                or not 0 <= self.warmup_iterations < self.iterations):
            raise ValueError(f"PretrainConfig: need positive {', '.join(counts)}, image_size >= 32, base_lr > 0, "
                             f"bn_batches >= 0, 0 <= warmup_iterations < iterations (got {dataclasses.asdict(self)})")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"PretrainConfig.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.initialisation not in INITIALISATIONS:
            raise ValueError(f"PretrainConfig.initialisation must be one of {', '.join(INITIALISATIONS)}, "
                             f"got {self.initialisation!r}")

    @classmethod
    def for_profile(cls, profile: str, **overrides) -> "PretrainConfig":
        return dataclasses.replace(cls(**profile_settings(profile, "pretrain")), **overrides)


def _batches(images: np.ndarray, labels: np.ndarray, batch_size: int, rng: np.random.Generator):
    """Endless shuffled batches: (B, 3, S, S) float BGR 0–255 (the SPOS input convention) and labels."""
    while True:
        order = rng.permutation(len(images))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start:start + batch_size]
            yield (torch.from_numpy(images[index]).permute(0, 3, 1, 2).float(),
                   torch.from_numpy(labels[index]).long())


def _learning_rate(config: PretrainConfig, iteration: int) -> float:
    """SPOS: linear decay from ``base_lr`` to 0 over the run, after an optional linear warm-up from 0."""
    warmup = min(1.0, (iteration + 1) / config.warmup_iterations) if config.warmup_iterations else 1.0
    return config.base_lr * warmup * (1.0 - iteration / config.iterations)


@torch.no_grad()
def spos_initialisation(model: nn.Module) -> None:
    """The official supernet's ``_initialize_weights`` (SPOS ``src/Supernet/network.py``): the first convolution
    N(0, 0.01), every other convolution N(0, 1 / weight.shape[1]) (1 / input channels; 1 for a depth-wise one), the
    classifier N(0, 0.01). Every convolution here feeds a BatchNorm, so this sets each layer's weight norm, hence its
    effective SGD step (lr / |w|^2), not the function the network computes."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, 0.0, 0.01 if name.startswith("first_conv") else 1.0 / module.weight.shape[1])
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.01)
        if getattr(module, "bias", None) is not None and isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.zeros_(module.bias)


def _optimizer(model: nn.Module, config: PretrainConfig) -> torch.optim.Optimizer:
    """SPOS's SGD (momentum, weight decay on weight matrices and kernels only) or AdamW with the same groups."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.base_lr)
    return torch.optim.SGD(groups, lr=config.base_lr, momentum=config.momentum)


@torch.no_grad()
def recalibrate(model: SPOSSupernet, path, images: np.ndarray, batches: int, batch_size: int) -> None:
    """SPOS's BatchNorm recalibration for one path: reset the statistics, average them over training batches."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    rng = np.random.default_rng(0)
    for _ in range(batches):
        index = rng.choice(len(images), size=min(batch_size, len(images)), replace=False)
        model.forward_logits(torch.from_numpy(images[index]).permute(0, 3, 1, 2).float(), path)
    for norm in norms:
        norm.momentum = 0.1
    model.eval()


@torch.no_grad()
def top1(model: SPOSSupernet, path, images: np.ndarray, labels: np.ndarray, batch_size: int = 256) -> dict:
    """Held-out accuracy of one path: the joint class, and the category and colour read off it."""
    from vlt_mini.data.object_images import split_label

    model.eval()
    predictions = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(images[start:start + batch_size]).permute(0, 3, 1, 2).float()
        predictions.append(model.forward_logits(batch, path).argmax(dim=1).numpy())
    predicted = np.concatenate(predictions)
    category, colour = split_label(predicted)
    true_category, true_colour = split_label(labels)
    return {"top1": float((predicted == labels).mean()), "category": float((category == true_category).mean()),
            "colour": float((colour == true_colour).mean())}


def pretrain_supernet(out_dir: str | Path, profile: str = "tiny", config: PretrainConfig | None = None,
                      progress: bool = True) -> Path:
    """Train the profile's SPOS supernet as a classifier of rendered objects and write ``out_dir/supernet_spos.pth.tar``
    (official SPOS layout) and ``out_dir/pretrain.json`` (recipe, held-out top-1, time); returns the file. A folder
    that already holds the file is reused."""
    from vlt_mini.data.object_images import NUM_CLASSES, render_object_images
    from vlt_mini.io import atomic_torch_save, atomic_write_text
    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE

    out_dir = Path(out_dir)
    final = out_dir / PRETRAINED_NAME
    if final.is_file():
        return final
    config = config or PretrainConfig.for_profile(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    train = render_object_images(config.train_images, config.image_size, seed=2 * config.seed)
    held_out = render_object_images(config.val_images, config.image_size, seed=2 * config.seed + 1)
    render_seconds = time.perf_counter() - started

    torch.manual_seed(config.seed)
    network = SupernetConfig.for_profile(profile, stride=32, with_classifier=True, num_classes=NUM_CLASSES)
    model = SPOSSupernet(config=network)
    if config.initialisation == "spos":
        spos_initialisation(model)
    optimizer = _optimizer(model, config)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    batches = _batches(train.images, train.labels, config.batch_size, np.random.default_rng(config.seed))
    log = []
    model.train()
    for iteration in range(config.iterations):
        path = sample_path(random.Random(f"pretrain:{config.seed}:{iteration}"))  # uniform, as SPOS
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, iteration)
        images, labels = next(batches)
        loss = criterion(model.forward_logits(images, path), labels)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise RuntimeError(f"pretraining diverged at iteration {iteration}: loss {value}; lower base_lr")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if (iteration + 1) % config.log_every == 0 or iteration + 1 == config.iterations:
            log.append({"iteration": iteration + 1, "loss": value, "lr": _learning_rate(config, iteration)})
            if progress:
                print(f"pretrain {iteration + 1}/{config.iterations}: loss {value:.3f}", flush=True)
    train_seconds = time.perf_counter() - started - render_seconds

    weights = {k: v.clone() for k, v in model.state_dict().items()}  # the running statistics of the uniform training
    paths = {f"random {i + 1}": sample_path(random.Random(f"pretrain-eval:{config.seed}:{i}"))
             for i in range(config.eval_paths)}
    paths["VLT_SCAR template path"] = VLT_SCAR_CANDIDATE.template_path
    scores = {}
    for name, path in paths.items():
        model.load_state_dict(weights)
        if config.bn_batches:
            recalibrate(model, path, train.images, config.bn_batches, config.batch_size)
        scores[name] = top1(model, path, held_out.images, held_out.labels)
    model.load_state_dict(weights)
    random_scores = [s for name, s in scores.items() if name.startswith("random")]
    summary = {key: float(np.mean([s[key] for s in random_scores])) for key in ("top1", "category", "colour")}
    record = {"profile": profile, "recipe": dataclasses.asdict(config), "network": dataclasses.asdict(network),
              "classes": NUM_CLASSES, "label": "category * 10 + colour (vlt_mini.data.object_images)",
              "held_out_mean_over_random_paths": summary, "held_out_per_path": scores,
              "chance_top1": 1.0 / NUM_CLASSES, "seconds": {"render": render_seconds, "train": train_seconds,
                                                            "total": time.perf_counter() - started},
              "threads": torch.get_num_threads(), "log": log}
    checkpoint = {"state_dict": {f"module.{k}": v for k, v in weights.items()},
                  "vlt_mini": json.loads(json.dumps({k: record[k] for k in ("profile", "recipe", "network", "classes",
                                                                            "held_out_mean_over_random_paths")}))}
    atomic_torch_save(checkpoint, final)
    atomic_write_text(out_dir / "pretrain.json", json.dumps(record, indent=2) + "\n")
    return final


# ---------------------------------------------------------------------------------------------- command line
