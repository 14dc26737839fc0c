"""SiamCAR target assignment and losses: balanced classification, centerness-weighted IoU loss, centerness BCE.

Reference: SiamCAR (CVPR 2020), code ``ohhhyeahhh/SiamCAR`` ``pysot/models/loss_car.py`` (``SiamCARLossComputation``,
``IOULoss``, ``select_cross_entropy_loss``) and ``pysot/utils/location_grid.py`` (``compute_locations``); VLT_SCAR
trains with the same losses (docs/official_code.md):

- score-map cell (i, j) looks at crop pixel (x, y) = (offset + j·stride, offset + i·stride);
- positive if the pixel lies in the central region of the box, farther than 0.3·w from the left and right edges
  and 0.3·h from the top and bottom edges (official: ``l > 0.6·(w/2)`` etc., strict), otherwise negative;
- cls = 0.5·NLL(positives) + 0.5·NLL(negatives) over log-softmax, each averaged over its own cells;
- box = IoU loss on positives weighted by the centerness target: 1 − CIoU by default, as the official VLT code
  (SOTS); SiamCAR's ``-log((I+1)/(U+1))`` (``box_loss="log_iou"``, vlt-mini before issue 13) and 1 − GIoU as options;
- cen = BCE-with-logits against ``sqrt(min(l,r)/max(l,r) · min(t,b)/max(t,b))`` on positives;
- total = 1·cls + 3·box + 1·cen.
Negative pairs (the target is not in the search crop) have no positive cell: they train only the classification,
as negatives (the official code labels them positive by mistake, docs/official_code.md).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F

from vlt_mini.profiles import crop_sizes
from vlt_mini.models.head import HeadOutput

BOX_LOSSES = ("log_iou", "giou", "ciou")


@dataclass
class LossConfig:
    """Target geometry and loss weights. ``location_offset=None`` derives the offset from the crop geometry."""

    search_size: int = 255  # search crop (pixels)
    stride: int = 8  # score-map stride (pixels per cell)
    location_offset: float | None = None  # pixel of cell 0; None: location_offset(search_size, map_size, stride)
    positive_margin: float = 0.3  # positives are farther than margin·w (margin·h) from the box edges
    box_loss: str = "ciou"  # one of BOX_LOSSES: official VLT 1 − CIoU; SiamCAR (and vlt-mini before issue 13) "log_iou"
    iou_smooth: float = 1.0  # SiamCAR's (I + 1) / (U + 1)
    cls_weight: float = 1.0
    box_weight: float = 3.0
    cen_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.box_loss not in BOX_LOSSES:
            raise ValueError(f"LossConfig: box_loss={self.box_loss!r}; choose one of {', '.join(BOX_LOSSES)}")
        if not 0.0 <= self.positive_margin < 0.5:
            raise ValueError(f"LossConfig: positive_margin must be in [0, 0.5), got {self.positive_margin}")
        if self.stride < 1 or self.search_size < 1:
            raise ValueError(f"LossConfig: search_size and stride must be positive, got "
                             f"{self.search_size} and {self.stride}")
        if self.iou_smooth < 0:
            raise ValueError(f"LossConfig: iou_smooth must be >= 0, got {self.iou_smooth}")

    @classmethod
    def for_profile(cls, profile: str) -> "LossConfig":
        return cls(search_size=crop_sizes(profile)[1])


# ----------------------------------------------------------------------------------------------------------------
# Targets


def location_offset(search_size: int, map_size: int, stride: int, exact: bool = False) -> float:
    """Crop pixel of score-map cell 0, with the map centred on the crop.

    In continuous pixel coordinates (pixel k spans [k, k+1)) the crop centre is ``search_size / 2`` and the map
    centre is ``(map_size - 1) / 2`` cells from cell 0, so cell 0 sits at ``(search_size - (map_size-1)·stride) / 2``
    (``exact=True``): 31.5 for 255 / 25 / 8. SiamCAR's training code rounds it half up to the integer 32
    (``compute_locations``: ``+ 32``), the value returned by default. (SiamCAR's tracker truncates it to 31 instead.)
    """
    value = (search_size - (map_size - 1) * stride) / 2.0
    if value < 0:
        raise ValueError(f"a {map_size}-cell score map at stride {stride} is larger than the {search_size}-pixel crop")
    return value if exact else float(math.floor(value + 0.5))


def score_map_locations(map_size: int | Sequence[int], stride: int, search_size: int,
                        offset: float | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Crop pixel (x, y) of every score-map cell: a (H, W, 2) tensor, ``[i, j] = (off_x + j·s, off_y + i·s)``."""
    height, width = (map_size, map_size) if isinstance(map_size, int) else map_size
    off_y = location_offset(search_size, height, stride) if offset is None else offset
    off_x = location_offset(search_size, width, stride) if offset is None else offset
    ys = off_y + stride * torch.arange(height, dtype=torch.float32, device=device)
    xs = off_x + stride * torch.arange(width, dtype=torch.float32, device=device)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y], dim=-1)  # (H, W, 2)


