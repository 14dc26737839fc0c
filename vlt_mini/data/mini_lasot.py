"""The synthetic, language-grounded mini-LaSOT: the embedded default dataset, in LaSOT's exact layout.

Layout (as LaSOT, Fan et al. CVPR 2019; docs/datasets.md)::

    <root>/<class>/<class>-<k>/img/00000001.jpg ...   frames (cv2 JPEG at a fixed quality)
                               groundtruth.txt        x,y,w,h integers, 1-based (x = 0-based left column + 1);
                                                      0,0,0,0 where the target is absent
                               full_occlusion.txt     one line of comma-separated 0/1
                               out_of_view.txt        one line of comma-separated 0/1
                               nlp.txt                one sentence
    <root>/training_set.txt, validation_set.txt, testing_set.txt   one sequence name per line (class-balanced)
    <root>/att/<seq>.txt       the 14 flags IV,POC,DEF,MB,CM,ROT,BC,VC,SV,FOC,FM,OV,LR,ARC (LaSOT toolkit format)
    <root>/meta/<seq>.json     how the video was made (objects, roles, per-frame visibility, distractor boxes)
    <root>/generation.json     profile, seed, config and generator version; README.md describes the folder

The class of a video is its target's category; each video has one target and distractors that share its category,
its colour or both (near-twins), so the sentence carries information a tracker needs. Generation is deterministic:
video ``i`` draws from ``np.random.default_rng([seed, i])`` only, so the same seed and profile give byte-identical
files whatever the number of worker processes. Each video is written into a hidden temporary folder and renamed into
place, so an interrupted run leaves no half video and a re-run resumes.

This file: the config and profiles, the split / challenge plan, writing videos and the folder. The rest:
``mini_lasot_sentence`` (the cast of a scene and its sentence), ``mini_lasot_scene`` (motion, occluders, camera,
light), ``mini_lasot_render`` (drawing), ``mini_lasot_video`` (rendering a scene; LaSOT flags and attributes).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vlt_mini.config import check_profile, config_to_dict
from vlt_mini.profiles import profile_settings
from vlt_mini.data.mini_lasot_render import CATEGORIES
from vlt_mini.data.mini_lasot_scene import CHALLENGES, VideoPlan, build_scene
from vlt_mini.data.mini_lasot_video import (
    ABSENT_FRACTION, LASOT_LR_AREA, first_frame_ok, lasot_boxes, render_video, video_attributes,
)
from vlt_mini.data.sequence import LASOT_ATTRIBUTES
from vlt_mini.io import atomic_write_text

# 2: longer videos at LaSOT's motion (stretches of still / slow / brisk motion), scale and light drift in every
#    video, look-alikes crossing the target, LaSOT-like absence; 1: the first version (short, fast videos).
GENERATOR_VERSION = 2
MIN_PRESENT = 0.75       # a video is redrawn while the target is absent in more than a quarter of its frames
MAX_ATTEMPTS = 40        # ... at most this often (then the last scene with a usable first frame is kept)
PLAN_STREAM = 2**31 - 1  # the RNG stream of the split / challenge plan (video streams use 0, 1, 2, ...)


@dataclass
class MiniLaSOTConfig:
    """Sizes and counts of one mini-LaSOT (the defaults: the ``paper`` profile); ``for_profile(name)``."""

    frame_width: int = 640
    frame_height: int = 360
    min_frames: int = 280
    max_frames: int = 1000
    categories: tuple[str, ...] = CATEGORIES
    train_per_class: int = 20            # the test split has test_per_class videos of every class, like LaSOT
    val_per_class: int = 4
    test_per_class: int = 28
    min_distractors: int = 3
    max_distractors: int = 6
    object_size: float = 0.14            # nominal object diameter / the frame's shorter side
    jpeg_quality: int = 90
    poor_first_frame_fraction: float = 0.25
    twin_probability: float = 0.7        # a near-twin (same category and colour) is in the scene
    # Fraction of the videos of each split planned with each challenge (exact counts, chosen at random).
    scale_variation: float = 0.5
    deformation: float = 0.5
    rotation: float = 0.55
    motion_blur: float = 0.3
    illumination: float = 0.25
    fast_motion: float = 0.2
    camera_motion: float = 0.35
    clutter: float = 0.4
    partial_occlusion: float = 0.45
    full_occlusion: float = 0.3
    out_of_view: float = 0.3
    viewpoint: float = 0.15

    @classmethod
    def for_profile(cls, profile: str) -> "MiniLaSOTConfig":
        """``tiny``: CI (16 videos, seconds); ``cpu``: a laptop (90 videos, ~25k frames); ``paper``: a GPU box (the
        defaults). The numbers are in ``vlt_mini.profiles``."""
        return cls(**profile_settings(profile, "mini_lasot"))

    @property
    def per_class(self) -> int:
        return self.train_per_class + self.val_per_class + self.test_per_class

    @property
    def split_sizes(self) -> dict[str, int]:
        n = len(self.categories)
        return {"train": self.train_per_class * n, "val": self.val_per_class * n, "test": self.test_per_class * n}

    def validate(self) -> "MiniLaSOTConfig":
        """Raise a ValueError naming the field for settings that cannot make a dataset."""
        problems = []
        unknown = [c for c in self.categories if c not in CATEGORIES]
        if unknown or not self.categories or len(set(self.categories)) != len(self.categories):
            problems.append(f"categories: need distinct names from {', '.join(CATEGORIES)}; "
                            f"got {list(self.categories)}")
        if self.frame_width < 64 or self.frame_height < 48:
            problems.append(f"frame size {self.frame_width}x{self.frame_height}: at least 64x48")
        if not 4 <= self.min_frames <= self.max_frames:
            problems.append(f"min_frames/max_frames: need 4 <= min_frames <= max_frames, "
                            f"got {self.min_frames}, {self.max_frames}")
        if min(self.train_per_class, self.val_per_class) < 0 or self.test_per_class < 1:
            problems.append("train_per_class/val_per_class must be >= 0 and test_per_class >= 1")
        if not 1 <= self.min_distractors <= self.max_distractors:
            problems.append(f"min_distractors/max_distractors: need 1 <= min <= max, "
                            f"got {self.min_distractors}, {self.max_distractors}")
        if not 0.05 <= self.object_size <= 0.4:
            problems.append(f"object_size {self.object_size}: expected 0.05..0.4 of the shorter frame side")
        if not 1 <= self.jpeg_quality <= 100:
            problems.append(f"jpeg_quality {self.jpeg_quality}: expected 1..100")
        for name in ("poor_first_frame_fraction", "twin_probability", *CHALLENGES):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} {getattr(self, name)}: expected a fraction in [0, 1]")
        if problems:
            raise ValueError("invalid mini-LaSOT config: " + "; ".join(problems))
        return self


# ------------------------------------------------------------------------------------------------------ planning

def plan_videos(config: MiniLaSOTConfig, seed: int) -> list[VideoPlan]:
    """Names, splits and planned challenges of every video; depends on (config, seed) only.

    Within each class, which ``<class>-<k>`` go to test / val / train is drawn at random (LaSOT's test videos are
    scattered too). Within each split, each challenge is planned for exactly round(fraction x size) videos.
    """
    rng = np.random.default_rng([seed, PLAN_STREAM])
    plans: list[VideoPlan] = []
    for category in config.categories:
        order = rng.permutation(config.per_class) + 1
        splits = (["test"] * config.test_per_class + ["val"] * config.val_per_class
                  + ["train"] * config.train_per_class)
        chosen = dict(zip(order.tolist(), splits))
        for k in range(1, config.per_class + 1):
            plans.append(VideoPlan(f"{category}-{k}", category, len(plans), chosen[k]))
    for split in ("train", "val", "test"):
        members = [plan for plan in plans if plan.split == split]
        planned: dict[int, set[str]] = {plan.index: set() for plan in members}
        for challenge in (*CHALLENGES, "poor_first"):
            fraction = config.poor_first_frame_fraction if challenge == "poor_first" else getattr(config, challenge)
            for position in rng.permutation(len(members))[:int(round(fraction * len(members)))]:
                planned[members[position].index].add(challenge)
        for plan in members:
            plan.poor_first = "poor_first" in planned[plan.index]
            plan.challenges = frozenset(planned[plan.index] - {"poor_first"})
    return plans


def _flags_line(values) -> str:
    return ",".join(str(int(v)) for v in values) + "\n"


def _box_or_none(box) -> list[int] | None:
    return None if box is None else [box[0] + 1, box[1] + 1, box[2] - box[0] + 1, box[3] - box[1] + 1]


def generate_video(root: Path, config: MiniLaSOTConfig, seed: int, plan: VideoPlan) -> int:
    """Generate one video into ``root`` (temporary folder, then rename); returns its number of frames."""
    cv2.setNumThreads(1)
    rng = np.random.default_rng([seed, plan.index])
    n_frames = int(rng.integers(config.min_frames, config.max_frames + 1))
    drawn = None
    for attempt in range(1, MAX_ATTEMPTS + 1):  # redraw scenes whose first frame or visibility is unusable
        scene = build_scene(rng, plan, n_frames, config.frame_width, config.frame_height, config.object_size,
                            (config.min_distractors, config.max_distractors), config.twin_probability)
        if not first_frame_ok(scene):
            continue
        drawn = scene, render_video(scene, config.jpeg_quality, np.random.default_rng([seed, plan.index, 1]))
        if sum(not state.absent for state in drawn[1][1]) >= MIN_PRESENT * n_frames:
            break
    if drawn is None:
        raise RuntimeError(f"{plan.name}: no scene with a usable first frame in {MAX_ATTEMPTS} attempts (seed {seed})")
    scene, (frames, states, others) = drawn
    final = root / plan.category / plan.name
    partial = root / plan.category / f".{plan.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    (partial / "img").mkdir(parents=True)
    for number, data in enumerate(frames, start=1):
        (partial / "img" / f"{number:08d}.jpg").write_bytes(data)
    boxes = lasot_boxes(states)
    texts = {
        "groundtruth.txt": "".join(f"{x},{y},{w},{h}\n" for x, y, w, h in boxes),
        "full_occlusion.txt": _flags_line(state.fully_occluded for state in states),
        "out_of_view.txt": _flags_line(state.out_of_view for state in states),
        "nlp.txt": scene.sentence,  # no newline, as LaSOT's
    }
    for filename, text in texts.items():
        (partial / filename).write_text(text, encoding="utf-8", newline="\n")  # the same bytes on every platform
    attributes = video_attributes(scene, states)
    if final.exists():
        remove_generated_video(final)
    os.replace(partial, final)
    atomic_write_text(root / "att" / f"{plan.name}.txt", _flags_line(attributes[name] for name in LASOT_ATTRIBUTES))
    meta = {
        "name": plan.name, "split": plan.split, "class": plan.category, "frames": n_frames,
        "width": scene.width, "height": scene.height, "sentence": scene.sentence, "attempts": attempt,
        "planned_challenges": sorted(plan.challenges), "attributes": attributes,
        "poor_first_frame": scene.poor_first, "poor_frames": scene.poor_frames, "twin": scene.extras["twin"],
        "sentence_facts": scene.extras["sentence_facts"],
        "crossings": {str(number): frames for number, frames in scene.extras["crossings"].items()},
        "target": scene.target.spec.as_dict(),
        "distractors": [track.spec.as_dict() for track in scene.distractors],
        "occluders": [occluder.purpose for occluder in scene.occluders],
        "in_view": [round(s.in_view, 3) for s in states],
        "visible": [round(s.visible, 3) for s in states],
        "gain": [round(float(g), 3) for g in scene.gain],
        "target_full_box": [_box_or_none(s.full_box) for s in states],
        "distractor_boxes": [[_box_or_none(boxes_t[id(track)]) for boxes_t in others] for track in scene.distractors],
    }
    atomic_write_text(root / "meta" / f"{plan.name}.json", json.dumps(meta, indent=1) + "\n")
    return n_frames


# ------------------------------------------------------------------------------------------------------ the folder

def generation_record(config: MiniLaSOTConfig, profile: str, seed: int) -> dict:
    """What ``generation.json`` holds: a re-run into the same folder must ask for exactly this."""
    return {"dataset": "mini-lasot", "generator": "vlt_mini.data.mini_lasot", "version": GENERATOR_VERSION,
            "profile": profile, "seed": int(seed), "config": config_to_dict(config)}


def default_folder_name(profile: str, seed: int) -> str:
    """The folder the notebooks, the demo and the ablations generate mini-LaSOT into: the generator's version is part
    of the name, so that a checkout updated to a new generator makes new data instead of meeting the old."""
    return f"mini-lasot-v{GENERATOR_VERSION}-{check_profile(profile)}-seed{int(seed)}"


def dataset_version(root) -> str | None:
    """``"mini-lasot v<N>"`` for a generated mini-LaSOT at ``root`` (its ``generation.json``), None for any other
    dataset folder; results folders and ablation runs record it, so numbers made on different generator versions
    are never mixed up."""
    marker = Path(root).expanduser() / "generation.json"
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        return f"{record['dataset']} v{int(record['version'])}"
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{marker}: unreadable generation record ({error})") from None


def _prepare_root(root: Path, record: dict) -> None:
    """Create ``root`` or check that it holds a run of the same generation; clear leftovers of interrupted runs."""
    marker = root / "generation.json"
    if root.exists() and not root.is_dir():
        raise NotADirectoryError(f"mini-LaSOT output {root} exists and is not a folder; pick another --out")
    if marker.is_file():
        try:
            existing = json.loads(marker.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{marker}: unreadable ({error}); pick another --out folder or delete this one") from None
        if existing != record:
            def summary(item: dict) -> str:
                same_config = item.get("config") == record["config"] or item is record
                return (f"profile={item.get('profile')!r}, seed={item.get('seed')!r}, version={item.get('version')!r}"
                        + ("" if same_config else ", a different config"))
            raise ValueError(
                f"{root} already holds a mini-LaSOT generated with {summary(existing)}, but this run asks for "
                f"{summary(record)}; pick another --out folder (or delete {root} to regenerate it)"
            )
    elif root.is_dir() and any(root.iterdir()):
        raise ValueError(f"{root} is not empty and holds no mini-LaSOT (no generation.json); "
                         "pick a new or empty folder")
    else:
        root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(marker, json.dumps(record, indent=2) + "\n")
    for leftover in root.glob("*/.*.partial"):
        shutil.rmtree(leftover)


def _is_complete(root: Path, plan: VideoPlan) -> bool:
    """A video is complete once its folder was renamed into place and its meta file (written last) exists."""
    folder = root / plan.category / plan.name
    if (root / "meta" / f"{plan.name}.json").is_file() and folder.is_dir():
        return True
    if folder.exists():  # renamed but interrupted before att/meta (or meta lost): regenerate it (same bytes)
        remove_generated_video(folder)
    return False


GENERATED_TEXT_FILES = ("groundtruth.txt", "full_occlusion.txt", "out_of_view.txt", "nlp.txt")


def remove_generated_video(folder: Path) -> None:
    """Remove the files the generator writes into a video folder (``img/NNNNNNNN.jpg`` and the annotation files),
    then the folder if it is empty. Anything else in it is the user's: it is never deleted, and the video cannot be
    regenerated until it is moved away (a ValueError names it)."""
    image_folder = folder / "img"
    ours = [folder / name for name in GENERATED_TEXT_FILES]
    if image_folder.is_dir():
        ours += [path for path in image_folder.iterdir()
                 if len(path.stem) == 8 and path.stem.isdigit() and path.suffix == ".jpg" and path.is_file()]
    ours_set = set(ours)
    others = [path for path in folder.rglob("*") if path not in ours_set and path != image_folder]
    if others:
        raise ValueError(f"{folder} must be regenerated (its meta file is missing) but also holds files the generator "
                         f"did not write ({', '.join(str(p.relative_to(folder)) for p in sorted(others)[:3])}"
                         f"{', ...' if len(others) > 3 else ''}); move them elsewhere and run the same command again")
    for path in ours:
        if path.is_file():
            path.unlink()
    if image_folder.is_dir():
        image_folder.rmdir()
    folder.rmdir()


def default_workers(frames: int) -> int:
    """Worker processes for ``frames`` frames: 1 below 3000 (starting processes costs more), else the cores (<= 8)."""
    if frames < 3000:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def generate_mini_lasot(out: str | Path, profile: str = "tiny", seed: int = 0, progress: bool = True,
                        config: MiniLaSOTConfig | None = None, workers: int | None = None) -> Path:
    """Generate the synthetic mini-LaSOT into ``out`` (created if missing) and return its path.

    ``profile`` picks the sizes (``MiniLaSOTConfig.for_profile``) unless ``config`` is given. Re-running into the
    same folder skips finished videos (a run interrupted at any point resumes); a folder generated with another
    profile, seed or config raises a ValueError. ``workers`` processes (default: 1 for small runs, else up to 8)
    generate videos in parallel; the files are the same whatever their number.
    """
    check_profile(profile)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    config = (config or MiniLaSOTConfig.for_profile(profile)).validate()
    root = Path(out).expanduser()
    _prepare_root(root, generation_record(config, profile, seed))
    plans = plan_videos(config, seed)
    pending = [plan for plan in plans if not _is_complete(root, plan)]
    expected_frames = len(pending) * (config.min_frames + config.max_frames) // 2
    workers = default_workers(expected_frames) if workers is None else max(1, int(workers))
    bar = None
    if progress and pending:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(plans), initial=len(plans) - len(pending), unit="video",
                   desc=f"mini-LaSOT {profile}")  # short: a long label wraps the notebook's progress bar
    started, frames_done = time.perf_counter(), 0

    def advance(frames: int) -> None:
        nonlocal frames_done
        frames_done += frames
        if bar is not None:
            bar.update(1)
            bar.set_postfix(frames_per_s=f"{frames_done / max(time.perf_counter() - started, 1e-9):.0f}")

    try:
        if workers == 1 or len(pending) <= 1:
            for plan in pending:
                advance(generate_video(root, config, seed, plan))
        else:
            import multiprocessing

            # "spawn": safe beside threads (torch, notebooks); videos are independent: any order, the same files.
            pool = ProcessPoolExecutor(max_workers=min(workers, len(pending)),
                                       mp_context=multiprocessing.get_context("spawn"))
            try:
                for frames in pool.map(generate_video, [root] * len(pending), [config] * len(pending),
                                       [seed] * len(pending), pending):
                    advance(frames)
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # do not finish the queue after Ctrl-C or an error
                raise
            pool.shutdown()
    finally:
        if bar is not None:
            bar.close()
    _write_index(root, config, profile, seed, plans)
    return root


def _write_index(root: Path, config: MiniLaSOTConfig, profile: str, seed: int, plans: list[VideoPlan]) -> None:
    """Split files and the README, written once every video is in place."""
    for split, filename in (("train", "training_set.txt"), ("val", "validation_set.txt"), ("test", "testing_set.txt")):
        names = [plan.name for plan in plans if plan.split == split]
        atomic_write_text(root / filename, "".join(f"{name}\n" for name in names))
    metas = [json.loads((root / "meta" / f"{plan.name}.json").read_text(encoding="utf-8")) for plan in plans]
    atomic_write_text(root / "README.md", _readme(config, profile, seed, plans, metas))


def _readme(config: MiniLaSOTConfig, profile: str, seed: int, plans: list[VideoPlan], metas: list[dict]) -> str:
    frames = sum(meta["frames"] for meta in metas)
    counts = {split: sum(plan.split == split for plan in plans) for split in ("train", "val", "test")}
    rates = {name: np.mean([meta["attributes"][name] for meta in metas]) * 100 for name in LASOT_ATTRIBUTES}
    poor = sum(meta["poor_first_frame"] is not None for meta in metas)
    lr_area = LASOT_LR_AREA * config.frame_width * config.frame_height / (640 * 360)
    examples = "\n".join(f"- `{meta['name']}`: {meta['sentence']}" for meta in metas[:: max(1, len(metas) // 6)][:6])
    return f"""# mini-LaSOT ({profile} profile, seed {seed})

