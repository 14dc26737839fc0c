"""Reading one frame strictly: a truncated or corrupt image, or a frame of another size than the video's first, is an
error naming the file, never a grey-filled image tracked in silence (OpenCV's decoders only print a warning).

Every frame comes out as an (H, W, 3) uint8 BGR image: grayscale frames are expanded to three equal channels, an
alpha channel is dropped (BGRA -> BGR), 16-bit frames are scaled to 8 bits; other layouts are refused.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

JPEG_START, JPEG_END = b"\xff\xd8", b"\xff\xd9"
PNG_START, PNG_END = b"\x89PNG\r\n\x1a\n", b"IEND\xaeB`\x82"


class FrameError(ValueError):
    """A frame that cannot be read, is truncated, or does not match the video's size."""


def check_complete(path: Path, data: bytes) -> None:
    """JPEG must end with its end-of-image marker, PNG with its IEND chunk (trailing padding allowed)."""
    if not data:
        raise FrameError(f"frame {path} is empty (0 bytes); re-extract or re-download it")
    tail = data[-64:].rstrip(b"\x00\r\n ")
    if data.startswith(JPEG_START) and not tail.endswith(JPEG_END):
        raise FrameError(f"frame {path} is a truncated or corrupt JPEG (no end-of-image marker); re-extract or "
                         "re-download it")
    if data.startswith(PNG_START) and not tail.endswith(PNG_END):
        raise FrameError(f"frame {path} is a truncated or corrupt PNG (no IEND chunk); re-extract or re-download it")


def as_bgr(image: np.ndarray, where: str) -> np.ndarray:
    """Any decoded image -> (H, W, 3) uint8 BGR, explicitly per layout."""
    import cv2

    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise FrameError(f"{where}: unsupported pixel type {image.dtype} (8- or 16-bit images only)")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise FrameError(f"{where}: unsupported image layout {image.shape} (grayscale, BGR or BGRA expected)")


def read_frame(path: str | Path, expected_shape: tuple[int, int] | None = None, what: str = "") -> np.ndarray:
    """Frame file -> (H, W, 3) uint8 BGR; a FrameError naming the file if it is missing, unreadable, truncated, or
    (with ``expected_shape`` = (H, W) of the video's first frame) of another size."""
    import cv2

    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"frame not found: {path}") from None
    check_complete(path, data)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise FrameError(f"cannot read frame {path}: not an image OpenCV decodes, or corrupt; re-extract or re-download it")
    image = as_bgr(image, f"frame {path}")
    check_frame_size(image, expected_shape, f"frame {path}" + (f" ({what})" if what else ""))
    return image


def check_frame_size(image: np.ndarray, expected_shape: tuple[int, int] | None, where: str) -> None:
    if expected_shape is not None and tuple(image.shape[:2]) != tuple(expected_shape):
        height, width = image.shape[:2]
        raise FrameError(f"{where} is {width}x{height} pixels but the video's first frame is "
                         f"{expected_shape[1]}x{expected_shape[0]}; every frame of a video must have the same size "
                         "(boxes are in the first frame's coordinates): resize or re-extract the frames")