def centerness_target(ltrb: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """sqrt(min(l,r)/max(l,r) · min(t,b)/max(t,b)) along ``dim`` (l, t, r, b); 0 where a distance is not positive."""
    left, top, right, bottom = ltrb.unbind(dim)
    inside = (left > 0) & (top > 0) & (right > 0) & (bottom > 0)
    ratio_x = torch.minimum(left, right) / torch.maximum(left, right).clamp_min(1e-12)
    ratio_y = torch.minimum(top, bottom) / torch.maximum(top, bottom).clamp_min(1e-12)
    return torch.where(inside, (ratio_x * ratio_y).clamp_min(0).sqrt(), torch.zeros_like(left))


class SiamCARTargets(NamedTuple):
    """``labels`` (B, H, W) long (1 target, 0 background), ``ltrb`` (B, 4, H, W) distances from each cell's pixel
    to the box edges (crop pixels; negative outside the box), ``centerness`` (B, H, W) (0 outside the box and for
    negative pairs), ``locations`` (H, W, 2) crop pixels (x, y) of the cells."""

    labels: torch.Tensor
    ltrb: torch.Tensor
    centerness: torch.Tensor
    locations: torch.Tensor


def _check_boxes(gt_boxes: torch.Tensor, is_negative: torch.Tensor | None) -> torch.Tensor:
    if gt_boxes.ndim != 2 or gt_boxes.shape[1] != 4:
        raise ValueError(f"gt_boxes must be (B, 4) x1, y1, x2, y2 in crop pixels, got shape {tuple(gt_boxes.shape)}")
    batch = gt_boxes.shape[0]
    if is_negative is None:
        return torch.zeros(batch, dtype=torch.bool, device=gt_boxes.device)
    is_negative = torch.as_tensor(is_negative, device=gt_boxes.device)
    if is_negative.shape != (batch,):
        raise ValueError(f"is_negative must have shape ({batch},), got {tuple(is_negative.shape)}")
    return is_negative.bool()


def siamcar_targets(gt_boxes: torch.Tensor, is_negative: torch.Tensor | None, map_size: int | Sequence[int],
                    config: LossConfig | None = None) -> SiamCARTargets:
    """Labels, ltrb and centerness targets for boxes ``gt_boxes`` (B, 4) x1y1x2y2 in search-crop pixels.

    ``is_negative`` (B,) marks negative pairs: every cell is background and their box is ignored (it may be NaN).
    """
    config = config if config is not None else LossConfig()
    is_negative = _check_boxes(gt_boxes, is_negative)
    placeholder = torch.tensor([0.0, 0.0, 1.0, 1.0], device=gt_boxes.device)  # negative pairs' boxes are unused
    boxes = torch.where(is_negative[:, None], placeholder, gt_boxes.float())
    valid = torch.isfinite(boxes).all(dim=1) & (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if not bool(valid.all()):
        bad = int((~valid).nonzero()[0, 0])
        raise ValueError(f"gt_boxes[{bad}] = {gt_boxes[bad].tolist()}: need finite x1 < x2 and y1 < y2 "
                         "(mark pairs without the target with is_negative)")
    locations = score_map_locations(map_size, config.stride, config.search_size, config.location_offset,
                                    device=boxes.device)
    xs = locations[None, :, :, 0]  # (1, H, W)
    ys = locations[None, :, :, 1]
    x1, y1, x2, y2 = (boxes[:, k, None, None] for k in range(4))  # each (B, 1, 1)
    ltrb = torch.stack([xs - x1, ys - y1, x2 - xs, y2 - ys], dim=1)  # (B, 4, H, W)
    margin_x = config.positive_margin * (x2 - x1)  # (B, 1, 1)
    margin_y = config.positive_margin * (y2 - y1)
    central = (ltrb[:, 0] > margin_x) & (ltrb[:, 2] > margin_x) & (ltrb[:, 1] > margin_y) & (ltrb[:, 3] > margin_y)
    positive = central & ~is_negative[:, None, None]  # (B, H, W)
    centerness = centerness_target(ltrb) * (~is_negative[:, None, None])
    return SiamCARTargets(positive.long(), ltrb, centerness, locations)


# ----------------------------------------------------------------------------------------------------------------
# Losses


def classification_loss(cls_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """0.5·mean NLL over positive cells + 0.5·mean NLL over negative cells (``select_cross_entropy_loss``).

    ``cls_logits`` (B, 2, H, W), ``labels`` (B, H, W) in {0, 1}. An empty set contributes 0, as officially.
    """
    log_probs = F.log_softmax(cls_logits, dim=1).permute(0, 2, 3, 1).reshape(-1, 2)  # (B*H*W, 2)
    flat = labels.reshape(-1)
    loss = cls_logits.sum() * 0.0  # keeps the graph when a set is empty
    for value in (1, 0):
        selected = flat == value
        if bool(selected.any()):
            loss = loss + 0.5 * F.nll_loss(log_probs[selected], flat[selected])
    return loss


def iou_losses(pred: torch.Tensor, target: torch.Tensor, kind: str = "log_iou", smooth: float = 1.0) -> torch.Tensor:
    """Per-cell IoU loss between (N, 4) ltrb distances measured from the same point.

    ``log_iou``: −log((I + smooth) / (U + smooth)) (SiamCAR ``IOULoss``, smooth 1); ``giou``: 1 − GIoU;
    ``ciou``: 1 − CIoU (IoU − ρ²/c² − α·v, with α held constant as in the CIoU paper). ``smooth`` enters the IoU term.
    """
    if kind not in BOX_LOSSES:
        raise ValueError(f"box loss {kind!r}: choose one of {', '.join(BOX_LOSSES)}")
    p_l, p_t, p_r, p_b = pred.unbind(1)
    t_l, t_t, t_r, t_b = target.unbind(1)
    pred_area = (p_l + p_r) * (p_t + p_b)
    target_area = (t_l + t_r) * (t_t + t_b)
    intersection_w = torch.minimum(p_l, t_l) + torch.minimum(p_r, t_r)
    intersection = intersection_w * (torch.minimum(p_t, t_t) + torch.minimum(p_b, t_b))
    union = pred_area + target_area - intersection
    iou = (intersection + smooth) / (union + smooth)
    if kind == "log_iou":
        return -torch.log(iou)
    eps = 1e-7
    enclose_w = torch.maximum(p_l, t_l) + torch.maximum(p_r, t_r)
    enclose_h = torch.maximum(p_t, t_t) + torch.maximum(p_b, t_b)
    if kind == "giou":
        enclose = enclose_w * enclose_h
        return 1.0 - (iou - (enclose - union) / (enclose + eps))
    # centres relative to the shared point: ((r - l) / 2, (b - t) / 2)
    rho2 = ((p_r - p_l) - (t_r - t_l)) ** 2 / 4.0 + ((p_b - p_t) - (t_b - t_t)) ** 2 / 4.0
    diagonal2 = enclose_w ** 2 + enclose_h ** 2 + eps
    v = (4.0 / math.pi ** 2) * (torch.atan((t_l + t_r) / (t_t + t_b + eps))
                                - torch.atan((p_l + p_r) / (p_t + p_b + eps))) ** 2
    with torch.no_grad():
        alpha = v / (1.0 - iou + v + eps)
    return 1.0 - (iou - rho2 / diagonal2 - alpha * v)


def box_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, kind: str = "log_iou",
             smooth: float = 1.0) -> torch.Tensor:
    """IoU loss averaged with ``weight`` (the centerness target): sum(loss·w) / sum(w); plain mean if sum(w) = 0;
    0 (still on the graph) when there is no cell."""
    if pred.shape[0] == 0:
        return pred.sum() * 0.0
    losses = iou_losses(pred, target, kind, smooth)
    total_weight = weight.sum()
    if float(total_weight) > 0:
        return (losses * weight).sum() / total_weight
    return losses.mean()


def centerness_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean BCE-with-logits of the centerness logits against the centerness target; 0 when there is no cell."""
    if logits.numel() == 0:
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits, target)


def siamcar_loss(output: HeadOutput, gt_boxes: torch.Tensor, is_negative: torch.Tensor | None,
                 config: LossConfig | None = None) -> dict[str, torch.Tensor]:
    """The SiamCAR training loss of a batch: ``dict(total, cls, box, cen)``.

    ``output``: the head's ``HeadOutput`` in training mode; ``gt_boxes`` (B, 4) x1y1x2y2 in search-crop pixels;
    ``is_negative`` (B,) bool, True where the search crop does not contain the template's target (or None).
    """
    config = config if config is not None else LossConfig()
    batch, _, height, width = output.cls.shape
    if gt_boxes.shape[0] != batch:
        raise ValueError(f"gt_boxes has {gt_boxes.shape[0]} rows for a batch of {batch} score maps")
    output = HeadOutput(*(part.float() for part in output))  # fp32 losses under autocast (areas reach 255²·2)
    targets = siamcar_targets(gt_boxes.to(output.cls.device), is_negative, (height, width), config)
    positive = targets.labels.bool()  # (B, H, W)
    cls = classification_loss(output.cls, targets.labels)
    pred_ltrb = output.ltrb.permute(0, 2, 3, 1)[positive]  # (P, 4)
    target_ltrb = targets.ltrb.permute(0, 2, 3, 1)[positive]  # (P, 4)
    target_centerness = targets.centerness[positive]  # (P,)
    box = box_loss(pred_ltrb, target_ltrb, target_centerness, config.box_loss, config.iou_smooth)
    cen = centerness_loss(output.centerness[:, 0][positive], target_centerness)
    total = config.cls_weight * cls + config.box_weight * box + config.cen_weight * cen
    return {"total": total, "cls": cls, "box": box, "cen": cen}
