"""The SiamCAR neck and head: 1×1 adjust layers, depth-wise cross-correlation per level, and the CAR towers.

References: Guo et al., "SiamCAR: Siamese Fully Convolutional Classification and Regression for Visual Tracking"
(CVPR 2020), code ``ohhhyeahhh/SiamCAR`` (``pysot/models/neck/neck.py`` ``AdjustLayer``,
``pysot/models/head/car_head.py`` ``CARHead``, ``pysot/core/xcorr.py`` ``xcorr_depthwise``,
``pysot/models/model_builder.py``), used unchanged by VLT_SCAR (docs/official_code.md):

- neck: per level and per branch a 1×1 conv + BN to the head width (256); the template feature is centre-cropped
  (16×16 -> 8×8, indices 4..12, in training; 7×7 at test);
- at test time the backbone features are first resampled bicubically (``align_corners=False``), template 16 -> 15 and
  search 32 -> 31 (SOTS ``lib/models/sot/siaminference.py``, VLT_SCAR branches of ``template`` and ``track``): on the
  odd 15-cell map the 7×7 kernel is centred on the target and covers the same central half of the template as the 8×8
  kernel in training, and the score map keeps its training size (25). The general rule used here: when the test
  kernel is ``d`` cells smaller than the training kernel, both maps shrink by ``d`` (small profiles: 8 -> 7 and
  16 -> 15 with a 3×3 test kernel, 13×13 maps). ``HeadConfig.test_kernel="cropped"`` keeps the earlier behaviour (the
  7×7 centre of the unresampled map), ``"training"`` uses the training kernel at test;
- depth-wise xcorr of the template kernel ``z`` over the search feature ``x`` per level, the 3 levels concatenated
  (768 ch) and reduced to 256 by a 1×1 layer (official: ``nn.ConvTranspose2d(768, 256, 1, 1)``, which with a 1×1
  kernel and stride 1 is the same map as the ``nn.Conv2d`` used here; only the weight layout differs);
- classification tower and box tower, each 4 × (3×3 conv, GroupNorm(32), ReLU); ``cls`` (2 ch) and ``centerness``
  (1 ch) from the classification tower, ``ltrb`` = exp(bbox_pred) (4 ch) from the box tower;
- init: every tower / output conv normal(std 0.01), bias 0; ``cls`` bias so that the foreground prior is 0.01.

For a 127 template and a 255 search at stride 8 the features are 16×16 and 32×32, the kernel 8×8, the maps 25×25.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vlt_mini.profiles import crop_sizes, profile_settings

TEST_KERNELS = ("resampled", "cropped", "training")


def feature_map_size(image_size: int, stride: int) -> int:
    """Side of the stride-``stride`` feature map of an ``image_size`` crop: each stride-2 layer (k×k, padding k//2)
    maps n to ceil(n / 2); 127 -> 16 and 255 -> 32 at stride 8."""
    if stride < 1 or stride & (stride - 1):
        raise ValueError(f"stride must be a power of 2, got {stride}")
    size = image_size
    for _ in range(int(math.log2(stride))):
        size = (size + 1) // 2
    return size


@dataclass
class HeadConfig:
    """Sizes of the neck and SiamCAR head. ``template_crop=None`` derives half the template feature map (the official
    8×8 of 16×16); ``template_crop_eval=None`` derives ``template_crop - 1`` (the official 7×7 at test).

    ``test_kernel``: how the test-time kernel is made. ``"resampled"`` (official): the backbone features are resampled
    bicubically so that each map loses as many cells as the kernel (16 -> 15, 32 -> 31), then the kernel is the centre
    crop; ``"cropped"``: the centre crop of the unresampled map (vlt-mini before issue 13; what a checkpoint whose
    config lacks this field used); ``"training"``: the training kernel also at test (no resampling).
    """

    width: int = 256  # head width: neck output, xcorr channels per level, tower width
    num_convs: int = 4  # conv-GN-ReLU layers per tower
    gn_groups: int = 32
    template_size: int = 127  # template crop (pixels), for the centre-crop size
    stride: int = 8  # backbone feature stride
    template_crop: int | None = None
    template_crop_eval: int | None = None
    prior_prob: float = 0.01  # foreground prior of the initial cls bias
    init_std: float = 0.01
    test_kernel: str = "resampled"  # one of TEST_KERNELS

    def __post_init__(self) -> None:
        if self.test_kernel not in TEST_KERNELS:
            raise ValueError(f"HeadConfig: test_kernel={self.test_kernel!r}; choose one of {', '.join(TEST_KERNELS)}")
        if self.width < 1 or self.width % self.gn_groups:
            raise ValueError(f"HeadConfig: gn_groups={self.gn_groups} must divide width={self.width}")
        if self.num_convs < 1:
            raise ValueError(f"HeadConfig: num_convs must be >= 1, got {self.num_convs}")
        if not 0.0 < self.prior_prob < 1.0:
            raise ValueError(f"HeadConfig: prior_prob must be in (0, 1), got {self.prior_prob}")
        feature = feature_map_size(self.template_size, self.stride)
        for name in ("template_crop", "template_crop_eval"):
            crop = self.crop_size(training=name == "template_crop")
            if not 1 <= crop <= feature:
                raise ValueError(f"HeadConfig: {name}={crop} must lie in 1..{feature} (the template feature map)")

    @classmethod
    def for_profile(cls, profile: str) -> "HeadConfig":
        return cls(template_size=crop_sizes(profile)[0], **profile_settings(profile, "head"))

    def crop_size(self, training: bool) -> int:
        """Side of the template kernel (template feature centre crop) in training or at test."""
        train = self.template_crop
        if train is None:
            train = feature_map_size(self.template_size, self.stride) // 2
        if training or self.test_kernel == "training":
            return train
        return self.template_crop_eval if self.template_crop_eval is not None else max(1, train - 1)

    def resample_cells(self, training: bool) -> int:
        """How many cells the test-time resampling takes off each backbone map (0 in training and without it)."""
        if training or self.test_kernel != "resampled":
            return 0
        return max(0, self.crop_size(training=True) - self.crop_size(training=False))

    def feature_sizes(self, search_size: int, training: bool) -> tuple[int, int]:
        """Sides of the (resampled) template and search maps the neck sees: (16, 32) in training, (15, 31) at test
        with the official resampling, for 127 / 255 crops at stride 8."""
        cut = self.resample_cells(training)
        return (feature_map_size(self.template_size, self.stride) - cut,
                feature_map_size(search_size, self.stride) - cut)


class HeadOutput(NamedTuple):
    """Raw head outputs on the score map: ``cls`` (B, 2, H, W) logits [background, target], ``centerness``
    (B, 1, H, W) logits, ``ltrb`` (B, 4, H, W) positive distances (crop pixels) to the left/top/right/bottom edges."""

    cls: torch.Tensor
    centerness: torch.Tensor
    ltrb: torch.Tensor


# ----------------------------------------------------------------------------------------------------------------
# Neck


def center_crop_bounds(feature_size: int, crop: int) -> tuple[int, int]:
    """[start, stop) of a centre crop of ``crop`` cells out of ``feature_size``: (4, 12) for 8 of 16, (4, 11) for 7."""
    if not 1 <= crop <= feature_size:
        raise ValueError(f"cannot crop {crop} cells from a {feature_size}-cell template feature map")
    start = (feature_size - crop) // 2
    return start, start + crop


class AdjustLayer(nn.Module):
    """1×1 conv (no bias) + BN from a backbone level to the head width (pysot/SiamCAR ``AdjustLayer``)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, feature: torch.Tensor, crop: int | None = None) -> torch.Tensor:
        out = self.bn(self.conv(feature))
        if crop is None:
            return out
        if out.shape[-1] != out.shape[-2]:
            raise ValueError(f"template feature must be square to centre-crop, got {tuple(out.shape[-2:])}")
        start, stop = center_crop_bounds(out.shape[-1], crop)
        return out[:, :, start:stop, start:stop]  # (B, C, crop, crop)


