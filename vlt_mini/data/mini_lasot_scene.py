"""Planning one mini-LaSOT video: how everything moves, what hides the target, the camera and the light.

Motion is a smooth random walk folded into the frame (objects bounce off the borders) whose speed changes in
stretches (still, slow, steady, brisk; LaSOT's median per-frame motion is about 2 % of the target's size), with
scripted episodes for the planned challenges: bursts of fast motion, leaving the view and coming back, passing behind
an occluder, turning around (viewpoint), deformation, rotation. Every target drifts in scale over the video (LaSOT's
median p95/p5 size range within a video is about 2.6) and in light; look-alikes (the near-twin, the same-category
distractors) come back to cross the target's path, in front of it or behind it. Who is in the scene and what the
sentence says are decided in ``mini_lasot_sentence``; the drawing is in ``mini_lasot_render``; ``mini_lasot_video``
renders a ``Scene``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vlt_mini.data.mini_lasot_render import SIZE_FACTORS, make_background, make_occluder, shape_groups
from vlt_mini.data.mini_lasot_sentence import ObjectSpec, choose_objects, describe

CHALLENGES = ("scale_variation", "deformation", "rotation", "motion_blur", "illumination", "fast_motion",
              "camera_motion", "clutter", "partial_occlusion", "full_occlusion", "out_of_view", "viewpoint")
POOR_FIRST_MODES = ("small", "occluded", "blurred", "dark")
SCALE_RANGE = (0.75, 1.33)  # a target whose sentence has a size word stays within this (keeps the word true)
SCALE_LIMITS = (0.35, 2.4)  # any target's scale x size factor stays within this
SPEED = (0.012, 0.05)       # per-frame speed / object size of steady motion, drawn log-uniformly per object
MEET_EVERY = 200            # a crossing look-alike meets the target about once in this many frames


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
    """An opaque block in the world (it pans with the camera); (x, y) is its top-left at frame 1, from where it
    slides at ``velocity`` pixels per frame (0 for a fixed one)."""

    x: int
    y: int
    texture: np.ndarray              # (h, w, 3) float32 BGR
    purpose: str                     # "full" | "partial" | "first_frame"
    velocity: tuple[float, float] = (0.0, 0.0)

    def position(self, t: int) -> tuple[int, int]:
        return int(round(self.x + self.velocity[0] * t)), int(round(self.y + self.velocity[1] * t))


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


def smooth_walk(rng: np.random.Generator, n: int, width: int = 41) -> np.ndarray:
    """(n,) a smooth random path scaled to [0, 1] (the running sum of box-filtered noise)."""
    steps = np.convolve(rng.normal(0.0, 1.0, n + width - 1), np.ones(width) / width, mode="valid")
    walk = np.cumsum(steps)
    return (walk - walk.min()) / max(float(np.ptp(walk)), 1e-9)


def speed_profile(rng: np.random.Generator, n: int, speed: float) -> np.ndarray:
    """(n,) per-frame speeds in stretches of 15-90 frames: still, slow, steady or brisk (x 0-0.15, 0.3-0.7,
    0.8-1.3, 3-10 of ``speed``), with short transitions; LaSOT's targets rest, drift and dash within one video."""
    factors = np.empty(n)
    t = 0
    while t < n:
        length = int(rng.integers(15, 91))
        regime = int(rng.choice(4, p=[0.2, 0.3, 0.38, 0.12]))
        factors[t:t + length] = rng.uniform(*((0.0, 0.15), (0.3, 0.7), (0.8, 1.3), (3.0, 10.0))[regime])
        t += length
    factors = np.convolve(np.pad(factors, 3, mode="edge"), np.ones(7) / 7, mode="valid")
    return speed * factors


def random_velocities(rng: np.random.Generator, n: int, speed: float | np.ndarray) -> np.ndarray:
    """(n, 2) per-frame displacements: a slowly turning heading at ``speed`` (a number or (n,) per frame)."""
    speed = np.broadcast_to(np.asarray(speed, dtype=np.float64), (n,))
    heading = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0.0, 0.12, n))
    magnitude = speed * np.exp(rng.normal(0.0, 0.15, n))
    return np.stack([np.cos(heading), np.sin(heading)], axis=1) * magnitude[:, None]


