"""The SPOS supernet (ShuffleNetV2 search space) used as VLT's backbone, at stride 8 for tracking or 32 for ImageNet.

References: SPOS (Guo et al., ECCV 2020; ``megvii-model/SinglePathOneShot``, ``src/Supernet/network.py``) and the
official VLT code (SOTS repository, VLT_SCAR backbone, ``lib/models/backbone/SPOS_VLT.py``); docs/official_code.md.

- stem: 3×3 conv stride 2 to 16 channels + BN + ReLU (no max-pool); 20 choice layers in stages of 4 / 4 / 8 / 4 with
  widths 64 / 160 / 320 / 640 (``paper``); each layer holds the 4 choice ops of ``choice_blocks``; a path picks one
  op per layer (Eq. 2 of VLT samples paths uniformly).
- stride 32 (ImageNet): the first block of every stage has stride 2. Stride 8 (tracking, official VLT): the first
  blocks of stages 3 and 4 run at stride 1 but keep their projection branch, so every parameter shape equals the
  ImageNet supernet's and its checkpoint loads unchanged.
- optional ImageNet tail (``with_classifier``): 1×1 conv to 1024 + BN + ReLU, global average pool, dropout 0.1,
  linear without bias to 1000 classes.

Parameter names mirror the official ones (``first_conv.0.weight``, ``features.7.3.branch_main.5.weight``,
``conv_last.0.weight``, ``classifier.0.weight``); the only renaming when loading is dropping the ``module.`` prefix.
Official weights expect **BGR images in 0–255 without mean/std normalisation** (see ``spos_preprocess``).
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from vlt_mini.profiles import profile_settings
from vlt_mini.models.choice_blocks import CHOICE_NAMES, NUM_CHOICES, block_macs, make_choice_block, sequential_macs

STAGE_REPEATS = (4, 4, 8, 4)
NUM_CHOICE_LAYERS = sum(STAGE_REPEATS)  # 20
# (start, stop) layer indices of each stage: (0, 4), (4, 8), (8, 16), (16, 20)
STAGE_LAYER_RANGES = tuple((sum(STAGE_REPEATS[:i]), sum(STAGE_REPEATS[: i + 1])) for i in range(len(STAGE_REPEATS)))
FIRST_BLOCK_STRIDES = {8: (2, 2, 1, 1), 32: (2, 2, 2, 2)}
# The path SPOS found on ImageNet (SPOS paper; docs/official_code.md): about 323 M multiply-adds and 3.5 M
# parameters at 224×224.
SPOS_IMAGENET_PATH = (2, 1, 0, 1, 2, 0, 2, 0, 2, 0, 2, 3, 0, 0, 0, 0, 3, 2, 3, 3)
SPOS_INPUT_CONVENTION = "BGR channel order, values 0-255, no mean/std normalisation"


@dataclasses.dataclass(frozen=True)
class SupernetConfig:
    """Widths and layout of the supernet; only widths change between profiles (always 20 layers, 4 ops each)."""

    stem_channels: int = 16
    stage_channels: tuple[int, int, int, int] = (64, 160, 320, 640)
    stride: int = 8                # 8: tracking (official VLT); 32: ImageNet layout
    with_classifier: bool = False  # the ImageNet tail, needed only to classify or to match the full checkpoint
    last_channels: int = 1024      # width of ``conv_last`` in the ImageNet tail
    num_classes: int = 1000
    dropout: float = 0.1

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage_channels", tuple(int(c) for c in self.stage_channels))
        if len(self.stage_channels) != len(STAGE_REPEATS):
            raise ValueError(f"stage_channels needs {len(STAGE_REPEATS)} widths, got {self.stage_channels}")
        previous = self.stem_channels
        for stage, channels in enumerate(self.stage_channels):
            if channels % 4 or channels <= previous:
                raise ValueError(
                    f"stage_channels[{stage}] = {channels}: each width must be divisible by 4 (channel split) and "
                    f"larger than the previous one ({previous}), got {self.stage_channels} after stem "
                    f"{self.stem_channels}"
                )
            previous = channels
        if self.stride not in FIRST_BLOCK_STRIDES:
            raise ValueError(f"stride must be one of {sorted(FIRST_BLOCK_STRIDES)}, got {self.stride}")

    @classmethod
    def for_profile(cls, name: str, **overrides: Any) -> "SupernetConfig":
        """``paper``: the official widths; ``tiny`` and ``cpu``: about a quarter of them (``vlt_mini.profiles``)."""
        return dataclasses.replace(cls(**profile_settings(name, "supernet")), **overrides)



# ---------------------------------------------------------------------------------------------------------- paths
def check_path(path: Sequence[int], name: str = "path") -> tuple[int, ...]:
    """Return ``path`` as a tuple of 20 ints in 0..3, or raise a ValueError that says what is wrong."""
    if isinstance(path, (str, bytes)) or not isinstance(path, (Sequence, np.ndarray, torch.Tensor)):
        raise ValueError(f"{name} must be a sequence of {NUM_CHOICE_LAYERS} op indices, got {type(path).__name__}")
    values = list(path.tolist() if isinstance(path, (np.ndarray, torch.Tensor)) else path)
    if len(values) != NUM_CHOICE_LAYERS:
        raise ValueError(
            f"{name} must have {NUM_CHOICE_LAYERS} op indices (one per choice layer), got {len(values)}: {values}"
        )
    for layer, op in enumerate(values):
        if isinstance(op, bool) or not isinstance(op, (int, np.integer)) or not 0 <= op < NUM_CHOICES:
            raise ValueError(
                f"{name}[{layer}] = {op!r}: op indices are ints 0..{NUM_CHOICES - 1} ({', '.join(CHOICE_NAMES)})"
            )
    return tuple(int(op) for op in values)


def sample_path(rng: random.Random | np.random.Generator | int | None = None) -> tuple[int, ...]:
    """A path drawn uniformly (each layer's op independently uniform over the 4 choices), as in SPOS / VLT Eq. 2."""
    if rng is None or isinstance(rng, int):
        rng = random.Random(rng)
    if isinstance(rng, np.random.Generator):
        return tuple(int(op) for op in rng.integers(0, NUM_CHOICES, NUM_CHOICE_LAYERS))
    if isinstance(rng, random.Random):
        return tuple(rng.randrange(NUM_CHOICES) for _ in range(NUM_CHOICE_LAYERS))
    raise TypeError(f"rng must be None, an int seed, random.Random or numpy.random.Generator, got {type(rng).__name__}")


def path_to_str(path: Sequence[int]) -> str:
    """Compact form with stages separated by ``/``: ``2101/2020/20230000/3233``."""
    path = check_path(path)
    return "/".join("".join(str(op) for op in path[start:stop]) for start, stop in STAGE_LAYER_RANGES)


def parse_path(text: str) -> tuple[int, ...]:
    """Inverse of ``path_to_str``; also accepts ``2,1,0,...`` or ``(2, 1, 0, ...)``."""
    digits = [c for c in text if not c.isspace() and c not in "/,()[]|-"]
    if not all(c.isdigit() for c in digits):
        raise ValueError(f"cannot parse path {text!r}: expected 20 digits 0..3, optionally separated by / , or spaces")
    return check_path([int(c) for c in digits], name=f"path {text!r}")


# ------------------------------------------------------------------------------------------------------- network
class SPOSSupernet(nn.Module):
    """SPOS supernet; ``forward(x, path)`` returns the outputs of the four stages for one path of 20 op indices.

    ``SPOSSupernet(profile="paper", stride=8)`` or ``SPOSSupernet(config=SupernetConfig(...))``; keyword arguments
    (``stride``, ``with_classifier`` …) override fields of the profile's config.
    """

    def __init__(self, profile: str | None = None, *, config: SupernetConfig | None = None, **overrides: Any) -> None:
        super().__init__()
        if config is not None and profile is not None:
            raise ValueError("give either profile or config, not both")
        if config is None:
            config = SupernetConfig.for_profile(profile or "paper", **overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        self.config = config
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, config.stem_channels, 3, 2, 1, bias=False),
            nn.BatchNorm2d(config.stem_channels, affine=False),
            nn.ReLU(inplace=True),
        )
        self.features = nn.ModuleList()  # features[layer][op], as the official supernet
        in_channels = config.stem_channels
        for stage, (repeats, out_channels) in enumerate(zip(STAGE_REPEATS, config.stage_channels)):
            for i in range(repeats):
                if i == 0:  # mapping block: projection branch, whole input to both branches
                    inp, stride, projection = in_channels, FIRST_BLOCK_STRIDES[config.stride][stage], True
                else:       # the input is split in halves
                    inp, stride, projection = out_channels // 2, 1, False
                self.features.append(nn.ModuleList(
                    make_choice_block(op, inp, out_channels, stride, projection) for op in range(NUM_CHOICES)
                ))
            in_channels = out_channels
        if config.with_classifier:
            self.conv_last = nn.Sequential(
                nn.Conv2d(in_channels, config.last_channels, 1, 1, 0, bias=False),
                nn.BatchNorm2d(config.last_channels, affine=False),
                nn.ReLU(inplace=True),
            )
            self.globalpool = nn.AdaptiveAvgPool2d(1)  # the official AvgPool2d(7) at 224×224 input
            self.dropout = nn.Dropout(config.dropout)
            self.classifier = nn.Sequential(nn.Linear(config.last_channels, config.num_classes, bias=False))

    # The pieces below let other modules (ModaMixer, VLTNet) run the supernet stage by stage or layer by layer.
    @property
    def out_channels(self) -> tuple[int, ...]:
        return self.config.stage_channels

    @property
    def stage_strides(self) -> tuple[int, ...]:
        """Output stride of each stage: (4, 8, 8, 8) at stride 8, (4, 8, 16, 32) at stride 32."""
        strides, current = [], 2
        for stride in FIRST_BLOCK_STRIDES[self.config.stride]:
            current *= stride
            strides.append(current)
        return tuple(strides)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.first_conv(x)

    def forward_layer(self, layer: int, x: torch.Tensor, op: int) -> torch.Tensor:
        """Run choice layer ``layer`` (0..19) with op ``op`` on ``x``."""
        return self.features[layer][op](x)

    def forward(self, x: torch.Tensor, path: Sequence[int]) -> list[torch.Tensor]:
        """``x`` (B, 3, H, W) -> [stage-1 (B, C1, H/4, W/4), stage-2 .., stage-3 .., stage-4 ..] for ``path``."""
        path = check_path(path)
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"SPOSSupernet expects images of shape (B, 3, H, W), got {tuple(x.shape)}")
        x = self.forward_stem(x)
        stage_outputs = []
        for start, stop in STAGE_LAYER_RANGES:
            for layer in range(start, stop):
                x = self.forward_layer(layer, x, path[layer])
            stage_outputs.append(x)
        return stage_outputs

    def forward_logits(self, x: torch.Tensor, path: Sequence[int]) -> torch.Tensor:
        """ImageNet logits (B, num_classes); needs ``with_classifier=True``."""
        if not self.config.with_classifier:
            raise RuntimeError("this SPOSSupernet has no classifier; build it with with_classifier=True")
        f = self.conv_last(self(x, path)[-1])
        f = self.dropout(self.globalpool(f).flatten(1))  # (B, last_channels)
        return self.classifier(f)

    def path_modules(self, path: Sequence[int]) -> list[nn.Module]:
        """The modules a path uses: stem, its 20 blocks and (if present) the ImageNet tail."""
        path = check_path(path)
        modules = [self.first_conv] + [self.features[layer][op] for layer, op in enumerate(path)]
        if self.config.with_classifier:
            modules += [self.conv_last, self.classifier]
        return modules

    def output_sizes(self, input_size: int | tuple[int, int]) -> list[tuple[int, int]]:
        """(H, W) of the four stage outputs for an input of ``input_size`` (the same for every path)."""
        return _walk_macs(self, SPOS_IMAGENET_PATH, input_size)[1]


