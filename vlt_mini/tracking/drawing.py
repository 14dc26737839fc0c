"""Drawing boxes and sentences on frames, and writing annotated videos (MP4 through OpenCV, or GIF)."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from vlt_mini.io import atomic_write_bytes

# BGR colours: ground truth green, then one colour per tracker.
GROUND_TRUTH_COLOUR = (60, 200, 60)
TRACKER_COLOURS = [(40, 40, 230), (230, 120, 30), (200, 60, 200), (30, 200, 230), (120, 120, 120)]


def draw_box(image: np.ndarray, box, colour, thickness: int = 2) -> None:
    """Draw an (x, y, w, h) box in place; NaN or empty boxes are skipped."""
    box = np.asarray(box, dtype=np.float64)
    if not np.all(np.isfinite(box)) or box[2] <= 0 or box[3] <= 0:
        return
    x, y, w, h = box
    cv2.rectangle(image, (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h))), colour, thickness)


def annotate_frame(
    frame: np.ndarray,
    boxes: dict[str, np.ndarray],
    ground_truth: np.ndarray | None = None,
    sentence: str | None = None,
    index: int | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """A copy of ``frame`` (BGR) with the ground truth, each tracker's box, a legend, the frame number and the sentence."""
    image = frame.copy()
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    thickness = max(1, int(round(image.shape[0] / 240)))
    font_scale = max(0.35, image.shape[0] / 900)
    if ground_truth is not None:
        draw_box(image, np.asarray(ground_truth) * scale, GROUND_TRUTH_COLOUR, thickness)
    for (name, box), colour in zip(boxes.items(), TRACKER_COLOURS):
        draw_box(image, np.asarray(box) * scale, colour, thickness)
    legend = ([("ground truth", GROUND_TRUTH_COLOUR)] if ground_truth is not None else []) + list(
        zip(boxes.keys(), TRACKER_COLOURS)
    )
    line_height = int(22 * font_scale / 0.5)
    for row, (name, colour) in enumerate(legend):
        cv2.putText(image, name, (4, line_height * (row + 1)), cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour, 1, cv2.LINE_AA)
    if index is not None:
        text = f"#{index + 1}"
        cv2.putText(image, text, (image.shape[1] - int(60 * font_scale / 0.5), line_height), cv2.FONT_HERSHEY_SIMPLEX,
                    font_scale, (255, 255, 255), 1, cv2.LINE_AA)
    if sentence:
        width_chars = max(20, int(image.shape[1] / (11 * font_scale / 0.5)))
        lines = textwrap.wrap(f'"{sentence}"', width_chars)[:3]
        banner = line_height * len(lines) + 6
        overlay = image.copy()
        cv2.rectangle(overlay, (0, image.shape[0] - banner), (image.shape[1], image.shape[0]), (0, 0, 0), -1)
        image = cv2.addWeighted(overlay, 0.55, image, 0.45, 0)
        for row, line in enumerate(lines):
            y = image.shape[0] - banner + line_height * (row + 1) - 2
            cv2.putText(image, line, (4, y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, (255, 255, 255), 1, cv2.LINE_AA)
    return image


def write_video(frames: Iterable[np.ndarray], path: str | Path, fps: float = 15.0) -> Path:
    """Write BGR frames as ``.gif`` (Pillow, which matplotlib ships with) or ``.mp4`` (OpenCV), atomically."""
    path = Path(path)
    frames = list(frames)
    if not frames:
        raise ValueError(f"no frames to write to {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        import io

        from PIL import Image

        images = [Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)) for frame in frames]
        buffer = io.BytesIO()
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        atomic_write_bytes(path, buffer.getvalue())
        return path
    if suffix == ".mp4":
        temporary = path.with_name(f".{path.stem}.partial.mp4")
        height, width = frames[0].shape[:2]
        writer = cv2.VideoWriter(str(temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        if not writer.isOpened():
            raise RuntimeError(f"OpenCV cannot write MP4 here; write a .gif instead of {path}")
        for frame in frames:
            writer.write(frame)
        writer.release()
        temporary.replace(path)
        return path
    raise ValueError(f"unsupported video format {path.suffix!r} for {path}: use .gif or .mp4")
