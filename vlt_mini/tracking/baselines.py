"""Baseline trackers that need no training, so the pipeline and the metrics can be shown before our own tracker exists.

- ``StaticBoxTracker``: answers the first box on every frame (a floor any real tracker must beat).
- ``OpenCVMILTracker``: OpenCV's Multiple Instance Learning tracker (Babenko et al., CVPR 2009), from opencv-python.
"""
from __future__ import annotations

import numpy as np

from vlt_mini.tracking.base import Tracker, check_init_box


class StaticBoxTracker(Tracker):
    """Predicts the initial box on every frame."""

    name = "static"

    def initialize(self, frame: np.ndarray, box: np.ndarray, sentence: str | None = None) -> None:
        self.box = check_init_box(box, frame.shape)

    def track(self, frame: np.ndarray) -> np.ndarray:
        return self.box.copy()


class OpenCVMILTracker(Tracker):
    """OpenCV's MIL tracker; when it reports a failure the previous box is kept (so every frame gets a box).

    Its boxes are reproducible from process to process but not from run to run within one: OpenCV's global RNG is
    seeded at every initialisation, yet some random state inside OpenCV carries over from one MIL tracker to the next,
    so a video's boxes depend on which videos the process tracked before it (and, with ``vlt-mini run --workers``, on
    how the videos were shared out)."""

    name = "mil"

    def initialize(self, frame: np.ndarray, box: np.ndarray, sentence: str | None = None) -> None:
        import cv2

        box = check_init_box(box, frame.shape)
        self.box = box.copy()
        cv2.setRNGSeed(0)  # MIL samples patches with OpenCV's global RNG (see the class docstring)
        self._tracker = cv2.TrackerMIL_create()
        x, y, w, h = box
        # OpenCV wants an integer rectangle of at least one pixel.
        self._tracker.init(frame, (int(round(x)), int(round(y)), max(1, int(round(w))), max(1, int(round(h)))))

    def track(self, frame: np.ndarray) -> np.ndarray:
        found, rect = self._tracker.update(frame)
        if found:
            self.box = np.asarray(rect, dtype=np.float64)
        return self.box.copy()