class SiamCARNeck(nn.Module):
    """One ``AdjustLayer`` per level and per branch (template ``z``, search ``x``); the template is centre-cropped."""

    def __init__(self, in_channels: Sequence[int], config: HeadConfig):
        super().__init__()
        self.config = config
        self.template = nn.ModuleList(AdjustLayer(c, config.width) for c in in_channels)
        self.search = nn.ModuleList(AdjustLayer(c, config.width) for c in in_channels)

    def forward_template(self, z_feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        _check_levels(z_feats, len(self.template), "template features")
        crop = self.config.crop_size(self.training)
        cut = self.config.resample_cells(self.training)
        return [layer(resample_features(z, cut), crop) for layer, z in zip(self.template, z_feats)]

    def forward_search(self, x_feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        _check_levels(x_feats, len(self.search), "search features")
        cut = self.config.resample_cells(self.training)
        return [layer(resample_features(x, cut)) for layer, x in zip(self.search, x_feats)]


def resample_features(feature: torch.Tensor, cut: int) -> torch.Tensor:
    """Bicubic resampling of a (B, C, H, W) backbone map to (H − cut, W − cut), as the official test-time code
    (``F.interpolate(..., mode='bicubic', align_corners=False)``); ``cut=0`` returns the map unchanged."""
    if cut == 0:
        return feature
    height, width = feature.shape[-2:]
    if min(height, width) - cut < 1:
        raise ValueError(f"cannot resample a {height}×{width} feature map to {cut} cells fewer per side")
    return F.interpolate(feature, size=(height - cut, width - cut), mode="bicubic", align_corners=False)


def _check_levels(feats: Sequence[torch.Tensor], expected: int, what: str) -> None:
    if len(feats) != expected:
        raise ValueError(f"{what}: expected {expected} levels, got {len(feats)}")


# ----------------------------------------------------------------------------------------------------------------
# Depth-wise cross-correlation


def xcorr_depthwise(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Correlate each channel of ``kernel`` (B, C, k, k) over the same channel of ``x`` (B, C, H, W) of the same
    sample -> (B, C, H-k+1, W-k+1). One grouped conv with groups = B·C (pysot ``xcorr_depthwise``)."""
    if x.shape[:2] != kernel.shape[:2]:
        raise ValueError(f"xcorr_depthwise: search {tuple(x.shape)} and kernel {tuple(kernel.shape)} "
                         "need the same batch and channels")
    batch, channels = kernel.shape[:2]
    x = x.reshape(1, batch * channels, x.shape[2], x.shape[3])  # (1, B*C, H, W)
    kernel = kernel.reshape(batch * channels, 1, kernel.shape[2], kernel.shape[3])  # (B*C, 1, k, k)
    out = F.conv2d(x, kernel, groups=batch * channels)  # (1, B*C, H', W')
    return out.reshape(batch, channels, out.shape[2], out.shape[3])  # (B, C, H', W')


# ----------------------------------------------------------------------------------------------------------------
# CAR head


def _tower(config: HeadConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(config.num_convs):
        layers += [nn.Conv2d(config.width, config.width, 3, padding=1), nn.GroupNorm(config.gn_groups, config.width),
                   nn.ReLU()]
    return nn.Sequential(*layers)


class CARHead(nn.Module):
    """Classification and box towers on the fused response (SiamCAR ``CARHead``)."""

    def __init__(self, config: HeadConfig):
        super().__init__()
        self.cls_tower = _tower(config)
        self.bbox_tower = _tower(config)
        self.cls_logits = nn.Conv2d(config.width, 2, 3, padding=1)
        self.centerness = nn.Conv2d(config.width, 1, 3, padding=1)
        self.bbox_pred = nn.Conv2d(config.width, 4, 3, padding=1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.normal_(module.weight, std=config.init_std)
                nn.init.constant_(module.bias, 0.0)
        # The official code sets both cls channels to the prior bias -log((1-p)/p); under the 2-way softmax equal
        # biases cancel (initial foreground probability 0.5), kept for fidelity.
        nn.init.constant_(self.cls_logits.bias, -math.log((1.0 - config.prior_prob) / config.prior_prob))

    def forward(self, fused: torch.Tensor) -> HeadOutput:
        cls_features = self.cls_tower(fused)
        ltrb = torch.exp(self.bbox_pred(self.bbox_tower(fused)))  # official: exp, no learnable scale
        return HeadOutput(self.cls_logits(cls_features), self.centerness(cls_features), ltrb)


class SiamCARHead(nn.Module):
    """Neck + depth-wise xcorr per level + 1×1 reduction + CAR towers.

    ``in_channels``: the channels of the backbone levels used (stages 2, 3, 4 of the supernet; 160/320/640 at
    ``paper``). ``forward(z_feats, x_feats)`` takes the lists of template and search backbone features; tracking
    computes ``template_kernels(z_feats)`` once per video and then calls ``forward_with_kernels`` per frame.
    """

    def __init__(self, in_channels: Sequence[int], config: HeadConfig | None = None):
        super().__init__()
        self.config = config if config is not None else HeadConfig()
        self.in_channels = tuple(int(c) for c in in_channels)
        if not self.in_channels:
            raise ValueError("SiamCARHead: in_channels must name at least one backbone level")
        self.neck = SiamCARNeck(self.in_channels, self.config)
        width = self.config.width
        self.down = nn.Conv2d(len(self.in_channels) * width, width, kernel_size=1)  # official ConvTranspose2d 1×1
        self.car = CARHead(self.config)

    def template_kernels(self, z_feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Adjusted, centre-cropped template features: one (B, width, k, k) kernel per level."""
        return self.neck.forward_template(z_feats)

    def forward_with_kernels(self, kernels: Sequence[torch.Tensor], x_feats: Sequence[torch.Tensor]) -> HeadOutput:
        x_adjusted = self.neck.forward_search(x_feats)
        _check_levels(kernels, len(x_adjusted), "template kernels")
        responses = [xcorr_depthwise(x, z) for x, z in zip(x_adjusted, kernels)]  # each (B, width, H, W)
        fused = self.down(torch.cat(responses, dim=1))  # (B, levels*width, H, W) -> (B, width, H, W)
        return self.car(fused)

    def forward(self, z_feats: Sequence[torch.Tensor], x_feats: Sequence[torch.Tensor]) -> HeadOutput:
        return self.forward_with_kernels(self.template_kernels(z_feats), x_feats)
