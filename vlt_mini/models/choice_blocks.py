"""The four choice blocks of the SPOS search space (ShuffleNetV2 units), as the official SPOS supernet builds them.

Reference: Guo et al., "Single Path One-Shot Neural Architecture Search with Uniform Sampling" (ECCV 2020), code
``megvii-model/SinglePathOneShot`` (``src/Supernet/blocks.py``), reused by VLT's official SOTS code
(``lib/models/backbone/SPOS_VLT.py``).

Op indices: 0 = Shuffle 3×3, 1 = Shuffle 5×5, 2 = Shuffle 7×7, 3 = Xception (three depth-wise 3×3 convs).

Every block maps ``inp`` channels to ``oup`` channels in two branches that are concatenated:

- without projection (stride-1 blocks): the input is split in two halves by the channel shuffle (even channels pass
  through, odd channels enter the main branch; ``channel_split``); the main branch makes ``oup - inp`` channels from
  ``inp = oup / 2`` channels.
- with projection (first block of a stage, "mapping" block): both branches see the whole input; the projection branch
  is depth-wise k×k + BN, 1×1 + BN + ReLU and keeps ``inp`` channels; the main branch makes ``oup - inp``.

The official stride-8 tracking backbone keeps the projection branch in the first blocks of stages 3 and 4 but runs
them at stride 1, hence ``stride`` and ``has_projection`` are separate arguments. All BatchNorms are ``affine=False``
like the official supernet. Module indices inside ``branch_main`` / ``branch_proj`` mirror the official
``nn.Sequential`` layout, so official state-dict keys (``branch_main.3.weight`` …) load without renaming.
"""
from __future__ import annotations

import torch
from torch import nn

CHOICE_NAMES = ("Shuffle 3x3", "Shuffle 5x5", "Shuffle 7x7", "Xception")
NUM_CHOICES = len(CHOICE_NAMES)
SHUFFLE_KERNEL_SIZES = (3, 5, 7)  # ops 0, 1, 2


def channel_split(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The official ``channel_shuffle``: returns (even channels, odd channels) of ``x``, each with C/2 channels.

    With the concatenation at the end of the previous block this is ShuffleNetV2's concat + shuffle + split.
    """
    batch, channels, height, width = x.shape
    if channels % 4:
        raise ValueError(f"channel_split needs a channel count divisible by 4 (official assertion), got {channels}")
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return _ChannelsLastSplit.apply(x)
    pairs = x.reshape(batch, channels // 2, 2, height, width)  # (B, C/2, 2, H, W): channel 2i+j at [:, i, j]
    return pairs[:, :, 0], pairs[:, :, 1]


class _ChannelsLastSplit(torch.autograd.Function):
    """``channel_split`` of a channels-last tensor: the even and odd channels as two dense channels-last tensors, and
    a backward that interleaves the two gradients in one write. Indexing a (B, C/2, 2, H, W) view gives the same
    values, but on channels-last tensors it hands strided halves to the convolutions and its backward does two
    full-size zero fills, two strided copies and an add: the ``cpu`` training step was about 5 % slower
    (``benchmarks/bench_training.py --fast-vs-reference``). Autograd passes an unused half's gradient as zeros."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch, channels, height, width = x.shape
        pairs = x.permute(0, 2, 3, 1).reshape(batch, height, width, channels // 2, 2)  # NHWC storage, C split last
        return tuple(pairs[..., j].permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last) for j in (0, 1))

    @staticmethod
    def backward(ctx, grad_even: torch.Tensor, grad_odd: torch.Tensor) -> torch.Tensor:
        batch, half, height, width = grad_even.shape
        pairs = torch.stack((grad_even.permute(0, 2, 3, 1), grad_odd.permute(0, 2, 3, 1)), -1)  # (B, H, W, C/2, 2)
        return pairs.reshape(batch, height, width, 2 * half).permute(0, 3, 1, 2)


def _bn(channels: int, affine: bool) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, affine=affine)