A synthetic, language-grounded tracking dataset generated by `vlt_mini.data.mini_lasot` (version
{GENERATOR_VERSION}) in LaSOT's exact layout, so that every LaSOT reader and the LaSOT toolkit read it as they read
LaSOT. Regenerate it with `vlt-mini data mini-lasot --out DIR --profile {profile} --seed {seed}`: the same profile and
seed give byte-identical files.

- {len(plans)} videos ({counts['train']} train / {counts['val']} validation / {counts['test']} test, class-balanced),
  {frames} frames of {config.frame_width}x{config.frame_height} px (JPEG quality {config.jpeg_quality}),
  {len(config.categories)} classes: {', '.join(config.categories)}.
- Each video has one target (its class is the target's category) and {config.min_distractors}-{config.max_distractors}
  distractors: the target's category in another colour, its colour on another category and, in some videos, a
  near-twin (same category and colour, differing only in pattern or size). The sentence in `nlp.txt` always names
  the target's colour and category and the word that separates it from its near-twin, and may add its motion and
  place in the first frames; every word is true of the target.
- Videos of {config.min_frames}-{config.max_frames} frames move at LaSOT's pace (stretches of still, slow, steady and
  brisk motion; a median per-frame centre motion of about 2 % of the target's size); every target drifts in scale
  and light, look-alikes (the near-twin, same-category distractors) come back to cross its path, and full occlusions
  are blocks sliding across it.
- In {poor} videos the first frames are poor (the target small, half hidden, out of focus or in the dark) while the
  sentence stays exact; `meta/<seq>.json` says which.

Examples:
{examples}

## Files
- `<class>/<class>-<k>/img/%08d.jpg`, `groundtruth.txt` (x,y,w,h, 1-based: x = 0-based left column + 1; the tight
  box of the target's whole silhouette clipped to the frame, also while partly occluded; `0,0,0,0` while absent),
  `full_occlusion.txt`, `out_of_view.txt` (one line of 0/1), `nlp.txt`.
- `training_set.txt`, `validation_set.txt`, `testing_set.txt`: one sequence per line.
- `att/<seq>.txt`: IV,POC,DEF,MB,CM,ROT,BC,VC,SV,FOC,FM,OV,LR,ARC as 0/1, measured on the rendered video.
- `meta/<seq>.json`: objects and their roles, planned challenges, per-frame in-view and unoccluded fractions of the
  target, its unclipped box and the distractors' boxes (1-based x,y,w,h, null when not drawn), and `crossings`: for
  each distractor sent across the target's path (by its index), the frames at which it meets the target.
- `generation.json`: profile, seed, config and generator version.

## Conventions
- The target is out of view (OV) when less than {ABSENT_FRACTION:.0%} of its silhouette is inside the frame, fully
  occluded (FOC) when less than {ABSENT_FRACTION:.0%} of its in-view part is uncovered.
- Attributes: SV when the box area max/min over the visible frames > 2, ARC when the aspect-ratio max/min > 2 (both
  on the full, unclipped silhouette box), FM when the centre moves more than sqrt(w h) between visible frames, LR when
  a visible box is smaller than LaSOT's 1000 px scaled to this frame size ({lr_area:.0f} px), IV when the global light
  varies by x1.5, POC when more than 15 % of the in-view target is covered, MB when the motion blur is longer than
  15 % of the box size (and 2 px) or the target is out of focus,
  CM when the camera pans by >= 5 % of the width, ROT when the target turns by > 30 degrees (not counted for plain
  balls and rings), VC when it turns around (a mirror view), DEF when it is squashed by > 15 %, BC when the
  background holds patches of the target's colour.

Attribute rates (% of videos): {', '.join(f'{name} {rate:.0f}' for name, rate in rates.items())}.
"""