# ------------------------------------------------------------------------------------------------ counting
def _walk_macs(model: SPOSSupernet, path: Sequence[int], input_size: int | tuple[int, int]):
    height, width = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    if height < 1 or width < 1:
        raise ValueError(f"input_size must be positive, got {input_size}")
    path = check_path(path)
    macs, height, width = sequential_macs(model.first_conv, height, width)
    sizes = []
    for start, stop in STAGE_LAYER_RANGES:
        for layer in range(start, stop):
            layer_macs, height, width = block_macs(model.features[layer][path[layer]], height, width)
            macs += layer_macs
        sizes.append((height, width))
    if model.config.with_classifier:
        macs += sequential_macs(model.conv_last, height, width)[0] + sequential_macs(model.classifier, 1, 1)[0]
    return macs, sizes


def count_macs(model: SPOSSupernet, path: Sequence[int], input_size: int | tuple[int, int]) -> int:
    """Multiply-adds of ``path`` for one image of ``input_size`` (int or (H, W)), convolutions and linear layers."""
    return _walk_macs(model, path, input_size)[0]


def count_parameters(model: SPOSSupernet, path: Sequence[int]) -> int:
    """Number of parameters ``path`` uses (stem, its 20 blocks, the ImageNet tail if present); BN has none."""
    return sum(p.numel() for module in model.path_modules(path) for p in module.parameters())


