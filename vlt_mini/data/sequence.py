"""One video of a tracking benchmark, whatever dataset it comes from (pytracking's ``Sequence``, with language)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

# LaSOT's 14 attributes, in the order of the toolkit's att/<seq>.txt files (docs/datasets.md).
LASOT_ATTRIBUTES = ("IV", "POC", "DEF", "MB", "CM", "ROT", "BC", "VC", "SV", "FOC", "FM", "OV", "LR", "ARC")
LASOT_ATTRIBUTE_NAMES = {
    "IV": "Illumination Variation",
    "POC": "Partial Occlusion",
    "DEF": "Deformation",
    "MB": "Motion Blur",
    "CM": "Camera Motion",
    "ROT": "Rotation",
    "BC": "Background Clutter",
    "VC": "Viewpoint Change",
    "SV": "Scale Variation",
    "FOC": "Full Occlusion",
    "FM": "Fast Motion",
    "OV": "Out-of-View",
    "LR": "Low Resolution",
    "ARC": "Aspect Ratio Change",
}


@dataclass
class Sequence:
    """A video: frame files (loaded lazily), one ground-truth box per frame, visibility, sentence and attributes.

    Boxes are ``(x, y, w, h)`` float64 rows in the dataset's own pixel convention; trackers receive the first box as
    it is and answer in the same convention, as the official toolkits assume.
    """

    name: str
    frame_paths: list[Path]          # empty where only annotations are available (the LaSOT toolkit layout)
    ground_truth: np.ndarray         # (N, 4) float64, x, y, w, h
    visible: np.ndarray              # (N,) bool; False where the target is absent (full occlusion / out of view)
    sentence: str | None = None      # the language description, None where the dataset has none
    attributes: dict[str, bool] = field(default_factory=dict)
    dataset: str = ""
    cover: np.ndarray | None = None  # (N,) int, GOT-10k's cover label 0..8 where available
    # GOT-10k test: only the first frame's box is public (scores come from the evaluation server); ground_truth and
    # visible then hold that one row while frame_paths lists every frame, and len() counts the frames.
    first_box_only: bool = False
    frame_shape: tuple[int, int] | None = field(default=None, repr=False, compare=False)  # (H, W) of the first read
    ground_truth_file: Path | None = field(default=None, repr=False, compare=False)  # for error messages


    def __post_init__(self) -> None:
        self.ground_truth = np.asarray(self.ground_truth, dtype=np.float64).reshape(-1, 4)
        self.visible = np.asarray(self.visible, dtype=bool).reshape(-1)
        if len(self.visible) != len(self.ground_truth):
            raise ValueError(
                f"sequence {self.name}: {len(self.ground_truth)} ground-truth boxes but {len(self.visible)} visibility flags"
            )
        if self.first_box_only:
            if len(self.ground_truth) != 1:
                raise ValueError(f"sequence {self.name}: first_box_only but {len(self.ground_truth)} ground-truth boxes")
        elif self.frame_paths and len(self.frame_paths) != len(self.ground_truth):
            raise ValueError(
                f"sequence {self.name}: {len(self.frame_paths)} frames but {len(self.ground_truth)} ground-truth boxes"
            )

    def __len__(self) -> int:
        return len(self.frame_paths) if self.first_box_only else len(self.ground_truth)

    @property
    def has_frames(self) -> bool:
        return bool(self.frame_paths)

    @property
    def init_box(self) -> np.ndarray:
        return self.ground_truth[0].copy()

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` (0-based) as an (H, W, 3) uint8 BGR image, read from disk now; a truncated or corrupt file,
        or a frame of another size than the first one read, is an error naming the file (``vlt_mini.data.frames``)."""
        from vlt_mini.data.frames import read_frame

        if not self.frame_paths:
            raise FileNotFoundError(f"sequence {self.name} has annotations only, no frames")
        image = read_frame(self.frame_paths[index], self.frame_shape, f"frame {index + 1} of sequence {self.name}")
        if self.frame_shape is None:
            self.frame_shape = tuple(image.shape[:2])
        return image

    def frames(self, read_ahead: int = 0) -> Iterator[np.ndarray]:
        """Every frame in order. ``read_ahead > 0``: a background thread decodes up to that many frames ahead
        (OpenCV releases the GIL while decoding, so on two cores decoding overlaps the tracker's work)."""
        if read_ahead <= 0:
            for index in range(len(self)):
                yield self.frame(index)
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="frame-reader") as reader:
            pending = [reader.submit(self.frame, index) for index in range(min(read_ahead, len(self)))]
            for index in range(len(self)):
                frame = pending.pop(0).result()
                if index + read_ahead < len(self):
                    pending.append(reader.submit(self.frame, index + read_ahead))
                yield frame

    def __repr__(self) -> str:
        sentence = f", sentence={self.sentence!r}" if self.sentence else ""
        return f"Sequence({self.name!r}, {len(self)} frames, dataset={self.dataset!r}{sentence})"
