"""Template and search crops as SiamFC / pysot / SiamCAR make them (docs/official_code.md).

A target of size (w, h) gets a square context region of side ``s_z = sqrt((w + p)(h + p))`` with ``p = 0.5 (w + h)``
("context amount 0.5"), resized to the template size (127); the search region is ``s_x = s_z · 255 / 127`` around the
same centre, resized to 255. Pixels outside the frame take the frame's mean colour. The crop is one affine warp, so
boxes map between frame and crop exactly with ``frame_to_crop`` / ``crop_to_frame``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CONTEXT_AMOUNT = 0.5


def context_side(width: float, height: float, context: float = CONTEXT_AMOUNT) -> float:
    """Side of the square template region: ``sqrt((w + p)(h + p))`` with ``p = context · (w + h)``."""
    pad = context * (width + height)
    return math.sqrt((width + pad) * (height + pad))


@dataclass(frozen=True)
class CropWindow:
    """A region of a frame centred at (cx, cy), ``side`` frame pixels wide (and ``side_y`` high; ``None``: square),
    resized to ``size``² crop pixels. Tracking uses square windows; training's per-axis scale jitter (pysot
    ``_shift_scale_aug``) stretches them."""

    cx: float
    cy: float
    side: float
    size: int
    side_y: float | None = None

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel (horizontally; ``scale_y`` vertically)."""
        return self.size / self.side

    @property
    def scale_y(self) -> float:
        return self.size / (self.side if self.side_y is None else self.side_y)

    def affine(self) -> np.ndarray:
        """The 2×3 matrix mapping frame coordinates to crop coordinates (pixel centres at integers)."""
        sx, sy = self.scale, self.scale_y
        # frame point (cx, cy) -> crop centre ((size - 1) / 2, (size - 1) / 2)
        return np.array([[sx, 0.0, (self.size - 1) / 2 - sx * self.cx],
                         [0.0, sy, (self.size - 1) / 2 - sy * self.cy]], dtype=np.float64)

    def frame_to_crop(self, box_xywh) -> np.ndarray:
        """(x, y, w, h) in the frame -> (x1, y1, x2, y2) in the crop."""
        x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
        sx, sy, c = self.scale, self.scale_y, (self.size - 1) / 2
        return np.array([c + sx * (x - self.cx), c + sy * (y - self.cy), c + sx * (x + w - self.cx),
                         c + sy * (y + h - self.cy)])

    def crop_to_frame(self, box_x1y1x2y2) -> np.ndarray:
        """(x1, y1, x2, y2) in the crop -> (x, y, w, h) in the frame."""
        x1, y1, x2, y2 = np.asarray(box_x1y1x2y2, dtype=np.float64)
        sx, sy, c = self.scale, self.scale_y, (self.size - 1) / 2
        return np.array([self.cx + (x1 - c) / sx, self.cy + (y1 - c) / sy, (x2 - x1) / sx, (y2 - y1) / sy])


def box_center(box_xywh) -> tuple[float, float]:
    x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
    return x + w / 2, y + h / 2


def template_window(box_xywh, template_size: int, context: float = CONTEXT_AMOUNT) -> CropWindow:
    """The template region of a target box: side ``s_z`` around the box centre, resized to ``template_size``."""
    x, y, w, h = np.asarray(box_xywh, dtype=np.float64)
    cx, cy = box_center(box_xywh)
    return CropWindow(cx, cy, context_side(w, h, context), template_size)


def search_window(center: tuple[float, float], target_size: tuple[float, float], template_size: int, search_size: int,
                  context: float = CONTEXT_AMOUNT) -> CropWindow:
    """The search region: side ``s_x = s_z · search_size / template_size`` around ``center``."""
    side = context_side(*target_size, context) * search_size / template_size
    return CropWindow(float(center[0]), float(center[1]), side, search_size)


def crop(image: np.ndarray, window: CropWindow, pad_colour=None) -> np.ndarray:
    """Cut ``window`` out of ``image`` (H, W, 3) and resize it to ``window.size``²; outside pixels get the mean colour."""
    if pad_colour is None:
        pad_colour = image.reshape(-1, image.shape[-1]).mean(axis=0)
    import cv2

    return cv2.warpAffine(image, window.affine(), (window.size, window.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(float(v) for v in pad_colour))


def to_tensor(crop_bgr: np.ndarray):
    """(S, S, 3) uint8 BGR crop -> (1, 3, S, S) float tensor, BGR, values 0–255 (the SPOS input convention)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(crop_bgr.transpose(2, 0, 1))).float()[None]
