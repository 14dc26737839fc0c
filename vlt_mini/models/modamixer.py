"""ModaMixer (paper Eq. 1) and the tokens that feed it: the sentence embedding, the 0-tensor, the template embedding.

    f_m = Block_ASS(Linear(f_l) ⊙ f_v) + Block_ASS(f_v)                                            (Eq. 1)

- ``f_l`` (B, d): the sentence embedding from BERT (``vlt_mini.models.text_encoder``); ``Linear`` is, as in the official VLT
  code, a 1×1 convolution without bias + BatchNorm per stage mapping d -> C channels, shared by the template and the
  search branch (SOTS ``SPOS_VLT.py`` ``token_map``; ``VLTConfig.shared_mixers=False`` makes one per branch).
- ``⊙``: the C-vector multiplies every spatial position of the vision feature ``f_v`` (B, C, H, W): a channel selector.
- the first ``Block_ASS`` is one of the 4 SPOS choice ops, chosen by the search (ASS) for this stage and branch (one
  set of the 4 blocks per stage serves both branches, as the official ``nlp_layers``); the
  second (the pure-vision "residual" term) is the stage's own searched last block in the official code, so the VLT
  network passes its output in as ``residual``. ``residual=False`` drops the term ("w/o Res", Tab. 5c);
  ``searched_block=False`` keeps a single fixed Shuffle 3×3 block (Tab. 5b).

Videos without a sentence use the "0-tensor" (zeros) or the "template" token (``TemplateToken``: RoIAlign 3×3 of
the template feature inside the target box -> 3×3 valid conv + BN + LeakyReLU(0.1)), computed on the template branch
and reused for the search branch (paper Tab. 4, App. Alg. 1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vlt_mini.models.choice_blocks import NUM_CHOICES, make_choice_block

LANGUAGE_MODES = ("sentence", "0-tensor", "template")
SELECTOR_INITS = ("random", "ones")


class ModaMixer(nn.Module):
    """Eq. 1 for one stage: a language channel selector, then a searched block, plus the residual. One instance
    serves both branches (each passes its own ``op``), or one per branch with ``VLTConfig.shared_mixers=False``."""

    def __init__(self, language_dim: int, channels: int, residual: bool = True, searched_block: bool = True,
                 selector_init: str = "random") -> None:
        super().__init__()
        if selector_init not in SELECTOR_INITS:
            raise ValueError(f"selector_init must be one of {', '.join(SELECTOR_INITS)}, got {selector_init!r}")
        self.language_dim, self.channels = language_dim, channels
        self.residual, self.searched_block = residual, searched_block
        # "Linear" of Eq. 1: a 1×1 conv (no bias) + BN, as the official code does it.
        self.language_projection = nn.Sequential(nn.Conv2d(language_dim, channels, 1, bias=False), nn.BatchNorm2d(channels))
        if selector_init == "ones":
            # Official start ("random"): BN scale 1, shift 0 after a random projection, so every sentence multiplies
            # f_v by its own random-sign pattern, and a mixer copied from a pretrained block adds a scrambled copy of
            # the pretrained feature. "ones": the selector starts at 1 for every channel and sentence (BN scale 0,
            # shift 1); the sentence's part grows from 0 as BN's scale learns.
            nn.init.zeros_(self.language_projection[1].weight)
            nn.init.ones_(self.language_projection[1].bias)
        ops = range(NUM_CHOICES) if searched_block else (0,)  # a fixed Shuffle 3×3 block when not searched
        self.blocks = nn.ModuleList(make_choice_block(op, channels // 2, channels) for op in ops)

    def channel_selector(self, f_l: torch.Tensor) -> torch.Tensor:
        """Linear(f_l): (B, d) -> (B, C, 1, 1), the per-channel weights a sentence puts on the vision feature."""
        if f_l.dim() != 2 or f_l.shape[1] != self.language_dim:
            raise ValueError(f"ModaMixer expects a language token of shape (B, {self.language_dim}), got {tuple(f_l.shape)}")
        return self.language_projection(f_l[:, :, None, None])  # (B, C, 1, 1)

    def forward(self, f_v: torch.Tensor, f_l: torch.Tensor, op: int = 0, residual: torch.Tensor | None = None) -> torch.Tensor:
        """f_v (B, C, H, W), f_l (B, d), the searched op for this block, and Block_ASS(f_v) -> f_m (B, C, H, W)."""
        if not self.searched_block:
            op = 0
        elif not 0 <= op < NUM_CHOICES:
            raise ValueError(f"ModaMixer op must be in 0..{NUM_CHOICES - 1}, got {op}")
        mixed = self.blocks[op](f_v * self.channel_selector(f_l))  # Block_ASS(Linear(f_l) ⊙ f_v)
        if not self.residual:
            return mixed
        if residual is None:
            raise ValueError("this ModaMixer has a residual path: pass residual=Block_ASS(f_v)")
        return mixed + residual


def roi_align(features: torch.Tensor, boxes: torch.Tensor, output_size: int = 3, spatial_scale: float = 1.0,
              sampling_ratio: int = 2) -> torch.Tensor:
    """RoIAlign (He et al., Mask R-CNN) without torchvision: average of bilinear samples in each output bin.

    ``features`` (B, C, H, W), ``boxes`` (B, 4) as x1, y1, x2, y2 in input-image pixels (one box per image, scaled by
    ``spatial_scale`` onto the feature map, pixel centres at integer + 0.5 as in ``aligned=True``) -> (B, C, S, S).
    """
    batch, channels, height, width = features.shape
    boxes = boxes.to(features.dtype) * spatial_scale - 0.5  # (B, 4) in feature-map pixel-centre coordinates
    steps = (torch.arange(output_size * sampling_ratio, device=features.device, dtype=features.dtype) + 0.5) / (
        output_size * sampling_ratio)  # sample positions in [0, 1] of the box
    xs = boxes[:, 0:1] + steps[None] * (boxes[:, 2:3] - boxes[:, 0:1])  # (B, S*r)
    ys = boxes[:, 1:2] + steps[None] * (boxes[:, 3:4] - boxes[:, 1:2])  # (B, S*r)
    grid_x = (xs + 0.5) / width * 2 - 1  # grid_sample's normalised coordinates (align_corners=False)
    grid_y = (ys + 0.5) / height * 2 - 1
    grid = torch.stack(torch.broadcast_tensors(grid_x[:, None, :], grid_y[:, :, None]), dim=-1)  # (B, S*r, S*r, 2)
    samples = F.grid_sample(features, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return F.avg_pool2d(samples, sampling_ratio)  # (B, C, S, S)


class TemplateToken(nn.Module):
    """The "template" language token: RoIAlign 3×3 of the template feature in the target box -> conv -> (B, d).

    The paper describes a C-vector; we make it ``language_dim`` wide so that it stands in for ``f_l`` and goes through
    the same per-stage ``Linear`` of every ModaMixer as a sentence would. It is pooled from the template's stem feature,
    the last template feature computed before the first ModaMixer (so no circular dependency).
    """

    def __init__(self, in_channels: int, language_dim: int, feature_stride: int) -> None:
        super().__init__()
        self.feature_stride = feature_stride
        self.embed = nn.Sequential(
            nn.Conv2d(in_channels, language_dim, 3, bias=False),  # 3×3 valid: (B, C, 3, 3) -> (B, d, 1, 1)
            nn.BatchNorm2d(language_dim),
            nn.LeakyReLU(0.1),
        )

    def forward(self, template_feature: torch.Tensor, template_boxes: torch.Tensor) -> torch.Tensor:
        """template_feature (B, C, H, W), boxes (B, 4) x1, y1, x2, y2 in template-crop pixels -> (B, d)."""
        pooled = roi_align(template_feature, template_boxes, 3, 1.0 / self.feature_stride)  # (B, C, 3, 3)
        return self.embed(pooled).flatten(1)  # (B, d)


def select_language_token(f_l: torch.Tensor | None, has_sentence: torch.Tensor | None, mode: str,
                          template_token: torch.Tensor | None, batch: int, language_dim: int,
                          device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The token each pair feeds to ModaMixer: its sentence embedding where it has one, else the 0-tensor or the
    template token (``mode`` says which stands in for a missing sentence)."""
    if mode not in LANGUAGE_MODES[1:]:
        raise ValueError(f"no-sentence mode must be '0-tensor' or 'template', got {mode!r}")
    if mode == "template":
        if template_token is None:
            raise ValueError("the 'template' mode needs the template token (pass the template box)")
        fallback = template_token
    else:
        fallback = torch.zeros(batch, language_dim, device=device, dtype=dtype)
    if f_l is None:
        return fallback
    if f_l.shape != (batch, language_dim):
        raise ValueError(f"language embeddings must have shape ({batch}, {language_dim}), got {tuple(f_l.shape)}")
    if has_sentence is None:
        has_sentence = f_l.abs().sum(dim=1) > 0
    return torch.where(has_sentence.to(device)[:, None], f_l.to(dtype), fallback)
