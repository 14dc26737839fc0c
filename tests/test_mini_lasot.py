"""The synthetic mini-LaSOT: LaSOT's exact layout and formats, determinism, and sentences that are true and needed."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from vlt_mini.data.mini_lasot import MiniLaSOTConfig, generate_mini_lasot, plan_videos
from vlt_mini.data.mini_lasot_video import TargetState, lasot_boxes
from vlt_mini.data.mini_lasot_render import CATEGORIES, COLOURS, PATTERNS, Appearance, render_object, silhouette_box
from vlt_mini.data.sequence import LASOT_ATTRIBUTES

SPLIT_FILES = ("training_set.txt", "validation_set.txt", "testing_set.txt")
TINY = MiniLaSOTConfig.for_profile("tiny")


def _names(root: Path, filename: str) -> list[str]:
    return (root / filename).read_text().split()


def _all_names(root: Path) -> list[str]:
    return [name for filename in SPLIT_FILES for name in _names(root, filename)]


def _meta(root: Path, name: str) -> dict:
    return json.loads((root / "meta" / f"{name}.json").read_text())


def _sequence(root: Path, name: str) -> Path:
    return root / name.rsplit("-", 1)[0] / name


def _flags(path: Path) -> np.ndarray:
    text = path.read_text()
    assert text.count("\n") <= 1 and "\n" not in text.strip(), f"{path}: flags must be one line"
    return np.array([int(value) for value in text.strip().split(",")])


def _boxes(path: Path) -> np.ndarray:
    lines = path.read_text().splitlines()
    assert all(re.fullmatch(r"-?\d+,-?\d+,\d+,\d+", line) for line in lines), f"{path}: x,y,w,h integers per line"
    return np.array([[int(v) for v in line.split(",")] for line in lines])


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(root.rglob("*")) if path.is_file()}


def test_layout_and_formats_are_lasot(tiny_mini_lasot):
    root = tiny_mini_lasot
    names = _all_names(root)
    assert len(names) == sum(TINY.split_sizes.values()) == 16
    record = json.loads((root / "generation.json").read_text())
    assert (record["profile"], record["seed"], record["dataset"]) == ("tiny", 0, "mini-lasot")
    assert "16 videos" in (root / "README.md").read_text()
    for name in names:
        folder = _sequence(root, name)
        assert sorted(p.name for p in folder.iterdir()) == [
            "full_occlusion.txt", "groundtruth.txt", "img", "nlp.txt", "out_of_view.txt"]
        frames = sorted((folder / "img").iterdir())
        assert [p.name for p in frames] == [f"{i:08d}.jpg" for i in range(1, len(frames) + 1)]
        assert TINY.min_frames <= len(frames) <= TINY.max_frames
        image = cv2.imread(str(frames[-1]))
        assert image.shape == (TINY.frame_height, TINY.frame_width, 3)
        assert frames[0].read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG
        assert len(_boxes(folder / "groundtruth.txt")) == len(frames)
        assert len(_flags(folder / "full_occlusion.txt")) == len(frames)
        assert set(_flags(folder / "out_of_view.txt")) <= {0, 1}
        sentence = (folder / "nlp.txt").read_text()
        assert sentence == sentence.strip().lower() and "\n" not in sentence and len(sentence.split()) >= 2
        attributes = _flags(root / "att" / f"{name}.txt")
        assert len(attributes) == len(LASOT_ATTRIBUTES) == 14 and set(attributes) <= {0, 1}


def test_splits_are_disjoint_complete_and_class_balanced(tiny_mini_lasot):
    root = tiny_mini_lasot
    splits = {filename: _names(root, filename) for filename in SPLIT_FILES}
    names = _all_names(root)
    assert len(set(names)) == len(names)
    on_disk = {p.name for p in root.glob("*/*") if (p / "img").is_dir()}
    assert on_disk == set(names)
    for filename, per_class in zip(SPLIT_FILES, (TINY.train_per_class, TINY.val_per_class, TINY.test_per_class)):
        classes = [name.rsplit("-", 1)[0] for name in splits[filename]]
        assert sorted(classes) == sorted(list(TINY.categories) * per_class)
    split_of = {name: split for filename, split in zip(SPLIT_FILES, ("train", "val", "test"))
                for name in splits[filename]}
    assert all(_meta(root, name)["split"] == split_of[name] for name in names)


def test_same_seed_gives_identical_bytes_other_seed_differs(tiny_mini_lasot, tmp_path):
    again = generate_mini_lasot(tmp_path / "again", profile="tiny", seed=0, progress=False, workers=2)
    first, second = _tree_hashes(tiny_mini_lasot), _tree_hashes(again)
    assert first.keys() == second.keys()
    assert [key for key in first if first[key] != second[key]] == []
    config = dataclasses.replace(TINY, categories=("ball",), train_per_class=1, val_per_class=0, test_per_class=1)
    other = _tree_hashes(generate_mini_lasot(tmp_path / "other", seed=1, progress=False, config=config))
    same = _tree_hashes(generate_mini_lasot(tmp_path / "same", seed=0, progress=False, config=config))
    frames = [key for key in other if key.endswith(".jpg")]
    assert frames and any(other[key] != same.get(key) for key in frames)


def test_sentences_are_true_and_pick_out_the_target(tiny_mini_lasot):
    root = tiny_mini_lasot
    for name in _all_names(root):
        meta, sentence = _meta(root, name), (_sequence(root, name) / "nlp.txt").read_text()
        words = sentence.split()
        target = meta["target"]
        assert target["category"] == name.rsplit("-", 1)[0]
        assert target["category"] in words and target["colour"] in words, sentence
        assert [w for w in words if w in COLOURS] == [target["colour"]]
        assert [w for w in words if w in CATEGORIES] == [target["category"]]
        assert {w for w in words if w in PATTERNS} <= {target["pattern"]}
        assert {w for w in words if w in ("small", "large")} <= {target["size"]}
        # Some distractor shares the category or the colour, and none fits every word of the sentence.
        distractors = meta["distractors"]
        assert any(d["category"] == target["category"] or d["colour"] == target["colour"] for d in distractors)
        for d in distractors:
            fits = d["category"] == target["category"] and d["colour"] == target["colour"]
            fits &= not any(w in PATTERNS and w != d["pattern"] for w in words)
            fits &= not any(w in ("small", "large") and w != d["size"] for w in words)
            assert not fits, f"{name}: {sentence!r} also describes distractor {d}"
        if meta["twin"] == "pattern":
            assert target["pattern"] in words
        if meta["twin"] == "size":
            assert target["size"] in words


def test_place_and_motion_words_match_the_ground_truth(tiny_mini_lasot):
    root = tiny_mini_lasot
    checked = 0
    for name in _all_names(root):
        meta, sentence = _meta(root, name), (_sequence(root, name) / "nlp.txt").read_text()
        boxes = np.array([b if b else [0, 0, 0, 0] for b in meta["target_full_box"]], dtype=float)
        centre = boxes[:, :2] - 1 + (boxes[:, 2:] - 1) / 2
        x, y = centre[0] / (meta["width"], meta["height"])
        place = re.search(r"(in|on|at) the (.+) of the scene", sentence)
        if place:
            checked += 1
            where = place.group(2)
            if "left" in where:
                assert x < 1 / 3 + 0.02, sentence
            if "right" in where:
                assert x > 2 / 3 - 0.02, sentence
            if "upper" in where or where == "top":
                assert y < 1 / 3 + 0.02, sentence
            if "lower" in where or where == "bottom":
                assert y > 2 / 3 - 0.02, sentence
        directions = "upper right|upper left|lower right|lower left|left|right|up|down"
        motion = re.search(rf"(?:moving|rolling|driving|flying) (?:to the )?({directions})\b", sentence)
        if motion:
            checked += 1
            steps = min(len(boxes) - 1, max(3, len(boxes) // 8))
            dx, dy = centre[steps] - centre[0]
            direction = motion.group(1)
            if "right" in direction:
                assert dx > 0, sentence
            if "left" in direction:
                assert dx < 0, sentence
            if direction in ("up", "upper left", "upper right"):
                assert dy < 0, sentence
            if direction in ("down", "lower left", "lower right"):
                assert dy > 0, sentence
    assert checked >= 4


def test_boxes_inside_frame_and_flags_consistent(tiny_mini_lasot):
    root = tiny_mini_lasot
    seen = {"FOC": 0, "OV": 0}
    for name in _all_names(root):
        folder = _sequence(root, name)
        boxes = _boxes(folder / "groundtruth.txt")
        occluded, out_of_view = _flags(folder / "full_occlusion.txt"), _flags(folder / "out_of_view.txt")
        absent = (occluded == 1) | (out_of_view == 1)
        assert not absent[0], f"{name}: the target must be visible in the first frame"
        assert (boxes[absent] == 0).all(), f"{name}: absent frames are written 0,0,0,0"
        visible = boxes[~absent]
        assert (visible[:, 2:] > 0).all()
        assert (visible[:, 0] >= 1).all() and (visible[:, 1] >= 1).all()  # 1-based
        assert (visible[:, 0] + visible[:, 2] - 1 <= TINY.frame_width).all()
        assert (visible[:, 1] + visible[:, 3] - 1 <= TINY.frame_height).all()
        attributes = dict(zip(LASOT_ATTRIBUTES, _flags(root / "att" / f"{name}.txt")))
        assert attributes["FOC"] == int(occluded.any()) and attributes["OV"] == int(out_of_view.any())
        meta = _meta(root, name)
        assert {key: int(value) for key, value in meta["attributes"].items()} == attributes
        if attributes["SV"]:
            areas = visible[:, 2] * visible[:, 3]
            full = np.array([b[2] * b[3] for b, a in zip(meta["target_full_box"], absent) if not a])
            assert full.max() / full.min() > 2 and areas.max() > areas.min()
        seen["FOC"] += attributes["FOC"]
        seen["OV"] += attributes["OV"]
    assert seen["FOC"] > 0 and seen["OV"] > 0


def test_poor_first_frames_are_present_and_poor(tiny_mini_lasot):
    root = tiny_mini_lasot
    names = _all_names(root)
    poor = {name: _meta(root, name) for name in names if _meta(root, name)["poor_first_frame"]}
    expected = sum(round(TINY.poor_first_frame_fraction * size) for size in TINY.split_sizes.values())
    assert len(poor) == expected > 0
    for name, meta in poor.items():
        folder, mode, later = _sequence(root, name), meta["poor_first_frame"], meta["poor_frames"] + 1
        boxes = _boxes(folder / "groundtruth.txt")
        if mode == "small":
            assert boxes[0, 2] * boxes[0, 3] < 0.5 * np.median(boxes[later:, 2] * boxes[later:, 3])
        elif mode == "occluded":
            assert meta["visible"][0] < 0.75
        elif mode == "dark":
            assert meta["gain"][0] < 0.6 * meta["gain"][later]
            first = cv2.imread(str(folder / "img" / "00000001.jpg")).mean()
            assert first < 0.75 * cv2.imread(str(folder / "img" / f"{later:08d}.jpg")).mean()
        elif mode == "blurred":
            assert meta["attributes"]["MB"]


def test_target_pixels_are_inside_the_box(tiny_mini_lasot):
    """On clear frames the centre of the box holds the target's colour; the background around the box does not."""
    root = tiny_mini_lasot
    results = []
    for name in _all_names(root):
        meta = _meta(root, name)
        folder = _sequence(root, name)
        boxes = _boxes(folder / "groundtruth.txt")
        clear = [t for t in range(meta["poor_frames"], meta["frames"])
                 if meta["visible"][t] > 0.98 and meta["in_view"][t] > 0.99 and 0.85 < meta["gain"][t] < 1.2]
        if not clear:
            continue
        t = clear[len(clear) // 2]
        image = cv2.imread(str(folder / "img" / f"{t + 1:08d}.jpg")).astype(float)
        x, y, w, h = boxes[t] - (1, 1, 0, 0)  # 0-based
        inside = np.zeros(image.shape[:2], bool)
        inside[y + h // 3:y + h - h // 3, x + w // 3:x + w - w // 3] = True
        outside = np.zeros(image.shape[:2], bool)  # a ring of local background around the box
        margin = max(w, h) // 2 + 2
        outside[max(0, y - margin):y + h + margin, max(0, x - margin):x + w + margin] = True
        outside[max(0, y - 2):y + h + 2, max(0, x - 2):x + w + 2] = False
        # Pixels of the target's base colour (up to shading and lighting) fill the box centre, not its surroundings.
        base = np.array(COLOURS[meta["target"]["colour"]], dtype=float) * meta["gain"][t]
        distance = np.min([np.linalg.norm(image - base * k, axis=2) for k in (0.7, 0.85, 1.0, 1.15, 1.3)], axis=0)
        near_inside, near_outside = (distance[inside] < 45).mean(), (distance[outside] < 45).mean()
        results.append((name, round(near_inside, 2), round(near_outside, 2)))
    # Patterns, background clutter of the target's colour and near-twins blur single cases; the trend must be clear.
    margins = np.array([inside - outside for _, inside, outside in results])
    assert len(results) >= 8 and np.median(margins) > 0.25 and (margins > 0).mean() >= 0.8, results


def test_box_convention_is_lasot_one_based():
    """A ball of radius 10 centred on pixel (50, 40) covers 0-based columns 40..60: LaSOT writes x = 41, w = 21, and
    the toolkit's centre x + (w - 1) / 2 = 51 is the 1-based centre pixel."""
    layer = render_object(Appearance("ball", "red", "plain"), (50.0, 40.0), 10.0, 0.0, 1.0, 1.0)
    box = silhouette_box(layer.mask, layer.x0, layer.y0)
    assert box == (40, 30, 60, 50)
    visible = TargetState(in_view=1.0, visible=1.0, box=box, full_box=box, blur=0.0)
    hidden = TargetState(in_view=1.0, visible=0.05, box=box, full_box=box, blur=0.0)
    gone = TargetState(in_view=0.05, visible=1.0, box=None, full_box=box, blur=0.0)
    assert lasot_boxes([visible, hidden, gone]).tolist() == [[41, 31, 21, 21], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert (hidden.fully_occluded, hidden.out_of_view) == (True, False)
    assert (gone.out_of_view, gone.fully_occluded) == (True, False)


def test_resume_skips_finished_videos_and_refuses_another_generation(tmp_path):
    config = dataclasses.replace(TINY, categories=("star", "ring"), train_per_class=1, val_per_class=0,
                                 test_per_class=1, min_frames=8, max_frames=10)
    root = generate_mini_lasot(tmp_path / "data", seed=3, progress=False, config=config)
    before = _tree_hashes(root)
    name = _names(root, "testing_set.txt")[0]
    shutil.rmtree(_sequence(root, name) / "img")           # a video interrupted after its rename ...
    (root / "meta" / f"{name}.json").unlink()              # ... before its meta file was written
    (root / "star" / ".star-9.partial").mkdir()            # a half-written temporary folder
    kept = _sequence(root, _names(root, "training_set.txt")[0]) / "img" / "00000001.jpg"
    stamp = kept.stat().st_mtime_ns
    generate_mini_lasot(root, seed=3, progress=False, config=config)
    assert _tree_hashes(root) == before
    assert kept.stat().st_mtime_ns == stamp                # finished videos are not redone
    with pytest.raises(ValueError, match="seed=4"):
        generate_mini_lasot(root, seed=4, progress=False, config=config)
    with pytest.raises(ValueError, match="different config"):
        generate_mini_lasot(root, seed=3, progress=False, config=dataclasses.replace(config, jpeg_quality=80))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        generate_mini_lasot(foreign, seed=0, progress=False, config=config)


def test_bad_settings_are_refused_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown profile"):
        generate_mini_lasot(tmp_path / "a", profile="huge")
    with pytest.raises(ValueError, match="categories"):
        generate_mini_lasot(tmp_path / "b", config=dataclasses.replace(TINY, categories=("ball", "dragon")))
    with pytest.raises(ValueError, match="seed"):
        generate_mini_lasot(tmp_path / "c", seed=-1)
    assert not (tmp_path / "b").exists()


def test_profiles_and_plan():
    cpu, paper = MiniLaSOTConfig.for_profile("cpu"), MiniLaSOTConfig.for_profile("paper")
    assert cpu.split_sizes == {"train": 40, "val": 20, "test": 30}
    assert paper.split_sizes["test"] == 280 and paper.split_sizes["train"] >= 200
    plans = plan_videos(cpu, seed=0)
    assert len({plan.name for plan in plans}) == len(plans) == 90
    test = [plan for plan in plans if plan.split == "test"]
    assert sum(plan.poor_first for plan in test) == round(cpu.poor_first_frame_fraction * len(test))
    assert sum("full_occlusion" in plan.challenges for plan in test) == round(cpu.full_occlusion * len(test))
    assert plans == plan_videos(cpu, seed=0) and plans != plan_videos(cpu, seed=1)


def test_look_alikes_cross_the_target(tiny_mini_lasot):
    """v2: near-twins / same-category distractors are bent onto the target's path; at a meeting their box touches
    the target's (unclipped) box."""
    met = 0
    for path in sorted((tiny_mini_lasot / "meta").glob("*.json")):
        meta = json.loads(path.read_text())
        for number, frames in meta["crossings"].items():
            assert meta["distractors"][int(number)]["role"] in ("twin", "same_category", "same_colour", "other")
            for frame in frames:
                target, other = meta["target_full_box"][frame], meta["distractor_boxes"][int(number)][frame]
                if target is None or other is None:
                    continue
                gap_x = abs((target[0] + target[2] / 2) - (other[0] + other[2] / 2)) - (target[2] + other[2]) / 2
                gap_y = abs((target[1] + target[3] / 2) - (other[1] + other[3] / 2)) - (target[3] + other[3]) / 2
                assert max(gap_x, gap_y) <= 1
                met += 1
    assert met >= 3


def test_size_words_stay_true_while_scale_drifts():
    """Every target drifts in scale (LaSOT-like), except within SCALE_RANGE when its sentence names its size."""
    from vlt_mini.data.mini_lasot_scene import SCALE_RANGE, VideoPlan, _target_track
    from vlt_mini.data.mini_lasot_sentence import choose_objects

    rng = np.random.default_rng(3)
    plan = VideoPlan("ball-1", "ball", 0, "test", frozenset({"scale_variation"}))
    spec = choose_objects(rng, "ball", 2, 0.0)[0]
    drifting, _ = _target_track(rng, spec, plan.challenges, 300, 256, 192, 30.0, None, 0)
    kept, _ = _target_track(rng, spec, plan.challenges, 300, 256, 192, 30.0, None, 0, keep_size=True)
    assert drifting.scale.max() / drifting.scale.min() > 2.5
    assert SCALE_RANGE[0] <= kept.scale.min() and kept.scale.max() <= SCALE_RANGE[1]


def test_dataset_version_is_read_from_the_generation_record(tiny_mini_lasot, tmp_path):
    from vlt_mini.data.mini_lasot import GENERATOR_VERSION, dataset_version

    assert dataset_version(tiny_mini_lasot) == f"mini-lasot v{GENERATOR_VERSION}"
    assert json.loads((tiny_mini_lasot / "generation.json").read_text())["version"] == GENERATOR_VERSION == 2
    assert dataset_version(tmp_path) is None  # a real dataset: no generation record
    (tmp_path / "generation.json").write_text("{not json")
    with pytest.raises(ValueError, match="generation.json"):
        dataset_version(tmp_path)
