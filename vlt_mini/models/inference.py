"""An inference copy of one VLT candidate's search branch: BatchNorm folded into the convolutions, no module calls.

Tracking runs the same search branch hundreds of times per video with fixed weights, so the per-frame work can be
cut without changing the function the network computes:

- every BatchNorm that follows a convolution (the supernet's are ``affine=False``, the neck's affine) is folded into
  it: ``W' = W · γ / sqrt(var + ε)``, ``b' = (b − mean) · γ / sqrt(var + ε) + β`` (γ = 1, β = 0 without affine);
- only the candidate's path is kept (one block per layer), as lists of ``(weight, bias, stride, padding, groups,
  relu)`` steps run with ``torch.nn.functional.conv2d`` — no ``nn.Module`` dispatch, no BatchNorm kernels;
- the ModaMixer channel selector ``Linear(f_l)`` depends only on the video's token, so it is computed once per video
  (``prepare``), as are the depth-wise cross-correlation kernels, stacked so that the three levels correlate in
  one grouped convolution;
- the classification and box towers of the CAR head read the same input: their first convolutions become one
  convolution with twice the channels, the later ones grouped convolutions (groups = 2), the GroupNorms one
  GroupNorm with twice the groups; the three output convolutions one grouped convolution. Each is the same map as
  the two towers side by side.

``FoldedSearchBranch(model, candidate).prepare(state)(x)`` returns the ``HeadOutput`` of
``model.forward_search(x, state, candidate)`` up to float rounding (checked in ``tests/test_fast_tracking.py``).
The copy is made from the weights at construction time: build a new one after the weights change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vlt_mini.models.candidate import Candidate
from vlt_mini.models.head import HeadOutput, resample_features
from vlt_mini.models.supernet import STAGE_LAYER_RANGES


class ConvStep(NamedTuple):
    weight: torch.Tensor
    bias: torch.Tensor | None
    stride: int
    padding: int
    groups: int
    relu: bool


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The weight and bias of ``bn(conv(x))`` as one convolution (BatchNorm in eval mode: running statistics)."""
    weight = conv.weight.detach().double()
    bias = conv.bias.detach().double() if conv.bias is not None else None
    if bn is None:
        return weight.float(), None if bias is None else bias.float()
    if bn.running_mean is None:
        raise ValueError("cannot fold a BatchNorm without running statistics (track_running_stats=False)")
    scale = 1.0 / torch.sqrt(bn.running_var.detach().double() + bn.eps)
    shift = -bn.running_mean.detach().double() * scale
    if bn.affine:
        scale, shift = scale * bn.weight.detach().double(), shift * bn.weight.detach().double() + bn.bias.detach().double()
    if bias is not None:
        shift = shift + bias * scale
    return (weight * scale[:, None, None, None]).float(), shift.float()


def fold_sequential(modules: nn.Sequential) -> list[ConvStep]:
    """Conv [+ BN] [+ ReLU] runs of a block's ``nn.Sequential`` -> folded ``ConvStep`` s."""
    steps: list[ConvStep] = []
    layers = list(modules)
    index = 0
    while index < len(layers):
        conv = layers[index]
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"expected a convolution at position {index} of {modules}, got {type(conv).__name__}")
        index += 1
        bn = None
        if index < len(layers) and isinstance(layers[index], nn.BatchNorm2d):
            bn, index = layers[index], index + 1
        relu = index < len(layers) and isinstance(layers[index], nn.ReLU)
        index += int(relu)
        weight, bias = fold_batch_norm(conv, bn)
        steps.append(ConvStep(weight, bias, conv.stride[0], conv.padding[0], conv.groups, relu))
    return steps


def run_steps(x: torch.Tensor, steps: list[ConvStep]) -> torch.Tensor:
    for step in steps:
        x = F.conv2d(x, step.weight, step.bias, step.stride, step.padding, 1, step.groups)
        if step.relu:
            x = torch.relu_(x)
    return x