def object_speed(rng: np.random.Generator, n: int, diameter: float) -> np.ndarray:
    """An object's per-frame speeds (pixels): a log-uniform steady speed in ``SPEED`` x its diameter, in stretches."""
    return speed_profile(rng, n, diameter * float(np.exp(rng.uniform(*np.log(SPEED)))))


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
    extent = radius * shape_extent(category) * max(float(np.max(scale)), 1.0)
    low_x, high_x, low_y, high_y = 0.7 * extent, width - 1 - 0.7 * extent, 0.7 * extent, height - 1 - 0.7 * extent
    if start is None:
        start = np.array([rng.uniform(extent, width - 1 - extent), rng.uniform(extent, height - 1 - extent)])
    if velocity is None:
        velocity = random_velocities(rng, n, object_speed(rng, n, 2 * radius))
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
    ramp = int(rng.integers(max(2, min(n // 25, 4)), max(3, min(n // 25, 12)) + 1))
    plateau = int(rng.integers(max(1, min(n // 20, 3)), max(2, min(n // 8, 14)) + 1))
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
    poor_frames = max(3, int(round(min(n * rng.uniform(0.12, 0.25), rng.uniform(25, 45))))) if poor else 0
    n_distractors = int(rng.integers(distractor_range[0], distractor_range[1] + 1))
    target_spec, distractor_specs, twin = choose_objects(rng, plan.category, n_distractors, twin_probability,
                                                         small_ok=poor != "small")
    size_word = twin == "size" or (poor != "small" and target_spec.size != "medium" and rng.random() < 0.3)
    target, ov_span = _target_track(rng, target_spec, plan.challenges, n, width, height, nominal, poor, poor_frames,
                                    keep_size=size_word)
    distractors, meetings = _distractor_tracks(rng, distractor_specs, target, ov_span, n, width, height, nominal)
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
    sentence, facts = describe(rng, target_spec, boxes, distractor_specs, twin, width, height, size_word)
    return Scene(plan, width, height, n, target, distractors, occluders, background, (margin_x, margin_y), camera,
                 gain, gradient, float(rng.uniform(1.5, 3.0)), float(exposure), defocus, sentence, poor, poor_frames,
                 clutter, {"twin": twin, "sentence_facts": facts, "out_of_view_span": ov_span,
                           "crossings": meetings})


def _target_track(rng: np.random.Generator, spec: ObjectSpec, challenges: frozenset[str], n: int, width: int,
                  height: int, nominal: float, poor: str | None,
                  poor_frames: int, keep_size: bool = False) -> tuple[Track, tuple[int, int] | None]:
    """The target's motion with its planned challenges; returns the track and the out-of-view span (or None).

    Its scale drifts over the video by a factor of 2-3.5 (3.5-5.5 with scale variation), within ``SCALE_RANGE``
    when ``keep_size`` (the sentence names its size)."""
    time = np.arange(n) / max(n - 1, 1)
    ratio = rng.uniform(3.5, 5.5) if "scale_variation" in challenges else rng.uniform(2.0, 3.5)
    log_scale = np.log(ratio) * smooth_walk(rng, n, width=max(9, min(61, n // 4) | 1))
    log_scale += rng.uniform(-0.1, 0.1) - log_scale[0] * rng.uniform(0.6, 1.0)  # near the nominal size at first
    factor = SIZE_FACTORS[spec.size]
    scale = np.clip(np.exp(log_scale), *(SCALE_RANGE if keep_size else np.divide(SCALE_LIMITS, factor)))
    if poor == "small":  # far away at first: the template is tiny, the sentence still exact
        scale = scale * (0.35 + 0.65 * smoothstep(np.arange(n) / poor_frames))
    velocity = random_velocities(rng, n, object_speed(rng, n, nominal * factor) * scale)
    target = make_track(rng, spec, n, width, height, nominal, velocity=velocity, scale=scale)
    if "fast_motion" in challenges:  # for a few frames, the centre moves 0.5-1.5 object sizes per frame
        length = int(rng.integers(3, max(4, min(n // 10, 15)) + 1))
        start = int(rng.integers(max(1, n // 5), max(2, n - length)))
        unit = velocity / np.maximum(np.hypot(velocity[:, :1], velocity[:, 1:]), 1e-9)
        fast = velocity.copy()
        fast[start:start + length] = unit[start:start + length] * nominal * factor \
            * rng.uniform(0.5, 1.5) * scale[start:start + length, None]
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
                       ov_span: tuple[int, int] | None, n: int, width: int, height: int,
                       nominal: float) -> tuple[list[Track], dict[int, list[int]]]:
    """Distractors spread out in frame 1; look-alikes come back to cross the target's path.

    The near-twin and same-category distractors (and the first distractor of a scene without them) cross the
    target with probability 0.8, about once every ``MEET_EVERY`` frames after the first 15 % of the video: around
    each meeting their own wandering path is bent smoothly onto the target's centre (within 0.3-1 of its radius).
    Returns the distractors and, per crossing distractor (by its index), its meeting frames.
    """
    distractors: list[Track] = []
    meetings: dict[int, list[int]] = {}
    target_extent = target.radius * shape_extent(target.spec.appearance.category) * float(target.scale.max())
    look_alike = [spec.role in ("twin", "same_category") for spec in specs]
    if specs and not any(look_alike):
        look_alike[0] = True
    for number, spec in enumerate(specs):
        track = None
        for _ in range(30):
            candidate = make_track(rng, spec, n, width, height, nominal)
            start = candidate.centre[0]
            gap = min([np.hypot(*(start - other.centre[0])) - 0.9 * (other.radius + candidate.radius) * 1.4
                       for other in distractors] + [np.inf])
            if np.hypot(*(start - target.centre[0])) > 1.1 * (target_extent + candidate.radius * 1.4) and gap > 0:
                track = candidate
                break
        track = track if track is not None else candidate
        if look_alike[number] and rng.random() < 0.8:
            meets = _cross(rng, track, target, ov_span, nominal)
            if meets:
                meetings[number] = meets
        distractors.append(track)
    return distractors, meetings


def _cross(rng: np.random.Generator, track: Track, target: Track, ov_span: tuple[int, int] | None,
           nominal: float) -> list[int]:
    """Bend ``track`` onto the target's centre around a few meeting frames (in place); returns those frames."""
    n = len(track.centre)
    count = max(1, int(round(n / MEET_EVERY * rng.uniform(0.7, 1.3))))
    meets: list[int] = []
    offset = np.zeros((n, 2))
    cursor = max(2, int(0.15 * n))
    for _ in range(count):
        if cursor >= n - 1:
            break
        meet = int(rng.integers(cursor, max(cursor + 1, min(n, cursor + 2 * MEET_EVERY // max(count, 1)))))
        meet = min(meet, n - 1)
        if ov_span is not None and ov_span[0] - 3 <= meet <= ov_span[1] + 3:
            cursor = ov_span[1] + 4
            continue
        side = rng.uniform(0, 2 * np.pi)  # pass beside its centre: mostly a partial occlusion, a full one at times
        aim = target.centre[meet] + rng.uniform(0.3, 1.0) * target.radius * np.array([np.cos(side), np.sin(side)])
        gap = aim - (track.centre[meet] + offset[meet])
        speed, heading = nominal * rng.uniform(0.2, 0.45), rng.uniform(0, 2 * np.pi)
        crossing = speed * np.array([np.cos(heading), np.sin(heading)])  # its velocity relative to its own path
        plateau = rng.uniform(1.0, 2.0) * nominal / speed                 # frames on each side at full bend
        fade = float(np.clip(np.hypot(*gap) / (nominal * rng.uniform(0.08, 0.25)), 8, 40))
        if meet - plateau - fade < max(1, meets[-1] if meets else 1):
            cursor = meet + 1
            continue
        tau = np.arange(n) - meet
        weight = smoothstep((plateau + fade - np.abs(tau)) / fade)
        offset += weight[:, None] * (gap + tau[:, None] * crossing)
        meets.append(meet)
        cursor = int(meet + plateau + fade + 1)
    track.centre = track.centre + offset
    return meets


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

    * full occlusion: a block 1.4-2.2 times the target's size sliding across it so that it hides the target
      wholly for 3-12 frames (however slowly the target moves);
    * partial occlusion: 1-2 bars thinner than the target, across its path (one more per 200 frames);
    * poor first frame: a block hiding the trailing 40-60 % of the target in frame 1, sliding away from it.
    Except for the last, none may touch the target's frame-1 box in frame 1.
    """
    n = len(boxes)
    world = boxes + np.tile(camera, 2)
    first_box = world[0]
    occluders: list[Occluder] = []

    def clear_of_first_frame(x0: float, y0: float, x1: float, y1: float) -> bool:
        return x1 < first_box[0] - 1 or x0 > first_box[2] + 1 or y1 < first_box[1] - 1 or y0 > first_box[3] + 1

    def add(x0: float, y0: float, x1: float, y1: float, purpose: str, velocity=(0.0, 0.0)) -> None:
        left, top = int(np.floor(x0)), int(np.floor(y0))
        texture = make_occluder(rng, int(np.ceil(x1)) - left + 1, int(np.ceil(y1)) - top + 1)
        occluders.append(Occluder(left, top, texture, purpose, (float(velocity[0]), float(velocity[1]))))

    if "full_occlusion" in challenges:
        for _ in range(20):
            middle = int(rng.integers(max(2, int(0.25 * n)), max(3, n - 1)))
            if ov_span is not None and ov_span[0] - 15 <= middle <= ov_span[1] + 15:
                continue
            box = world[middle]
            bw, bh = box[2] - box[0] + 1, box[3] - box[1] + 1
            width, height = bw * rng.uniform(1.4, 2.2) + 4, bh * rng.uniform(1.4, 2.2) + 4
            hidden = rng.uniform(3, 12)                       # frames the target is wholly behind it
            axis = int(rng.integers(2))
            velocity = np.zeros(2)
            velocity[axis] = ((width - bw) if axis == 0 else (height - bh)) / hidden * rng.choice([-1, 1])
            cx, cy = (box[0] + box[2]) / 2 - velocity[0] * middle, (box[1] + box[3]) / 2 - velocity[1] * middle
            x0, y0 = cx - width / 2, cy - height / 2
            moved = np.arange(n)[:, None] * velocity
            inside = ((world[:, 0] >= x0 + moved[:, 0]) & (world[:, 2] <= x0 + width + moved[:, 0])
                      & (world[:, 1] >= y0 + moved[:, 1]) & (world[:, 3] <= y0 + height + moved[:, 1]))
            if inside.sum() <= 14 and clear_of_first_frame(x0, y0, x0 + width, y0 + height):
                add(x0, y0, x0 + width, y0 + height, "full", velocity)
                break
    smallest = float(np.min(np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))
    if "partial_occlusion" in challenges:
        for _ in range(int(rng.integers(1, 3)) + n // 200):
            for _ in range(20):
                moment = int(rng.integers(max(1, n // 5), n))
                box = world[moment]
                thickness = rng.uniform(0.3, 0.5) * smallest + 1  # thinner than the target at its smallest
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
        away = -heading / max(float(np.hypot(*heading)), 1e-9)  # it lies on the trailing side: slide further back
        add(bx0, by0, bx1, by1, "first_frame", away * max(w, h) * rng.uniform(1.5, 2.5) / max(poor_frames, 1))
    return occluders


def _lighting(rng: np.random.Generator, changing: bool, n: int, dark_start: bool,
              poor_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Global gain (N,) and spatial light gradient (N, 2): drifting slightly, or dimming/brightening by x1.6+ with a moving
    gradient (illumination variation); a dark start (poor first frames) ramps up from 30 %."""
    time = np.arange(n) / max(n - 1, 1)
    # every video: the light drifts a little (x 0.85-1.15) and its direction turns slowly
    gain = rng.uniform(0.9, 1.1) * np.exp(rng.uniform(0.04, 0.14) * (2 * smooth_walk(rng, n) - 1))
    heading = rng.uniform(0, 2 * np.pi) + rng.uniform(-np.pi, np.pi) * time
    gradient = rng.uniform(0.05, 0.15) * np.stack([np.cos(heading), np.sin(heading)], axis=1)
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
