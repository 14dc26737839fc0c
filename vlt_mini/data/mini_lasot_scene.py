"""Planning one mini-LaSOT video: how everything moves, what hides the target, the camera and the light.

Motion is a smooth random walk folded into the frame (objects bounce off the borders), with scripted episodes for the
planned challenges: fast motion, leaving the view and coming back, passing behind an occluder, turning around
(viewpoint), scale and aspect changes, rotation. Who is in the scene and what the sentence says are decided in
``mini_lasot_sentence``; the drawing is in ``mini_lasot_render``; ``mini_lasot_video`` renders a ``Scene``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlt_mini.data.mini_lasot_render import SIZE_FACTORS, make_background, make_occluder, shape_groups
from vlt_mini.data.mini_lasot_sentence import ObjectSpec, choose_objects, describe

CHALLENGES = ("scale_variation", "deformation", "rotation", "motion_blur", "illumination", "fast_motion",
              "camera_motion", "clutter", "partial_occlusion", "full_occlusion", "out_of_view", "viewpoint")
POOR_FIRST_MODES = ("small", "occluded", "blurred", "dark")
SCALE_RANGE = (0.75, 1.33)  # every object's scale over time stays within this (keeps size words true)


@dataclass
class VideoPlan:
    """One video to generate: its LaSOT name, class (= the target's category), split and planned challenges."""

    name: str
    category: str
    index: int                       # global video index (the RNG stream is seeded with [seed, index])
    split: str                       # "train" | "val" | "test"
    challenges: frozenset[str] = frozenset()
    poor_first: bool = False


@dataclass
class Track:
    """An object's state in every frame (screen coordinates; ``centre`` may lie outside the frame)."""

    spec: ObjectSpec
    radius: float                    # half the object's diameter in pixels at scale 1
    centre: np.ndarray               # (N, 2)
    scale: np.ndarray                # (N,) overall scale
    squash: np.ndarray               # (N,) aspect deformation: x *= squash, y /= squash
    facing: np.ndarray               # (N,) signed x factor: -1 mirrored, |.| < 1 while turning (viewpoint)
    angle: np.ndarray                # (N,) in-plane rotation, radians
    z: int = 0

    @property
    def velocity(self) -> np.ndarray:  # (N, 2) displacement from the previous frame (0 for frame 1)
        return np.vstack([np.zeros((1, 2)), np.diff(self.centre, axis=0)])

    def pose(self, t: int) -> tuple[tuple[float, float], float, float, float, float]:
        """(centre, radius, angle, scale_x, scale_y) of frame ``t`` for ``render_object``."""
        scale_x = self.scale[t] * self.squash[t] * self.facing[t]
        return (float(self.centre[t, 0]), float(self.centre[t, 1])), self.radius, float(self.angle[t]), \
            float(scale_x), float(self.scale[t] / self.squash[t])

    def boxes(self) -> np.ndarray:
        """(N, 4) analytic boxes (left, top, right, bottom) of the outline, for planning (not ground truth)."""
        points = np.concatenate([c for group in shape_groups(self.spec.appearance.category) for c in group])
        out = np.empty((len(self.centre), 4))
        for t in range(len(self.centre)):
            (cx, cy), radius, angle, sx, sy = self.pose(t)
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            moved = points @ (rotation @ np.diag([sx * radius, sy * radius])).T + (cx, cy)
            out[t] = moved[:, 0].min(), moved[:, 1].min(), moved[:, 0].max(), moved[:, 1].max()
        return out


@dataclass
class Occluder:
    """An opaque block fixed in the world (it pans with the camera); (x, y) is its top-left at frame 1."""

    x: int
    y: int
    texture: np.ndarray              # (h, w, 3) float32 BGR
    purpose: str                     # "full" | "partial" | "first_frame"


@dataclass
class Scene:
    """Everything needed to render a video deterministically, frame by frame."""

    plan: VideoPlan
    width: int
    height: int
    n_frames: int
    target: Track
    distractors: list[Track]
    occluders: list[Occluder]
    background: np.ndarray           # uint8 canvas larger than the frame where the camera moves
    origin: tuple[int, int]          # canvas position of the frame-1 view's top-left
    camera: np.ndarray               # (N, 2) int view offset from frame 1
    gain: np.ndarray                 # (N,) global illumination gain
    light_gradient: np.ndarray       # (N, 2) spatial illumination slope (x, y)
    noise_sigma: float
    exposure: float                  # motion-blur length as a fraction of the per-frame displacement (0 = none)
    target_defocus: np.ndarray       # (N,) Gaussian blur sigma on the target (poor first frames)
    sentence: str
    poor_first: str | None
    poor_frames: int
    clutter: bool
    extras: dict = field(default_factory=dict)

    @property
    def objects(self) -> list[Track]:
        return sorted([self.target, *self.distractors], key=lambda track: track.z)


# ------------------------------------------------------------------------------------------------------- motion

def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def fold(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reflect an unbounded path into [low, high] (a triangle wave): straight motion bounces off the borders."""
    span = max(high - low, 1e-6)
    y = np.mod(x - low, 2 * span)
    return low + span - np.abs(y - span)


def random_velocities(rng: np.random.Generator, n: int, speed: float) -> np.ndarray:
    """(n, 2) per-frame displacements: a random walk in velocity with speed kept within [0.3, 2] x ``speed``."""
    velocity = np.empty((n, 2))
    heading = rng.uniform(0, 2 * np.pi)
    current = np.array([np.cos(heading), np.sin(heading)]) * speed * rng.uniform(0.6, 1.4)
    for t in range(n):
        velocity[t] = current
        current = current + rng.normal(0.0, 0.25 * speed, 2)
        norm = np.hypot(*current)
        if norm > 2 * speed or norm < 0.3 * speed:
            current *= np.clip(norm, 0.3 * speed, 2 * speed) / max(norm, 1e-9)
    return velocity


def shape_extent(category: str) -> float:
    """Largest distance from the centre to the outline, in unit object coordinates."""
    return float(max(np.hypot(c[:, 0], c[:, 1]).max() for group in shape_groups(category) for c in group))


def make_track(rng: np.random.Generator, spec: ObjectSpec, n: int, width: int, height: int, nominal: float,
               start: np.ndarray | None = None, velocity: np.ndarray | None = None,
               scale: np.ndarray | None = None) -> Track:
    """A bouncing object with mild scale, squash and rotation wobble (challenges are added on top by the caller)."""
    radius = nominal / 2 * SIZE_FACTORS[spec.size]
    time = np.arange(n) / max(n - 1, 1)
    if scale is None:
        scale = 1.0 + 0.08 * np.sin(2 * np.pi * (rng.uniform(0.3, 1.2) * time + rng.uniform()))
    squash = np.exp(0.03 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * time + rng.uniform())))
    category = spec.appearance.category
    upright = category in ("car", "bird", "heart", "triangle")
    angle0 = rng.uniform(-0.2, 0.2) if upright else rng.uniform(-np.pi, np.pi)
    spin = rng.uniform(-np.pi, np.pi) if (not upright and rng.random() < 0.3) else 0.0
    angle = angle0 + spin * time + 0.08 * np.sin(2 * np.pi * (rng.uniform(0.5, 2) * time + rng.uniform()))
    extent = radius * shape_extent(category) * SCALE_RANGE[1]
    low_x, high_x, low_y, high_y = 0.7 * extent, width - 1 - 0.7 * extent, 0.7 * extent, height - 1 - 0.7 * extent
    if start is None:
        start = np.array([rng.uniform(extent, width - 1 - extent), rng.uniform(extent, height - 1 - extent)])
    if velocity is None:
        velocity = random_velocities(rng, n, nominal * rng.uniform(0.04, 0.14))
    path = start + np.vstack([np.zeros((1, 2)), np.cumsum(velocity[:-1], axis=0)])
    centre = np.stack([fold(path[:, 0], low_x, high_x), fold(path[:, 1], low_y, high_y)], axis=1)
    facing = np.full(n, 1.0 if velocity[0, 0] >= 0 or category not in ("car", "bird") else -1.0)
    return Track(spec, radius, centre, np.asarray(scale, dtype=np.float64), squash, facing, angle)


def _bump(n: int, start: int, ramp: int, plateau: int) -> np.ndarray:
    """0 -> 1 over ``ramp`` frames from ``start``, 1 for ``plateau`` frames, back to 0 over ``ramp`` frames."""
    t = np.arange(n, dtype=np.float64)
    rise = smoothstep((t - start + 1) / ramp)
    fall = 1.0 - smoothstep((t - (start + ramp + plateau) + 1) / ramp)
    return np.minimum(rise, fall)


def add_out_of_view(rng: np.random.Generator, track: Track, width: int, height: int) -> tuple[int, int] | None:
    """Send the target out through the nearest border for a few frames and bring it back; returns the frame span."""
    n = len(track.centre)
    ramp, plateau = max(2, round(n / 25)), int(rng.integers(max(1, n // 20), max(2, n // 8) + 1))
    latest = n - (2 * ramp + plateau) - 2
    earliest = max(3, int(0.3 * n))
    if latest < earliest:
        return None
    start = int(rng.integers(earliest, latest + 1))
    middle = start + ramp + plateau // 2
    x, y = track.centre[middle]
    extent = track.radius * shape_extent(track.spec.appearance.category) * track.scale.max() * 1.45 + 2
    border = int(np.argmin([x, width - 1 - x, y, height - 1 - y]))
    span = slice(start + ramp, start + ramp + plateau)
    axis, sign = (0, -1) if border == 0 else (0, 1) if border == 1 else (1, -1) if border == 2 else (1, 1)
    limit = (width, height)[axis]
    beyond = track.centre[span, axis] if sign < 0 else limit - 1 - track.centre[span, axis]  # distance to the border
    needed = (beyond + extent).max()
    track.centre[:, axis] += sign * needed * _bump(n, start, ramp, plateau)
    return start, start + 2 * ramp + plateau


def build_scene(rng: np.random.Generator, plan: VideoPlan, n_frames: int, width: int, height: int,
                object_size: float, distractor_range: tuple[int, int], twin_probability: float) -> Scene:
    """Decide everything about one video: objects, motion, camera, background, occluders, light, sentence."""
    n = n_frames
    nominal = object_size * min(width, height)
    poor = str(rng.choice(POOR_FIRST_MODES)) if plan.poor_first else None
    poor_frames = max(3, int(round(n * rng.uniform(0.12, 0.25)))) if poor else 0
    n_distractors = int(rng.integers(distractor_range[0], distractor_range[1] + 1))
    target_spec, distractor_specs, twin = choose_objects(rng, plan.category, n_distractors, twin_probability,
                                                         small_ok=poor != "small")
    target, ov_span = _target_track(rng, target_spec, plan.challenges, n, width, height, nominal, poor, poor_frames)
    distractors = _distractor_tracks(rng, distractor_specs, target, ov_span, n, width, height, nominal)
    for track, z in zip([target, *distractors], rng.permutation(len(distractors) + 1)):
        track.z = int(z)
    camera = _camera(rng, "camera_motion" in plan.challenges, n, width, height)
    margin_x, margin_y = int(np.abs(camera[:, 0]).max()) + 2, int(np.abs(camera[:, 1]).max()) + 2
    clutter = "clutter" in plan.challenges
    colour = target_spec.appearance.colour
    background = make_background(rng, width + 2 * margin_x, height + 2 * margin_y, nominal,
                                 colour if clutter else None, colour)
    boxes = target.boxes()
    occluders = _occluders(rng, plan.challenges, target, boxes, camera, ov_span, poor == "occluded", poor_frames)
    gain, gradient = _lighting(rng, "illumination" in plan.challenges, n, poor == "dark", poor_frames)
    exposure = rng.uniform(0.5, 1.0) if "motion_blur" in plan.challenges else 0.0
    defocus = np.zeros(n)
    if poor == "blurred":  # out of focus at first
        defocus = rng.uniform(0.3, 0.45) * target.radius * (1 - smoothstep(np.arange(n) / poor_frames))
    sentence, facts = describe(rng, target_spec, boxes, distractor_specs, twin, width, height,
                               size_word_allowed=poor != "small")
    return Scene(plan, width, height, n, target, distractors, occluders, background, (margin_x, margin_y), camera,
                 gain, gradient, float(rng.uniform(1.5, 3.0)), float(exposure), defocus, sentence, poor, poor_frames,
                 clutter, {"twin": twin, "sentence_facts": facts, "out_of_view_span": ov_span})


def _target_track(rng: np.random.Generator, spec: ObjectSpec, challenges: frozenset[str], n: int, width: int,
                  height: int, nominal: float, poor: str | None,
                  poor_frames: int) -> tuple[Track, tuple[int, int] | None]:
    """The target's motion with its planned challenges; returns the track and the out-of-view span (or None)."""
    time = np.arange(n) / max(n - 1, 1)
    scale = 1.0 + 0.06 * np.sin(2 * np.pi * (rng.uniform(0.3, 1.0) * time + rng.uniform()))
    if "scale_variation" in challenges:  # from one end of the scale range to the other
        ends = list(SCALE_RANGE) if rng.random() < 0.5 else list(SCALE_RANGE[::-1])
        window = sorted(rng.uniform(0.1, 0.9, 2))
        scale = ends[0] + (ends[1] - ends[0]) * smoothstep((time - window[0]) / max(window[1] - window[0], 0.1))
        scale = np.clip(scale * (1 + 0.03 * np.sin(2 * np.pi * 2 * time)), *SCALE_RANGE)
    if poor == "small":  # far away at first: the template is tiny, the sentence still exact
        scale = scale * (0.35 + 0.65 * smoothstep(np.arange(n) / poor_frames))
    velocity = random_velocities(rng, n, nominal * rng.uniform(0.04, 0.14))
    target = make_track(rng, spec, n, width, height, nominal, velocity=velocity, scale=scale)
    if "fast_motion" in challenges:  # for a stretch, the centre moves 1.2-1.8 object sizes per frame
        length = max(2, int(n * rng.uniform(0.08, 0.2)))
        start = int(rng.integers(max(1, n // 5), max(2, n - length)))
        unit = velocity / np.maximum(np.hypot(velocity[:, :1], velocity[:, 1:]), 1e-9)
        fast = velocity.copy()
        fast[start:start + length] = unit[start:start + length] * nominal * SIZE_FACTORS[spec.size] \
            * rng.uniform(1.2, 1.8) * scale[start:start + length, None]
        target = make_track(rng, spec, n, width, height, nominal, start=target.centre[0], velocity=fast, scale=scale)
    if "deformation" in challenges:  # squash and stretch
        target.squash = np.exp(rng.uniform(0.17, 0.28) * np.sin(2 * np.pi * (rng.uniform(1, 3) * time + rng.uniform())))
    if "rotation" in challenges:
        target.angle = target.angle + np.sign(rng.uniform(-1, 1)) * np.deg2rad(rng.uniform(60, 200)) \
            * smoothstep((time - 0.1) / 0.8)
    if "viewpoint" in challenges:  # the object turns around (a mirror image through a thin profile)
        turn_start, turn_length = rng.uniform(0.2, 0.6), rng.uniform(0.15, 0.3)
        turn = np.cos(np.pi * smoothstep((time - turn_start) / turn_length))
        target.facing = target.facing * np.where(turn >= 0, 1, -1) * np.maximum(np.abs(turn), 0.22)
    ov_span = add_out_of_view(rng, target, width, height) if "out_of_view" in challenges else None
    return target, ov_span


def _distractor_tracks(rng: np.random.Generator, specs: list[ObjectSpec], target: Track,
                       ov_span: tuple[int, int] | None, n: int, width: int, height: int, nominal: float) -> list[Track]:
    """Distractors spread out in frame 1; the most similar one (listed first) may be sent across the target's path."""
    distractors: list[Track] = []
    target_extent = target.radius * shape_extent(target.spec.appearance.category) * SCALE_RANGE[1]
    for number, spec in enumerate(specs):
        track = None
        if number == 0 and rng.random() < 0.6:  # straight through the target's position at frame ``meet``
            meet = int(rng.integers(max(1, int(0.3 * n)), n))
            if ov_span is None or not ov_span[0] <= meet <= ov_span[1]:
                speed = nominal * rng.uniform(0.05, 0.15)
                heading = rng.uniform(0, 2 * np.pi)
                steps = np.tile([np.cos(heading) * speed, np.sin(heading) * speed], (n, 1))
                start = target.centre[meet] - steps[0] * meet
                track = make_track(rng, spec, n, width, height, nominal, start=start, velocity=steps)
                if np.hypot(*(track.centre[0] - target.centre[0])) < 1.1 * (target_extent + track.radius * 1.4):
                    track = None
        for _ in range(30):
            if track is not None:
                break
            candidate = make_track(rng, spec, n, width, height, nominal)
            start = candidate.centre[0]
            gap = min([np.hypot(*(start - other.centre[0])) - 0.9 * (other.radius + candidate.radius) * 1.4
                       for other in distractors] + [np.inf])
            if np.hypot(*(start - target.centre[0])) > 1.1 * (target_extent + candidate.radius * 1.4) and gap > 0:
                track = candidate
        distractors.append(track if track is not None else candidate)
    return distractors


def _camera(rng: np.random.Generator, moving: bool, n: int, width: int, height: int) -> np.ndarray:
    """(N, 2) integer view offsets from frame 1: a bounded back-and-forth pan with a little shake, or still."""
    camera = np.zeros((n, 2))
    if moving:
        for axis, size in enumerate((width, height)):
            amplitude = size * rng.uniform(0.1, 0.35)
            period = max(20.0, n * rng.uniform(0.5, 1.5))
            phase = rng.uniform(0, 2 * np.pi)
            camera[:, axis] = amplitude * (np.sin(2 * np.pi * np.arange(n) / period + phase) - np.sin(phase))
        camera += rng.normal(0.0, 0.6, (n, 2))
        camera -= camera[0]
    return np.round(camera).astype(np.int64)


def _occluders(rng: np.random.Generator, challenges: frozenset[str], target: Track, boxes: np.ndarray,
               camera: np.ndarray, ov_span: tuple[int, int] | None, first_frame: bool,
               poor_frames: int) -> list[Occluder]:
    """Occluders in world coordinates (= screen coordinates of frame 1), placed on the target's path.

    * full occlusion: a block covering the target's boxes over a few consecutive frames (it passes behind it);
    * partial occlusion: 1-2 bars thinner than the target, across its path;
    * poor first frame: a block hiding the trailing 40-60 % of the target in frame 1, which it then leaves.
    Except for the last, none may touch the target's frame-1 box.
    """
    n = len(boxes)
    world = boxes + np.tile(camera, 2)
    first_box = world[0]
    occluders: list[Occluder] = []

    def clear_of_first_frame(x0: float, y0: float, x1: float, y1: float) -> bool:
        return x1 < first_box[0] - 1 or x0 > first_box[2] + 1 or y1 < first_box[1] - 1 or y0 > first_box[3] + 1

    def add(x0: float, y0: float, x1: float, y1: float, purpose: str) -> None:
        left, top = int(np.floor(x0)), int(np.floor(y0))
        texture = make_occluder(rng, int(np.ceil(x1)) - left + 1, int(np.ceil(y1)) - top + 1)
        occluders.append(Occluder(left, top, texture, purpose))

    if "full_occlusion" in challenges:
        for _ in range(20):
            middle = int(rng.integers(max(2, int(0.25 * n)), max(3, n - 1)))
            if ov_span is not None and ov_span[0] - 2 <= middle <= ov_span[1] + 2:
                continue
            half = int(rng.integers(1, max(2, n // 15) + 1))
            span = world[max(1, middle - half):middle + half + 1]
            x0, y0 = span[:, 0].min() - 2, span[:, 1].min() - 2
            x1, y1 = span[:, 2].max() + 2, span[:, 3].max() + 2
            size = max(boxes[middle, 2] - boxes[middle, 0], boxes[middle, 3] - boxes[middle, 1])
            if max(x1 - x0, y1 - y0) > 3 * size + 4 or not clear_of_first_frame(x0, y0, x1, y1):
                continue
            grow = rng.uniform(0, 0.3, 4) * size
            x0, y0, x1, y1 = x0 - grow[0], y0 - grow[1], x1 + grow[2], y1 + grow[3]
            if clear_of_first_frame(x0, y0, x1, y1):
                add(x0, y0, x1, y1, "full")
                break
    if "partial_occlusion" in challenges:
        for _ in range(int(rng.integers(1, 3))):
            for _ in range(20):
                moment = int(rng.integers(max(1, n // 5), n))
                box = world[moment]
                thickness = rng.uniform(0.3, 0.5) * min(box[2] - box[0], box[3] - box[1]) + 1
                length = rng.uniform(2.5, 6) * max(box[2] - box[0], box[3] - box[1])
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                shift = rng.uniform(-0.25, 0.25) * (box[2] - box[0])
                if abs(target.velocity[moment, 0]) >= abs(target.velocity[moment, 1]):  # cross its path: vertical bar
                    x0, x1 = cx + shift - thickness / 2, cx + shift + thickness / 2
                    y0, y1 = cy - length / 2, cy + length / 2
                else:
                    x0, x1 = cx - length / 2, cx + length / 2
                    y0, y1 = cy + shift - thickness / 2, cy + shift + thickness / 2
                if clear_of_first_frame(x0, y0, x1, y1):
                    add(x0, y0, x1, y1, "partial")
                    break
    if first_frame:
        x0, y0, x1, y1 = first_box
        w, h = x1 - x0, y1 - y0
        heading = target.centre[min(n - 1, poor_frames)] - target.centre[0]
        if abs(heading[0]) >= abs(heading[1]):
            cut = (x0 + x1) / 2 + rng.uniform(-0.1, 0.1) * w
            reach = rng.uniform(0.3, 1.5) * w
            bx0, bx1 = (x0 - reach, cut) if heading[0] > 0 else (cut, x1 + reach)
            by0, by1 = y0 - rng.uniform(0.3, 1.5) * h, y1 + rng.uniform(0.3, 1.5) * h
        else:
            cut = (y0 + y1) / 2 + rng.uniform(-0.1, 0.1) * h
            reach = rng.uniform(0.3, 1.5) * h
            by0, by1 = (y0 - reach, cut) if heading[1] > 0 else (cut, y1 + reach)
            bx0, bx1 = x0 - rng.uniform(0.3, 1.5) * w, x1 + rng.uniform(0.3, 1.5) * w
        add(bx0, by0, bx1, by1, "first_frame")
    return occluders


def _lighting(rng: np.random.Generator, changing: bool, n: int, dark_start: bool,
              poor_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Global gain (N,) and spatial light gradient (N, 2): steady, or dimming/brightening by x1.6+ with a moving
    gradient (illumination variation); a dark start (poor first frames) ramps up from 30 %."""
    time = np.arange(n) / max(n - 1, 1)
    gain = np.full(n, rng.uniform(0.9, 1.1))
    gradient = np.tile(rng.uniform(-0.12, 0.12, 2), (n, 1))
    if changing:
        low, high = rng.uniform(0.5, 0.62), rng.uniform(1.0, 1.12)
        ends = (high, low) if rng.random() < 0.5 else (low, high)
        window = sorted(rng.uniform(0.1, 0.9, 2))
        gain = ends[0] + (ends[1] - ends[0]) * smoothstep((time - window[0]) / max(window[1] - window[0], 0.1))
        heading = rng.uniform(0, 2 * np.pi) + rng.uniform(-np.pi, np.pi) * time
        gradient = 0.3 * np.stack([np.cos(heading), np.sin(heading)], axis=1)
    if dark_start:
        gain = gain * (0.3 + 0.7 * smoothstep(np.arange(n) / poor_frames))
    return gain, gradient
