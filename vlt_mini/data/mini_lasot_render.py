"""Drawing mini-LaSOT frames: object shapes, named colours, surface patterns, backgrounds, occluders, compositing.

Everything here is pure drawing with OpenCV and numpy; *what* is drawn where (trajectories, occluder placement,
sentences) is decided in ``mini_lasot_scene``. Conventions: images are BGR; pixel centres sit at integer coordinates
(OpenCV's convention), so a pixel ``i`` covers ``[i - 0.5, i + 0.5]``; polygons are filled with 4 fractional bits
(``shift=4``) and anti-aliased edges, so objects move and scale smoothly by sub-pixel amounts.

Layers are premultiplied: ``colour`` already holds ``colour * alpha`` and a layer is composited with
``frame = frame * (1 - alpha) + colour``; blurring a premultiplied layer (motion blur, defocus) is then correct.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

CATEGORIES = ("ball", "cube", "star", "triangle", "ring", "cross", "heart", "diamond", "car", "bird")
# Named palette (BGR). Background colours are kept desaturated so that these words stay true of the objects.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (40, 40, 215),
    "green": (60, 170, 40),
    "blue": (215, 95, 25),
    "yellow": (40, 215, 235),
    "orange": (20, 130, 245),
    "purple": (150, 45, 135),
    "white": (242, 242, 242),
    "black": (28, 28, 28),
    "pink": (195, 135, 250),
    "cyan": (225, 215, 45),
}
PATTERNS = ("plain", "striped", "dotted", "checkered")
# Object diameter relative to the profile's nominal size. The twin rule keeps "small" < "large" at every scale:
# small * 1.33 < large * 0.75 (the per-object scale stays within [0.75, 1.33]).
SIZE_FACTORS = {"small": 0.62, "medium": 1.0, "large": 1.42}
# Shapes that look the same after an in-plane rotation when plain (rotation is then not a visible challenge).
ROTATION_SYMMETRIC = ("ball", "ring")

_DARK = np.array([30.0, 30.0, 34.0], dtype=np.float32)


def _circle(cx: float, cy: float, radius: float, points: int = 48) -> np.ndarray:
    angle = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    return np.stack([cx + radius * np.cos(angle), cy + radius * np.sin(angle)], axis=1)


def _ellipse(cx: float, cy: float, rx: float, ry: float, points: int = 48) -> np.ndarray:
    angle = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    return np.stack([cx + rx * np.cos(angle), cy + ry * np.sin(angle)], axis=1)


@lru_cache(maxsize=None)
def shape_groups(category: str) -> tuple[tuple[np.ndarray, ...], ...]:
    """The outline of ``category`` in unit object coordinates (x right, y down, within [-1, 1]).

    A shape is a tuple of groups; each group is filled with one ``cv2.fillPoly`` call (so a group of two contours,
    like the ring's, has a hole) and groups are unioned. Cars and birds face right (+x).
    """
    if category == "ball":
        return ((_circle(0, 0, 1.0, 64),),)
    if category == "cube":  # isometric cube: hexagon with a vertex on top
        angle = np.deg2rad(np.arange(-90, 270, 60))
        return ((np.stack([np.cos(angle), np.sin(angle)], axis=1),),)
    if category == "star":
        angle = np.deg2rad(np.arange(-90, 270, 36))
        radius = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        return ((np.stack([radius * np.cos(angle), radius * np.sin(angle) + 0.1], axis=1),),)
    if category == "triangle":
        angle = np.deg2rad([-90, 30, 150])
        return ((np.stack([np.cos(angle) * 1.1, np.sin(angle) * 1.1 + 0.22], axis=1),),)
    if category == "ring":
        return ((_circle(0, 0, 1.0, 64), _circle(0, 0, 0.55, 64)),)
    if category == "cross":
        a, b = 0.32, 1.0
        return ((np.array([[-a, -b], [a, -b], [a, -a], [b, -a], [b, a], [a, a], [a, b], [-a, b], [-a, a], [-b, a],
                           [-b, -a], [-a, -a]], dtype=np.float64),),)
    if category == "heart":
        t = np.linspace(0.0, 2.0 * np.pi, 64, endpoint=False)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        return ((np.stack([x / 17.0, (y + 2.5) / 15.5], axis=1),),)
    if category == "diamond":
        return ((np.array([[0, -1.0], [0.62, 0], [0, 1.0], [-0.62, 0]], dtype=np.float64),),)
    if category == "car":
        body = np.array([[-1.0, -0.12], [0.72, -0.16], [1.0, 0.04], [1.0, 0.3], [-1.0, 0.3]])
        cabin = np.array([[-0.55, -0.14], [-0.32, -0.56], [0.32, -0.56], [0.6, -0.14]])
        return ((body,), (cabin,), (_circle(-0.55, 0.32, 0.23),), (_circle(0.55, 0.32, 0.23),))
    if category == "bird":
        body = _ellipse(-0.1, 0.12, 0.62, 0.36)
        head = _circle(0.55, -0.18, 0.26)
        beak = np.array([[0.74, -0.27], [1.0, -0.16], [0.74, -0.07]])
        tail = np.array([[-0.55, 0.05], [-1.0, -0.22], [-0.95, 0.3]])
        wing = np.array([[-0.42, 0.02], [0.22, 0.0], [-0.25, -0.8]])
        return ((body,), (head,), (beak,), (tail,), (wing,))
    raise ValueError(f"unknown category {category!r}; choose one of {', '.join(CATEGORIES)}")


def pattern_colour(colour: np.ndarray) -> np.ndarray:
    """The secondary colour of stripes / dots / checks: a dark shade of light colours, a light tint of dark ones."""
    luminance = 0.114 * colour[0] + 0.587 * colour[1] + 0.299 * colour[2]
    return colour * 0.35 if luminance > 120 else colour + 0.62 * (255.0 - colour)


@dataclass
class Appearance:
    """What an object looks like: the words a sentence may use about it."""

    category: str
    colour: str
    pattern: str


@dataclass
class Layer:
    """A premultiplied RGBA patch placed at integer frame position (x0, y0); ``mask`` is the unblurred alpha."""

    x0: int
    y0: int
    colour: np.ndarray   # (h, w, 3) float32, premultiplied
    alpha: np.ndarray    # (h, w) float32 in [0, 1], what is composited (blurred if blur was applied)
    mask: np.ndarray     # (h, w) float32 in [0, 1], the object's sharp silhouette (ground truth comes from it)

    @property
    def shape(self) -> tuple[int, int]:
        return self.alpha.shape


def _pattern_weight(pattern: str, u: np.ndarray, v: np.ndarray, pixels_per_unit: float) -> np.ndarray:
    """Fraction (anti-aliased, 0..1) of each pixel covered by the secondary colour of ``pattern``."""
    if pattern == "plain":
        return np.zeros_like(u)
    period = 0.5
    if pattern == "striped":  # bands of 40 % duty along the object's x axis
        s = np.sin(2.0 * np.pi * u / period)
        return np.clip(0.5 + (s - 0.3) * pixels_per_unit * period / (4.0 * np.pi), 0.0, 1.0)
    if pattern == "checkered":
        s = np.sin(np.pi * u / (period * 1.1)) * np.sin(np.pi * v / (period * 1.1))
        return np.clip(0.5 + s * pixels_per_unit * period / (2.0 * np.pi), 0.0, 1.0)
    if pattern == "dotted":
        du = u - period * np.round(u / period)
        dv = v - period * np.round(v / period)
        distance = np.sqrt(du * du + dv * dv)
        return np.clip((0.14 - distance) * pixels_per_unit + 0.5, 0.0, 1.0)
    raise ValueError(f"unknown pattern {pattern!r}; choose one of {', '.join(PATTERNS)}")


def _surface(appearance: Appearance, u: np.ndarray, v: np.ndarray, pixels_per_unit: float) -> np.ndarray:
    """The object's colour at object coordinates (u, v): base colour, pattern, simple shading and parts."""
    base = np.array(COLOURS[appearance.colour], dtype=np.float32)
    weight = _pattern_weight(appearance.pattern, u, v, pixels_per_unit)[..., None]
    colour = base * (1.0 - weight) + pattern_colour(base) * weight
    category = appearance.category
    if category == "ball":  # sphere-like highlight from the upper left
        shade = 1.12 - 0.32 * ((u + 0.35) ** 2 + (v + 0.35) ** 2)
    elif category == "cube":  # three faces of one hue and different brightness
        angle = np.degrees(np.arctan2(v, u))
        shade = np.where((angle > -150) & (angle < -30), 1.12, np.where((angle >= -30) & (angle < 90), 0.72, 0.9))
    else:
        shade = 1.06 - 0.06 * (u + v)
    colour = colour * np.clip(shade, 0.5, 1.25)[..., None]
    if category == "car":  # windows and wheels
        window = (v > -0.47) & (v < -0.2) & (u > -0.36) & (u < 0.44) & ~((u > -0.02) & (u < 0.06))
        colour = np.where(window[..., None], np.float32([200, 185, 160]), colour)
        wheel = np.minimum((u + 0.55) ** 2 + (v - 0.32) ** 2, (u - 0.55) ** 2 + (v - 0.32) ** 2)
        colour = np.where((wheel < 0.23 ** 2)[..., None], _DARK, colour)
        colour = np.where((wheel < 0.08 ** 2)[..., None], np.float32([150, 150, 150]), colour)
    elif category == "bird":  # dark beak and eye
        beak = (u > 0.74) & (np.abs(v + 0.17) < 0.11 * (1.0 - (u - 0.74) / 0.26) + 0.01)
        eye = (u - 0.62) ** 2 + (v + 0.24) ** 2 < 0.065 ** 2
        colour = np.where((beak | eye)[..., None], _DARK, colour)
    return np.clip(colour, 0.0, 255.0).astype(np.float32)


def render_object(appearance: Appearance, centre: tuple[float, float], radius: float, angle: float,
                  scale_x: float, scale_y: float) -> Layer | None:
    """Draw one object: unit shape -> rotate by ``angle`` (radians) after scaling by (``scale_x``, ``scale_y``)
    times ``radius`` pixels, centred at ``centre``. A negative ``scale_x`` mirrors the object (viewpoint change).

    The patch is not clipped to the frame, so that the full silhouette (for the ground-truth box and the in-view
    fraction) is known even when the object is partly out of view.
    """
    cos, sin = np.cos(angle), np.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.diag([scale_x * radius, scale_y * radius])
    groups = [[contour @ transform.T + np.asarray(centre) for contour in group]
              for group in shape_groups(appearance.category)]
    points = np.concatenate([contour for group in groups for contour in group])
    x0, y0 = int(np.floor(points[:, 0].min())) - 2, int(np.floor(points[:, 1].min())) - 2
    x1, y1 = int(np.ceil(points[:, 0].max())) + 3, int(np.ceil(points[:, 1].max())) + 3
    if x1 - x0 > 4000 or y1 - y0 > 4000:
        raise ValueError(f"object too large to draw: {x1 - x0}x{y1 - y0} px")
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    for group in groups:
        contours = [np.round((contour - (x0, y0)) * 16.0).astype(np.int32) for contour in group]
        cv2.fillPoly(mask, contours, 255, cv2.LINE_AA, 4)
    dx = (np.arange(x0, x1, dtype=np.float32) - np.float32(centre[0]))[None, :]  # (1, w)
    dy = (np.arange(y0, y1, dtype=np.float32) - np.float32(centre[1]))[:, None]  # (h, 1)
    (a, b), (c, d) = transform
    determinant = a * d - b * c
    u = (np.float32(d / determinant) * dx) + np.float32(-b / determinant) * dy  # inverse transform, (h, w)
    v = (np.float32(-c / determinant) * dx) + np.float32(a / determinant) * dy
    pixels_per_unit = radius * max(min(abs(scale_x), abs(scale_y)), 0.05)
    alpha = mask.astype(np.float32) / 255.0
    colour = _surface(appearance, u, v, pixels_per_unit) * alpha[..., None]
    return Layer(x0, y0, colour, alpha, alpha)


def _pad(layer: Layer, margin: int) -> Layer:
    pad = ((margin, margin), (margin, margin))
    return Layer(layer.x0 - margin, layer.y0 - margin, np.pad(layer.colour, pad + ((0, 0),)),
                 np.pad(layer.alpha, pad), np.pad(layer.mask, pad))


def motion_blur(layer: Layer, velocity: tuple[float, float], exposure: float) -> tuple[Layer, float]:
    """Blur a layer along its velocity (a box kernel ``exposure * |velocity|`` pixels long); returns the length."""
    length = float(np.hypot(*velocity)) * exposure
    if length < 1.5:
        return layer, length
    margin = int(np.ceil(length / 2)) + 1
    layer = _pad(layer, margin)
    size = 2 * margin + 1
    kernel = np.zeros((size, size), dtype=np.float32)
    direction = np.asarray(velocity, dtype=np.float64) / max(np.hypot(*velocity), 1e-9)
    start = (margin - direction * length / 2) * 16
    end = (margin + direction * length / 2) * 16
    start, end = tuple(int(c) for c in np.round(start)), tuple(int(c) for c in np.round(end))
    cv2.line(kernel, start, end, 1.0, 1, cv2.LINE_AA, 4)
    kernel /= kernel.sum()
    colour = cv2.filter2D(layer.colour, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    alpha = cv2.filter2D(layer.alpha, -1, kernel, borderType=cv2.BORDER_CONSTANT)
    return Layer(layer.x0, layer.y0, colour, np.clip(alpha, 0.0, 1.0), layer.mask), length


def defocus(layer: Layer, sigma: float) -> Layer:
    """Gaussian (out-of-focus) blur of a layer."""
    if sigma < 0.3:
        return layer
    layer = _pad(layer, int(np.ceil(3 * sigma)))
    colour = cv2.GaussianBlur(layer.colour, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    alpha = cv2.GaussianBlur(layer.alpha, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    return Layer(layer.x0, layer.y0, colour, np.clip(alpha, 0.0, 1.0), layer.mask)


def overlap(layer: Layer, x0: int, y0: int, height: int,
            width: int) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Slices (into the region, into the layer) where ``layer`` overlaps the region at (x0, y0, width, height)."""
    h, w = layer.shape
    left, top = max(layer.x0, x0), max(layer.y0, y0)
    right, bottom = min(layer.x0 + w, x0 + width), min(layer.y0 + h, y0 + height)
    if right <= left or bottom <= top:
        return None
    region = (slice(top - y0, bottom - y0), slice(left - x0, right - x0))
    inside = (slice(top - layer.y0, bottom - layer.y0), slice(left - layer.x0, right - layer.x0))
    return region, inside


def composite(frame: np.ndarray, layer: Layer) -> None:
    """Draw a premultiplied layer over ``frame`` (float32, H x W x 3) in place."""
    slices = overlap(layer, 0, 0, frame.shape[0], frame.shape[1])
    if slices is None:
        return
    region, inside = slices
    alpha = layer.alpha[inside][..., None]
    frame[region] = frame[region] * (1.0 - alpha) + layer.colour[inside]


def silhouette_box(mask: np.ndarray, x0: int, y0: int) -> tuple[int, int, int, int] | None:
    """Tight box (left, top, right, bottom), inclusive 0-based pixels, of mask pixels with coverage >= 1/2."""
    rows = np.flatnonzero((mask >= 0.5).any(axis=1))
    cols = np.flatnonzero((mask >= 0.5).any(axis=0))
    if len(rows) == 0:
        return None
    return x0 + int(cols[0]), y0 + int(rows[0]), x0 + int(cols[-1]), y0 + int(rows[-1])


# ----------------------------------------------------------------------------------------------- scene dressing

def muted_colour(rng: np.random.Generator, saturation: tuple[float, float] = (0.05, 0.3),
                 value: tuple[float, float] = (0.3, 0.85)) -> np.ndarray:
    """A desaturated BGR colour (walls, floors, occluders): far from the saturated object palette."""
    hsv = np.uint8([[[rng.integers(0, 180), rng.uniform(*saturation) * 255, rng.uniform(*value) * 255]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def make_background(rng: np.random.Generator, width: int, height: int, object_size: float,
                    clutter_colour: str | None, avoid_colour: str) -> np.ndarray:
    """A textured, cluttered background canvas (uint8 BGR, ``height`` x ``width``).

    Layers: a two-colour gradient, low-frequency blotches, one texture (grain, wood, tiles or lines), muted blobs and
    object-like static shapes. With ``clutter_colour`` (background clutter, BC) several patches and shapes take the
    target's colour; otherwise no patch uses ``avoid_colour`` (so BC is only set where it was generated).
    """
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    direction = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(direction) * xs + np.sin(direction) * ys) / max(width, height)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    first, second = muted_colour(rng), muted_colour(rng)
    canvas = first * (1 - ramp[..., None]) + second * ramp[..., None]
    grid = (max(2, width // 40), max(2, height // 40))
    shade = cv2.resize(rng.normal(0.0, 1.0, grid[::-1]).astype(np.float32), (width, height),
                       interpolation=cv2.INTER_CUBIC)
    tint = cv2.resize(rng.normal(0.0, 1.0, (*grid[::-1], 3)).astype(np.float32), (width, height),
                      interpolation=cv2.INTER_CUBIC)
    canvas += shade[..., None] * rng.uniform(6, 22) + tint * rng.uniform(2, 6)  # mostly brightness, little hue
    texture = rng.choice(["grain", "wood", "tiles", "lines"])
    if texture == "grain":
        canvas += rng.normal(0.0, rng.uniform(4, 10), (height, width, 1)).astype(np.float32)
    elif texture == "wood":
        period = rng.uniform(0.15, 0.4) * object_size
        warp = cv2.resize(rng.normal(0, 1, (4, 4)).astype(np.float32), (width, height)) * period * 2
        canvas += (np.sin((ys + warp) / period) * rng.uniform(6, 14))[..., None]
    elif texture == "tiles":
        step = int(rng.uniform(0.8, 2.5) * object_size) + 4
        tone = muted_colour(rng, value=(0.2, 0.6))
        for offset in range(int(rng.integers(0, step)), width, step):
            cv2.line(canvas, (offset, 0), (offset, height - 1), tone.tolist(), 1, cv2.LINE_AA)
        for offset in range(int(rng.integers(0, step)), height, step):
            cv2.line(canvas, (0, offset), (width - 1, offset), tone.tolist(), 1, cv2.LINE_AA)
    else:
        for _ in range(int(rng.integers(4, 12))):
            start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(canvas, start, end, muted_colour(rng).tolist(), int(rng.integers(1, 4)), cv2.LINE_AA)
    area_scale = width * height / max(object_size, 1.0) ** 2
    for _ in range(int(area_scale * rng.uniform(0.02, 0.06)) + 1):  # muted blobs
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        axes = (int(rng.uniform(0.3, 1.5) * object_size), int(rng.uniform(0.3, 1.5) * object_size))
        angle = float(rng.uniform(0, 180))
        cv2.ellipse(canvas, centre, axes, angle, 0, 360, muted_colour(rng).tolist(), -1, cv2.LINE_AA)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 0.7)
    # Object-like static shapes: palette colours other than the target's, faded into the background.
    others = [name for name in COLOURS if name != avoid_colour]
    for _ in range(int(area_scale * rng.uniform(0.005, 0.02))):
        _stamp(rng, canvas, str(rng.choice(CATEGORIES)), str(rng.choice(others)), object_size, rng.uniform(0.3, 0.6))
    if clutter_colour is not None:  # background clutter: patches and shapes of the target's own colour
        for _ in range(max(3, int(area_scale * rng.uniform(0.015, 0.03)))):
            if rng.random() < 0.5:
                _stamp(rng, canvas, str(rng.choice(CATEGORIES)), clutter_colour, object_size, rng.uniform(0.55, 0.9))
            else:
                centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
                axes = (int(rng.uniform(0.2, 0.7) * object_size) + 1, int(rng.uniform(0.2, 0.7) * object_size) + 1)
                blob = canvas.copy()
                angle = float(rng.uniform(0, 180))
                cv2.ellipse(blob, centre, axes, angle, 0, 360, COLOURS[clutter_colour], -1, cv2.LINE_AA)
                weight = rng.uniform(0.6, 0.9)
                canvas = canvas * (1 - weight) + blob * weight
    return np.clip(canvas, 0, 255).astype(np.uint8)


def _stamp(rng: np.random.Generator, canvas: np.ndarray, category: str, colour: str, object_size: float,
           opacity: float) -> None:
    """Paint a static, slightly blurred object-like shape into the background canvas."""
    height, width = canvas.shape[:2]
    appearance = Appearance(category, colour, str(rng.choice(PATTERNS)))
    radius = object_size / 2 * rng.uniform(0.5, 1.2)
    layer = render_object(appearance, (rng.uniform(0, width), rng.uniform(0, height)), radius,
                          rng.uniform(-np.pi, np.pi), rng.uniform(0.7, 1.3), rng.uniform(0.7, 1.3))
    layer = defocus(layer, rng.uniform(0.5, 1.5))
    layer = Layer(layer.x0, layer.y0, layer.colour * opacity, layer.alpha * opacity, layer.mask)
    composite(canvas, layer)


def make_occluder(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """An opaque occluder texture (float32 BGR, ``height`` x ``width``): a plank, a pole, a panel or a brick block."""
    width, height = max(int(width), 1), max(int(height), 1)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = muted_colour(rng, saturation=(0.05, 0.45), value=(0.2, 0.75))
    kind = rng.choice(["plank", "panel", "bricks", "pole"])
    image = np.empty((height, width, 3), dtype=np.float32)
    image[:] = base
    if kind == "plank":
        along_x = width >= height
        coordinate = ys if along_x else xs
        image += (np.sin(coordinate / rng.uniform(1.5, 4.0)) * 10)[..., None]
    elif kind == "bricks":
        step = int(rng.integers(5, 12))
        mortar = ((ys % step) < 1.2) | (((xs + (ys // step % 2) * step) % (2 * step)) < 1.2)
        image[mortar] = base * 0.55
    elif kind == "pole":  # cylinder shading across the short side
        across = (xs / max(width - 1, 1)) if height >= width else (ys / max(height - 1, 1))
        image *= (0.65 + 0.6 * np.sin(np.pi * across))[..., None]
    image += rng.normal(0.0, 4.0, (height, width, 1)).astype(np.float32)
    border = 1 if min(width, height) > 4 else 0
    if border:
        image[:border], image[-border:], image[:, :border], image[:, -border:] = [base * 0.6] * 4
    return np.clip(image, 0, 255)
