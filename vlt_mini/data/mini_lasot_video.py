"""Rendering a planned mini-LaSOT scene, and measuring what was rendered: LaSOT's annotations and 14 attributes.

Each frame: the background seen by the (panning) camera, the objects in depth order (motion blur along their motion,
defocus on a poorly shown target), then the world-fixed occluders, the light (global gain and a moving gradient) and
sensor noise. While drawing, everything in front of the target is accumulated over its silhouette, so how much of
the target is in view and how much of that is uncovered is known exactly; the LaSOT flags and boxes follow from it.
Ground truth is the tight box of the target's sharp silhouette (the whole object, also while partly occluded, as
LaSOT annotates), clipped to the frame, in LaSOT's 1-based convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vlt_mini.data.mini_lasot_render import (
    ROTATION_SYMMETRIC, Layer, composite, defocus, motion_blur, overlap, render_object, silhouette_box,
)
from vlt_mini.data.mini_lasot_scene import Scene

ABSENT_FRACTION = 0.1    # the target is absent when < 10 % of it is in view (OV) or unoccluded (FOC)
LASOT_LR_AREA = 1000.0   # LaSOT's low-resolution threshold (px) at 640x360, scaled to our frame area


@dataclass
class TargetState:
    """The target in one frame: how much is in view, how much of that is unoccluded, and its boxes."""

    in_view: float                                  # fraction of the silhouette inside the frame
    visible: float                                  # fraction of the in-view part not covered by anything
    box: tuple[int, int, int, int] | None           # tight silhouette box clipped to the frame (l, t, r, b)
    full_box: tuple[int, int, int, int] | None      # the same, unclipped
    blur: float                                     # motion-blur length in pixels (0 without)

    @property
    def out_of_view(self) -> bool:
        return self.in_view < ABSENT_FRACTION or self.box is None

    @property
    def fully_occluded(self) -> bool:
        return not self.out_of_view and self.visible < ABSENT_FRACTION

    @property
    def absent(self) -> bool:
        return self.out_of_view or self.fully_occluded


def _cover(cover: np.ndarray, target: Layer, layer: Layer) -> None:
    """Accumulate ``layer``'s opacity over the target's patch (what lies in front of the target)."""
    slices = overlap(layer, target.x0, target.y0, *cover.shape)
    if slices is not None:
        region, inside = slices
        cover[region] = 1.0 - (1.0 - cover[region]) * (1.0 - layer.alpha[inside])


def render_frame(scene: Scene, t: int, velocities: dict[int, np.ndarray]) -> tuple[np.ndarray, TargetState, dict]:
    """Frame ``t`` before lighting and noise (float32 BGR), the target's state, and the distractors' boxes."""
    width, height = scene.width, scene.height
    (ox, oy), (cx, cy) = scene.origin, scene.camera[t]
    frame = scene.background[oy + cy:oy + cy + height, ox + cx:ox + cx + width].astype(np.float32)
    target_layer, cover, blur, others = None, None, 0.0, {}
    for number, track in enumerate(scene.objects):
        layer = render_object(track.spec.appearance, *track.pose(t))
        length = 0.0
        if scene.exposure > 0:
            layer, length = motion_blur(layer, velocities[id(track)][t], scene.exposure)
        if track is scene.target:
            layer = defocus(layer, float(scene.target_defocus[t]))
            target_layer, blur = layer, length
            cover = np.zeros(layer.shape, dtype=np.float32)
        else:
            others[id(track)] = silhouette_box(layer.mask, layer.x0, layer.y0)
            if cover is not None:
                _cover(cover, target_layer, layer)
        composite(frame, layer)
    for occluder in scene.occluders:
        h, w = occluder.texture.shape[:2]
        ones = np.ones((h, w), dtype=np.float32)
        x, y = occluder.position(t)
        layer = Layer(x - int(cx), y - int(cy), occluder.texture, ones, ones)
        _cover(cover, target_layer, layer)
        composite(frame, layer)
    mask = target_layer.mask
    full_box = silhouette_box(mask, target_layer.x0, target_layer.y0)
    slices = overlap(target_layer, 0, 0, height, width)
    in_view, visible, box = 0.0, 0.0, None
    if slices is not None and full_box is not None:
        region, inside = slices
        in_frame = mask[inside]
        in_view = float(in_frame.sum() / max(mask.sum(), 1e-6))
        visible = float((in_frame * (1.0 - cover[inside])).sum() / max(in_frame.sum(), 1e-6))
        left, top = max(full_box[0], 0), max(full_box[1], 0)
        right, bottom = min(full_box[2], width - 1), min(full_box[3], height - 1)
        box = (left, top, right, bottom) if right >= left and bottom >= top else None
    return frame, TargetState(in_view, visible, box, full_box, blur), others


def _light(scene: Scene, t: int, frame: np.ndarray, grid: tuple[np.ndarray, np.ndarray], noise: np.ndarray,
           offset: np.ndarray) -> np.ndarray:
    """Illumination (global gain and a spatial gradient) and sensor noise (stronger in the dark) -> uint8."""
    gx, gy = scene.light_gradient[t]
    light = np.float32(scene.gain[t]) * (1.0 + np.float32(gx) * grid[0] + np.float32(gy) * grid[1])
    frame *= light[..., None]
    sigma = scene.noise_sigma * (1.0 + 1.5 * max(0.0, 1.0 - float(scene.gain[t])))
    frame += noise[offset[1]:offset[1] + scene.height, offset[0]:offset[0] + scene.width] * np.float32(sigma)
    return np.clip(frame, 0.0, 255.0).astype(np.uint8)


def render_video(scene: Scene, jpeg_quality: int,
                 noise_rng: np.random.Generator) -> tuple[list[bytes], list[TargetState], list[dict]]:
    """Render every frame to JPEG bytes; returns (frames, target states, distractor boxes per frame)."""
    width, height = scene.width, scene.height
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    grid = ((xs - width / 2) / width, (ys - height / 2) / height)
    noise = noise_rng.standard_normal((height + 16, width + 16, 3), dtype=np.float32)
    offsets = noise_rng.integers(0, 16, (scene.n_frames, 2))
    velocities = {id(track): track.velocity for track in scene.objects}
    frames, states, others = [], [], []
    for t in range(scene.n_frames):
        frame, state, boxes = render_frame(scene, t, velocities)
        ok, encoded = cv2.imencode(".jpg", _light(scene, t, frame, grid, noise, offsets[t]),
                                   [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
        if not ok:
            raise RuntimeError(f"{scene.plan.name}: JPEG encoding failed at frame {t + 1}")
        frames.append(encoded.tobytes())
        states.append(state)
        others.append(boxes)
    return frames, states, others


def first_frame_ok(scene: Scene) -> bool:
    """LaSOT needs a visible target in frame 1: fully in view, unoccluded (about half hidden in 'occluded' mode)."""
    _, state, _ = render_frame(scene, 0, {id(track): track.velocity for track in scene.objects})
    needed = 0.3 if scene.poor_first == "occluded" else 0.85
    if state.box is None:
        return False
    big_enough = min(state.box[2] - state.box[0], state.box[3] - state.box[1]) >= 2
    return state.in_view >= 0.97 and state.visible >= needed and big_enough


# --------------------------------------------------------------------------------------------------- annotations

def lasot_boxes(states: list[TargetState]) -> np.ndarray:
    """(N, 4) int LaSOT ground truth: 1-based x, y, w, h of the tight visible box; 0,0,0,0 where absent."""
    boxes = np.zeros((len(states), 4), dtype=np.int64)
    for t, state in enumerate(states):
        if not state.absent:
            left, top, right, bottom = state.box
            boxes[t] = left + 1, top + 1, right - left + 1, bottom - top + 1
    return boxes


def video_attributes(scene: Scene, states: list[TargetState]) -> dict[str, bool]:
    """The 14 LaSOT attributes, measured on what was rendered (visible frames; boxes are the full silhouette's)."""
    target = scene.target
    present = np.array([not state.absent for state in states])
    boxes = np.array([state.full_box if state.full_box else (0, 0, 0, 0) for state in states], dtype=np.float64)
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    area, ratio = (w * h)[present], (w / h)[present]
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    step = np.hypot(*np.diff(centre, axis=0).T)
    both = present[1:] & present[:-1]
    angle_change = np.abs(target.angle - target.angle[0])[present]
    appearance = target.spec.appearance
    symmetric = appearance.category in ROTATION_SYMMETRIC and appearance.pattern == "plain"
    facing = target.facing[present]
    lr_area = LASOT_LR_AREA * scene.width * scene.height / (640 * 360)
    return {
        "IV": bool(scene.gain.max() / scene.gain.min() >= 1.5),
        "POC": any(not s.absent and s.visible < 0.85 for s in states),
        "DEF": bool(np.abs(np.log(target.squash[present])).max() >= 0.15),
        "MB": any(not s.absent and s.blur >= max(2.0, 0.15 * size) for s, size in zip(states, np.sqrt(w * h)))
        or bool((scene.target_defocus[present] >= 1.0).any()),
        "CM": bool(np.abs(scene.camera).max() >= 0.05 * scene.width),
        "ROT": bool(not symmetric and angle_change.max() > np.deg2rad(30)),
        "BC": bool(scene.clutter),
        "VC": bool(np.abs(facing).min() < 0.6 or len(np.unique(np.sign(facing))) > 1),
        "SV": bool(area.max() / area.min() > 2.0),
        "FOC": any(s.fully_occluded for s in states),
        "FM": bool((both & (step > np.sqrt(w * h)[:-1])).any()),
        "OV": any(s.out_of_view for s in states),
        "LR": bool((area < lr_area).any()),
        "ARC": bool(ratio.max() / ratio.min() > 2.0),
    }