@dataclass
class FoldedBlock:
    """One choice block: the main branch, and the projection branch of a stage's first block (else a channel split)."""

    main: list[ConvStep]
    projection: list[ConvStep] | None

    @classmethod
    def from_block(cls, block: nn.Module) -> "FoldedBlock":
        projection = fold_sequential(block.branch_proj) if block.branch_proj is not None else None
        return cls(fold_sequential(block.branch_main), projection)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.projection is not None:
            return torch.cat((run_steps(x, self.projection), run_steps(x, self.main)), 1)
        pairs = x.unflatten(1, (x.shape[1] // 2, 2))  # channel_split: even channels pass, odd ones enter the branch
        return torch.cat((pairs[:, :, 0], run_steps(pairs[:, :, 1], self.main)), 1)


class PreparedSearch(NamedTuple):
    """What one video fixes: the selectors of the search ModaMixers and the cross-correlation kernels."""

    selectors: list[torch.Tensor] | None  # (1, C, 1, 1) per stage
    kernels: torch.Tensor                 # (levels * width, 1, k, k): every level's kernels, stacked


class FoldedSearchBranch:
    """The search branch and head of ``model`` for ``candidate`` with folded BatchNorms (see the module docstring)."""

    def __init__(self, model: nn.Module, candidate: Candidate | None = None, channels_last: bool = True,
                 dtype: torch.dtype = torch.float32) -> None:
        from vlt_mini.models.vlt import HEAD_LEVELS

        if model.training:
            raise ValueError("fold a network in eval mode (BatchNorm must use its running statistics)")
        candidate = candidate or model.candidate
        self.model, self.candidate, self.head_levels = model, candidate, HEAD_LEVELS
        backbone = model.backbone
        with torch.no_grad():
            self.stem = fold_sequential(backbone.first_conv)
            path = candidate.search_path
            self.layers = [FoldedBlock.from_block(backbone.features[layer][op]) for layer, op in enumerate(path)]
            self.mixers = None
            if model.config.use_modamixer:
                self.mixers = []
                for stage, mixer in enumerate(model.mixers_for("search")):
                    op = candidate.search_mixer[stage] if mixer.searched_block else 0
                    self.mixers.append((mixer, FoldedBlock.from_block(mixer.blocks[op]), mixer.residual))
            head = model.head
            self.resample_cells = head.config.resample_cells(training=False)  # the official test-time resampling
            self.neck = [fold_sequential(nn.Sequential(layer.conv, layer.bn)) for layer in head.neck.search]
            self.down = fold_sequential(nn.Sequential(head.down))[0]
            self._fold_towers(head.car)
        self.channels_last, self.dtype = channels_last, dtype
        if channels_last or dtype != torch.float32:
            self._convert()

    def _convert(self) -> None:
        """Weights in channels-last layout (oneDNN's depth-wise convolutions run faster on NHWC tensors) and/or in
        ``dtype`` (bfloat16: the CPU's AVX-512 BF16 units, or the GPU's tensor cores)."""
        memory = torch.channels_last if self.channels_last else torch.contiguous_format

        def convert(step: ConvStep) -> ConvStep:
            bias = None if step.bias is None else step.bias.to(self.dtype)
            return step._replace(weight=step.weight.to(self.dtype).contiguous(memory_format=memory), bias=bias)

        blocks = self.layers + ([block for _, block, _ in self.mixers] if self.mixers else [])
        for block in blocks:
            block.main = [convert(s) for s in block.main]
            block.projection = None if block.projection is None else [convert(s) for s in block.projection]
        self.stem = [convert(s) for s in self.stem]
        self.neck = [[convert(s) for s in steps] for steps in self.neck]
        self.down = convert(self.down)
        self.towers = [(convert(conv), groups, gamma.to(self.dtype), beta.to(self.dtype), eps)
                       for conv, groups, gamma, beta, eps in self.towers]
        self.outputs = convert(self.outputs)

    def _fold_towers(self, car: nn.Module) -> None:
        cls_convs = [m for m in car.cls_tower if isinstance(m, nn.Conv2d)]
        box_convs = [m for m in car.bbox_tower if isinstance(m, nn.Conv2d)]
        norms = list(zip([m for m in car.cls_tower if isinstance(m, nn.GroupNorm)],
                         [m for m in car.bbox_tower if isinstance(m, nn.GroupNorm)]))
        self.towers = []
        for index, (cls_conv, box_conv) in enumerate(zip(cls_convs, box_convs)):
            weight = torch.cat((cls_conv.weight, box_conv.weight)).detach().clone()
            bias = torch.cat((cls_conv.bias, box_conv.bias)).detach().clone()
            cls_norm, box_norm = norms[index]
            self.towers.append((ConvStep(weight, bias, 1, 1, 1 if index == 0 else 2, False),
                                cls_norm.num_groups + box_norm.num_groups,
                                torch.cat((cls_norm.weight, box_norm.weight)).detach().clone(),
                                torch.cat((cls_norm.bias, box_norm.bias)).detach().clone(), cls_norm.eps))
        # outputs: group 1 (cls features) -> cls (2) + centerness (1) + one unused zero channel; group 2 -> ltrb (4)
        width = car.cls_logits.in_channels
        device = car.cls_logits.weight.device
        weight = torch.zeros(8, width, 3, 3, device=device)
        bias = torch.zeros(8, device=device)
        weight[0:2], bias[0:2] = car.cls_logits.weight, car.cls_logits.bias
        weight[2:3], bias[2:3] = car.centerness.weight, car.centerness.bias
        weight[4:8], bias[4:8] = car.bbox_pred.weight, car.bbox_pred.bias
        self.outputs = ConvStep(weight, bias, 1, 1, 2, False)

    def prepare(self, state) -> PreparedSearch:
        """Per video: the search ModaMixers' channel selectors from the token, and the kernels as conv weights."""
        with torch.no_grad():
            selectors = None
            if self.mixers is not None:
                selectors = [mixer.channel_selector(state.token).to(self.dtype) for mixer, _, _ in self.mixers]
            for kernel in state.kernels:
                if kernel.shape[0] != 1:
                    raise ValueError(f"the folded search branch tracks one video at a time, got a batch of {kernel.shape[0]}")
            # the levels' depth-wise cross-correlations as one: the kernels of every level stacked along channels
            kernels = torch.cat(state.kernels, 1)  # (1, levels * width, k, k)
            kernels = kernels.reshape(kernels.shape[1], 1, kernels.shape[2], kernels.shape[3]).to(self.dtype)
        return PreparedSearch(selectors, kernels)

    @staticmethod
    def stack(prepared: list[PreparedSearch]) -> PreparedSearch:
        """Several videos' ``prepare`` results as one, to run their search crops as one batch (in this order)."""
        selectors = None
        if prepared[0].selectors is not None:
            selectors = [torch.cat(stage) for stage in zip(*(p.selectors for p in prepared))]
        return PreparedSearch(selectors, torch.cat([p.kernels for p in prepared]))

    def features(self, x: torch.Tensor, prepared: PreparedSearch) -> list[torch.Tensor]:
        f = run_steps(x, self.stem)
        outputs = []
        for stage, (start, stop) in enumerate(STAGE_LAYER_RANGES):
            for layer in range(start, stop - 1):
                f = self.layers[layer](f)
            if self.mixers is None:
                f = self.layers[stop - 1](f)
            else:
                _, block, residual = self.mixers[stage]
                last = self.layers[stop - 1](f) if residual else None
                f = block(f * prepared.selectors[stage])  # Eq. 1
                if last is not None:
                    f = f + last
            outputs.append(f)
        return [outputs[i] for i in self.head_levels]

    def __call__(self, x: torch.Tensor, prepared: PreparedSearch) -> HeadOutput:
        """x (B, 3, S, S) BGR 0–255 -> HeadOutput of the candidate's search branch and head; ``prepared`` from
        ``prepare`` (B = 1) or ``stack`` (one per crop)."""
        x = x.to(self.dtype)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        levels = [resample_features(level, self.resample_cells) for level in self.features(x, prepared)]
        adjusted = torch.cat([run_steps(level, neck) for level, neck in zip(levels, self.neck)], 1)
        batch, channels, height, width = adjusted.shape
        if prepared.kernels.shape[0] != batch * channels:
            raise ValueError(f"{batch} search crops need {batch} videos' kernels, got "
                             f"{prepared.kernels.shape[0] // channels}")
        # each video's kernels correlate its own crop: the batch folded into the channels (pysot's xcorr_depthwise)
        responses = F.conv2d(adjusted.reshape(1, batch * channels, height, width), prepared.kernels,
                             groups=batch * channels)
        responses = responses.reshape(batch, channels, responses.shape[2], responses.shape[3])
        f = F.conv2d(responses, self.down.weight, self.down.bias)
        for conv, groups, gamma, beta, eps in self.towers:
            f = F.conv2d(f, conv.weight, conv.bias, 1, 1, 1, conv.groups)
            f = torch.relu_(F.group_norm(f, groups, gamma, beta, eps))
        out = F.conv2d(f, self.outputs.weight, self.outputs.bias, 1, 1, 1, 2)
        out = out.float()
        return HeadOutput(out[:, 0:2], out[:, 2:3], torch.exp(out[:, 4:8]))
