"""The tracker interface every tracker implements (baselines, SiamCAR, VLT)."""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Tracker(ABC):
    """Initialise on the first frame with a box and an optional sentence, then return one box per frame.

    Frames are (H, W, 3) uint8 BGR images (OpenCV's convention). Boxes are ``(x, y, w, h)`` in the dataset's pixel
    convention: a tracker answers in the convention of the box it was given.
    """

    name: str = "tracker"
    uses_language: bool = False

    def identity(self) -> dict:
        """What makes this tracker's boxes what they are (recorded in a results folder's ``tracker.json``): its name
        and class, plus, for trained trackers, the weights' digest and the settings."""
        return {"tracker": self.name, "class": f"{type(self).__module__}.{type(self).__qualname__}"}

    @abstractmethod
    def initialize(self, frame: np.ndarray, box: np.ndarray, sentence: str | None = None) -> None:
        """Start tracking the object in ``box`` (x, y, w, h) on ``frame``; ``sentence`` describes it, or is None."""

    @abstractmethod
    def track(self, frame: np.ndarray) -> np.ndarray:
        """The target's box (x, y, w, h) on the next frame, as a float64 array of 4."""


def check_init_box(box, frame_shape: tuple[int, ...], what: str = "initial box") -> np.ndarray:
    """Validate a first-frame box against the frame; a clear error for a zero-size box or one outside the frame."""
    box = np.asarray(box, dtype=np.float64).reshape(-1)
    if box.size != 4 or not np.all(np.isfinite(box)):
        raise ValueError(f"{what} must be 4 finite numbers x,y,w,h; got {box.tolist()}")
    x, y, w, h = box
    height, width = frame_shape[:2]
    if w <= 0 or h <= 0:
        raise ValueError(f"{what} {box.tolist()} has zero or negative size")
    if x + w <= 0 or y + h <= 0 or x >= width or y >= height:
        raise ValueError(f"{what} {box.tolist()} lies outside the {width}x{height} frame")
    return box