# ------------------------------------------------------------------------------------- official checkpoint
def load_spos_checkpoint(
    model: SPOSSupernet, path_or_state_dict: str | Path | Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Load official SPOS supernet weights (a ``.pth`` path or a dict) into ``model``; returns (missing, unexpected).

    Accepts ``{"state_dict": {...}}`` or a bare state dict, with or without the ``module.`` prefix (DataParallel);
    keys are otherwise identical to ours. Keys of the ImageNet tail come back as unexpected when the model has no
    classifier. A key whose shape differs raises a ValueError naming it; only ``profile="paper"`` has official shapes.
    """
    if isinstance(path_or_state_dict, (str, Path)):
        from vlt_mini.io import load_checkpoint

        source, state = str(path_or_state_dict), load_checkpoint(path_or_state_dict)
    else:
        source, state = "state dict", path_or_state_dict
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{source}: expected a state dict (or a dict with 'state_dict'), got {type(state).__name__}")
    ours = model.state_dict()
    loaded, unexpected = {}, []
    for key, value in state.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if name not in ours:
            unexpected.append(key)
            continue
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"{source}: {key!r} is a {type(value).__name__}, not a tensor")
        if value.shape != ours[name].shape:
            raise ValueError(
                f"{source}: {key!r} has shape {tuple(value.shape)} but the model's {name!r} has shape "
                f"{tuple(ours[name].shape)} (official SPOS weights fit only profile='paper'; model widths: "
                f"stem {model.config.stem_channels}, stages {model.config.stage_channels})"
            )
        loaded[name] = value
    model.load_state_dict(loaded, strict=False)
    missing = [name for name in ours if name not in loaded]
    return missing, unexpected


def spos_preprocess(images_rgb_0_1: torch.Tensor) -> torch.Tensor:
    """RGB images in [0, 1] (B, 3, H, W) or (3, H, W) -> the official weights' input: BGR, 0–255, not normalised.

    Crops taken from OpenCV frames (BGR, 0–255), as the trackers make them, already follow this convention.
    """
    if images_rgb_0_1.dim() not in (3, 4) or images_rgb_0_1.shape[-3] != 3:
        raise ValueError(
            f"spos_preprocess expects (B, 3, H, W) or (3, H, W) RGB images, got {tuple(images_rgb_0_1.shape)}"
        )
    if not images_rgb_0_1.is_floating_point():
        raise ValueError(f"spos_preprocess expects a float tensor in [0, 1], got {images_rgb_0_1.dtype}")
    if images_rgb_0_1.numel() and float(images_rgb_0_1.max()) > 1.0 + 1e-6:
        raise ValueError("spos_preprocess expects values in [0, 1]; these exceed 1 (already 0–255?)")
    return images_rgb_0_1.flip(-3) * 255.0  # RGB -> BGR, [0, 1] -> [0, 255]
