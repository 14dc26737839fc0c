"""Tracking one video given on the command line (``vlt-mini track``): a video file or a folder of frames.

Writes ``boxes.txt`` (one ``x,y,w,h`` line per frame, toolkit format) and an annotated video (GIF or MP4) showing the
box and the sentence. Everything is checked before the first frame is tracked, and files are written atomically at
the end, so a bad input never leaves half-written results.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


def parse_box(text: str) -> np.ndarray:
    """``"x,y,w,h"`` (commas, spaces or tabs) -> float array; a clear error otherwise."""
    parts = [p for p in text.replace(",", " ").replace("\t", " ").split() if p]
    try:
        box = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise ValueError(f"--box {text!r}: expected four numbers x,y,w,h") from None
    if box.size != 4:
        raise ValueError(f"--box {text!r}: expected four numbers x,y,w,h, got {box.size}")
    return box


def frame_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no frames ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
    return files


def read_frames(source: str | Path) -> Iterator[np.ndarray]:
    """BGR frames of a video file (any container and codec OpenCV's backends read), a folder of images, or a folder
    with an ``img/`` sub-folder (OTB, LaSOT). Every frame is checked against the first one's size; a truncated or
    corrupt image is an error naming the file (``vlt_mini.data.frames``)."""
    from vlt_mini.data.frames import FrameError, as_bgr, check_frame_size, read_frame

    source = Path(source)
    if source.is_dir():
        folder = source / "img" if (source / "img").is_dir() else source
        shape = None
        for path in frame_files(folder):
            image = read_frame(path, shape)
            shape = shape or image.shape[:2]
            yield image
        return
    if not source.is_file():
        raise FileNotFoundError(f"video not found: {source}")
    capture = cv2.VideoCapture(str(source))
    if not capture.isOpened():
        raise FrameError(f"cannot open video {source}: not a video OpenCV's backends read (container or codec); "
                         "convert it (e.g. `ffmpeg -i VIDEO out.mp4`) or give a folder of its frames")
    try:
        count, shape = 0, None
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            frame = as_bgr(frame, f"{source}, frame {count}")
            check_frame_size(frame, shape, f"{source}, frame {count},")
            shape = shape or frame.shape[:2]
            yield frame
        if count == 0:
            raise FrameError(f"no frames could be decoded from {source} (empty, truncated, or a codec OpenCV lacks); "
                             "convert it (e.g. `ffmpeg -i VIDEO out.mp4`) or give a folder of its frames")
    finally:
        capture.release()


def track_video(tracker, source: str | Path, box, sentence: str | None, out: str | Path,
                video_name: str = "annotated.gif", fps: float = 15.0, progress: bool = True) -> dict:
    """Track ``source`` from ``box`` on its first frame; write ``out/boxes.txt`` and ``out/<video_name>``."""
    from tqdm.auto import tqdm

    from vlt_mini.data.textio import format_boxes
    from vlt_mini.io import atomic_write_text
    from vlt_mini.tracking.base import check_init_box
    from vlt_mini.tracking.drawing import annotate_frame, write_video

    from vlt_mini.io import check_output_folder

    out = check_output_folder(out, create=False)  # an unwritable output fails now, not after tracking the whole video
    frames = read_frames(source)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"no frames in {source}")
    box = check_init_box(box, first.shape, what="--box")
    boxes, annotated = [box.copy()], []
    scale = max(1.0, 320 / first.shape[1])
    tracker.initialize(first, box, sentence)
    annotated.append(annotate_frame(first, {"tracker": box}, None, sentence, 0, scale))
    import time

    started = time.perf_counter()
    for index, frame in enumerate(tqdm(frames, desc="tracking", unit="frame", disable=not progress), start=1):
        boxes.append(np.asarray(tracker.track(frame), dtype=np.float64))
        annotated.append(annotate_frame(frame, {"tracker": boxes[-1]}, None, sentence, index, scale))
    seconds = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    video = write_video(annotated, out / video_name, fps=fps)
    atomic_write_text(out / "boxes.txt", format_boxes(np.array(boxes)))
    return {"frames": len(boxes), "fps": (len(boxes) - 1) / seconds if seconds > 0 else float("nan"),
            "boxes": out / "boxes.txt", "video": video}
