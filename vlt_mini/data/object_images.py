"""An object-classification image set drawn with mini-LaSOT's own renderer: the stand-in for ImageNet (paper App. A.3).

VLT starts its backbone from an ImageNet-trained SPOS supernet, so that the channels a sentence selects already
mean something. Here the "ImageNet" is rendered with the same drawing code as the videos (``mini_lasot_render``):
every category × colour × pattern, at random sizes, poses (rotation, aspect, mirror), lighting, defocus or motion
blur, on the textured, cluttered backgrounds of the videos (sometimes in the object's own colour, the background
clutter challenge), with a partly drawn look-alike of another kind now and then. The label is what a sentence names
first: the category and the colour, one joint class ``category · len(COLOURS) + colour`` (100 classes), so one
classifier head keeps the official SPOS layout.

Images are BGR uint8, square; ``render_object_images`` draws them reproducibly from (seed, index) alone.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from vlt_mini.data.mini_lasot_render import (CATEGORIES, COLOURS, PATTERNS, Appearance, composite, defocus,
                                              make_background, motion_blur, render_object)

COLOUR_NAMES = tuple(COLOURS)
NUM_CLASSES = len(CATEGORIES) * len(COLOUR_NAMES)


class ObjectImages(NamedTuple):
    """``images`` (N, S, S, 3) uint8 BGR; ``labels`` (N,) joint class; ``category`` and ``colour`` (N,) indices."""

    images: np.ndarray
    labels: np.ndarray
    category: np.ndarray
    colour: np.ndarray


def joint_label(category: int, colour: int) -> int:
    return category * len(COLOUR_NAMES) + colour


def split_label(label):
    """Joint class -> (category index, colour index); works on arrays."""
    return label // len(COLOUR_NAMES), label % len(COLOUR_NAMES)


def render_object_image(rng: np.random.Generator, size: int, category: str, colour: str, pattern: str) -> np.ndarray:
    """One image: the object near the centre at a random size and pose over a mini-LaSOT background."""
    object_size = size * rng.uniform(0.3, 0.6)  # the object's nominal diameter, pixels
    clutter = colour if rng.random() < 0.2 else None
    canvas = make_background(rng, size, size, object_size, clutter, colour).astype(np.float32)
    if rng.random() < 0.3:  # a look-alike of another kind, partly in view, behind the object
        other_category = str(rng.choice([c for c in CATEGORIES if c != category]))
        other_colour = str(rng.choice([c for c in COLOUR_NAMES if c != colour]))
        corner = rng.choice([-1, 1], size=2) * size * rng.uniform(0.4, 0.55)
        other = render_object(Appearance(other_category, other_colour, str(rng.choice(PATTERNS))),
                              (size / 2 + corner[0], size / 2 + corner[1]), object_size / 2 * rng.uniform(0.6, 1.0),
                              rng.uniform(-np.pi, np.pi), rng.uniform(0.75, 1.33), rng.uniform(0.75, 1.33))
        composite(canvas, other)
    centre = (size / 2 + rng.uniform(-0.12, 0.12) * size, size / 2 + rng.uniform(-0.12, 0.12) * size)
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    layer = render_object(Appearance(category, colour, pattern), centre, object_size / 2, rng.uniform(-np.pi, np.pi),
                          mirror * rng.uniform(0.75, 1.33), rng.uniform(0.75, 1.33))
    blur = rng.random()
    if blur < 0.2:
        layer = defocus(layer, rng.uniform(0.5, 1.5))
    elif blur < 0.35:
        layer, _ = motion_blur(layer, tuple(rng.normal(0.0, object_size / 4, size=2)), 1.0)
    composite(canvas, layer)
    gain, offset = rng.uniform(0.6, 1.3), rng.uniform(-25, 25)  # lighting
    return np.clip(canvas * gain + offset, 0, 255).astype(np.uint8)


def render_object_images(count: int, size: int, seed: int) -> ObjectImages:
    """``count`` images of side ``size``; image ``i`` depends only on (seed, i). Classes are balanced: image ``i``
    shows class ``i mod NUM_CLASSES`` (a random pattern)."""
    if count < 1 or size < 16:
        raise ValueError(f"need count >= 1 and size >= 16, got {count} and {size}")
    images = np.empty((count, size, size, 3), dtype=np.uint8)
    labels = np.arange(count) % NUM_CLASSES
    category, colour = split_label(labels)
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        images[index] = render_object_image(rng, size, CATEGORIES[category[index]], COLOUR_NAMES[colour[index]],
                                            str(rng.choice(PATTERNS)))
    return ObjectImages(images, labels, category, colour)