def _depthwise(channels: int, kernel_size: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, kernel_size, stride, kernel_size // 2, groups=channels, bias=False)


def _pointwise(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)


def _projection_branch(inp: int, kernel_size: int, stride: int, affine: bool) -> nn.Sequential:
    # dw k×k + BN, pw + BN + ReLU (official indices 0..4)
    return nn.Sequential(
        _depthwise(inp, kernel_size, stride), _bn(inp, affine),
        _pointwise(inp, inp), _bn(inp, affine), nn.ReLU(inplace=True),
    )


class _ChoiceBlock(nn.Module):
    """Shared forward of both block kinds: split or project, run ``branch_main``, concatenate."""

    branch_main: nn.Sequential
    branch_proj: nn.Sequential | None

    def __init__(self, inp: int, oup: int, mid_channels: int, stride: int, has_projection: bool) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        if stride == 2 and not has_projection:
            raise ValueError("a stride-2 block needs its projection branch (the pass-through half cannot downsample)")
        if has_projection and oup <= inp:
            raise ValueError(f"a projection block needs oup > inp, got inp={inp}, oup={oup}")
        if not has_projection and oup != 2 * inp:
            raise ValueError(f"a block without projection needs oup == 2 * inp, got inp={inp}, oup={oup}")
        self.inp, self.oup, self.mid_channels = inp, oup, mid_channels
        self.stride, self.has_projection = stride, has_projection

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.has_projection:
            return torch.cat((self.branch_proj(x), self.branch_main(x)), 1)
        x_pass, x_main = channel_split(x)  # (B, C/2, H, W) each
        return torch.cat((x_pass, self.branch_main(x_main)), 1)


class ShuffleBlock(_ChoiceBlock):
    """Ops 0–2: main branch 1×1 + BN + ReLU, depth-wise k×k + BN, 1×1 + BN + ReLU (official ``Shufflenet``)."""

    def __init__(self, inp: int, oup: int, mid_channels: int, kernel_size: int, stride: int = 1,
                 has_projection: bool = False, affine: bool = False) -> None:
        super().__init__(inp, oup, mid_channels, stride, has_projection)
        if kernel_size not in SHUFFLE_KERNEL_SIZES:
            raise ValueError(f"kernel_size must be one of {SHUFFLE_KERNEL_SIZES}, got {kernel_size}")
        self.kernel_size = kernel_size
        self.branch_main = nn.Sequential(
            _pointwise(inp, mid_channels), _bn(mid_channels, affine), nn.ReLU(inplace=True),
            _depthwise(mid_channels, kernel_size, stride), _bn(mid_channels, affine),
            _pointwise(mid_channels, oup - inp), _bn(oup - inp, affine), nn.ReLU(inplace=True),
        )
        self.branch_proj = _projection_branch(inp, kernel_size, stride, affine) if has_projection else None


class XceptionBlock(_ChoiceBlock):
    """Op 3: main branch three times (depth-wise 3×3 + BN, 1×1 + BN + ReLU) (official ``Shuffle_Xception``)."""

    def __init__(self, inp: int, oup: int, mid_channels: int, stride: int = 1,
                 has_projection: bool = False, affine: bool = False) -> None:
        super().__init__(inp, oup, mid_channels, stride, has_projection)
        self.kernel_size = 3
        self.branch_main = nn.Sequential(
            _depthwise(inp, 3, stride), _bn(inp, affine),
            _pointwise(inp, mid_channels), _bn(mid_channels, affine), nn.ReLU(inplace=True),
            _depthwise(mid_channels, 3, 1), _bn(mid_channels, affine),
            _pointwise(mid_channels, mid_channels), _bn(mid_channels, affine), nn.ReLU(inplace=True),
            _depthwise(mid_channels, 3, 1), _bn(mid_channels, affine),
            _pointwise(mid_channels, oup - inp), _bn(oup - inp, affine), nn.ReLU(inplace=True),
        )
        self.branch_proj = _projection_branch(inp, 3, stride, affine) if has_projection else None


def make_choice_block(op: int, inp: int, oup: int, stride: int = 1, has_projection: bool = False,
                      affine: bool = False) -> nn.Module:
    """Build choice op ``op`` (0..3) mapping ``inp`` to ``oup`` channels; ``mid_channels = oup // 2`` as in SPOS.

    A stride-1 block inside a stage is ``make_choice_block(op, C // 2, C)``: it receives C channels and splits them.
    """
    if op not in range(NUM_CHOICES):
        raise ValueError(f"op must be one of 0..{NUM_CHOICES - 1} ({', '.join(CHOICE_NAMES)}), got {op!r}")
    mid_channels = oup // 2
    if op == 3:
        return XceptionBlock(inp, oup, mid_channels, stride, has_projection, affine)
    return ShuffleBlock(inp, oup, mid_channels, SHUFFLE_KERNEL_SIZES[op], stride, has_projection, affine)

def sequential_macs(modules: nn.Sequential | list[nn.Module], height: int, width: int) -> tuple[int, int, int]:
    """Multiply-adds of the convolutions / linears in ``modules`` run in order on an (H, W) map; returns (macs, H', W').

    A convolution costs ``C_out * C_in / groups * k_h * k_w`` per output position (so a depth-wise conv costs
    ``C * k_h * k_w``); BatchNorm, ReLU and concatenation are not counted, as in SPOS's FLOPs tables.
    """
    macs = 0
    for module in modules:
        if isinstance(module, nn.Conv2d):
            (k_h, k_w), (s_h, s_w), (p_h, p_w) = module.kernel_size, module.stride, module.padding
            height = (height + 2 * p_h - k_h) // s_h + 1
            width = (width + 2 * p_w - k_w) // s_w + 1
            macs += module.out_channels * (module.in_channels // module.groups) * k_h * k_w * height * width
        elif isinstance(module, nn.Linear):
            macs += module.in_features * module.out_features
    return macs, height, width


def block_macs(block: nn.Module, height: int, width: int) -> tuple[int, int, int]:
    """Multiply-adds of one choice block on an (H, W) input; returns (macs, H', W')."""
    macs, out_h, out_w = sequential_macs(block.branch_main, height, width)
    if block.branch_proj is not None:
        macs += sequential_macs(block.branch_proj, height, width)[0]
    return macs, out_h, out_w
