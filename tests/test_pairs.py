"""The template / search pair sampler: crop geometry, negatives, language dropping, determinism, loaders."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
import torch

from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import Sequence
from vlt_mini.training.pairs import (PairConfig, PairDataset, PairSampler, PairSource, SentenceTable,
                                     make_pair_loader)

FRAME_W, FRAME_H, N_FRAMES = 200, 150, 12


def _white_box_video(folder, name, sentence, rng, invisible=()):
    """A video of a white rectangle moving on a dark background; ground truth x, y, w, h of the filled pixels."""
    folder.mkdir(parents=True)
    boxes, paths = [], []
    w, h = int(rng.integers(14, 30)), int(rng.integers(14, 30))
    for i in range(N_FRAMES):
        x, y = int(20 + 8 * i + rng.integers(0, 5)), int(40 + 3 * i)
        frame = np.full((FRAME_H, FRAME_W, 3), 30, np.uint8)
        frame[y:y + h, x:x + w] = 255
        paths.append(folder / f"{i:04d}.png")
        cv2.imwrite(str(paths[-1]), frame)
        boxes.append([x, y, w, h])
    visible = np.ones(N_FRAMES, bool)
    visible[list(invisible)] = False
    return Sequence(name, paths, np.array(boxes, float), visible, sentence=sentence, dataset="toy")


class FakeEncoder:
    """Stands in for TextEncoder: one deterministic 8-d row per sentence."""

    dim = 8

    def encode(self, sentences):
        rows = [torch.tensor([float(len(s))] + [float(ord(c)) for c in s[:7].ljust(7)]) for s in sentences]
        return type("Encoding", (), {"embeddings": torch.stack(rows)})()


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    rng = np.random.default_rng(0)
    sentences = ["white box moving right", "a bright rectangle", None, "white box moving right"]
    videos = [_white_box_video(root / f"v{i}", f"v{i}", s, rng, invisible=(3, 4) if i == 0 else ())
              for i, s in enumerate(sentences)]
    other = [_white_box_video(root / f"w{i}", f"w{i}", "another source", rng) for i in range(2)]
    return Dataset("toy", "train", root, videos), Dataset("toy2", "train", root, other)


def _dataset(toy, seed=0, sources=None, **overrides):
    config = PairConfig.for_profile("tiny", samples_per_epoch=64, search_blur=0.0, **overrides)
    sources = sources or [PairSource(toy[0])]
    return PairDataset(sources, config, SentenceTable.from_sources(sources, FakeEncoder()), seed=seed)


def _bright_box(image_chw: torch.Tensor) -> np.ndarray:
    mask = image_chw.numpy().mean(axis=0) > 140
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], float)  # first and last bright pixel


def test_crops_show_the_target_where_the_boxes_say(toy):
    dataset = _dataset(toy, negative_fraction=0.0)
    config = dataset.config
    for index in range(12):
        pair = dataset.sample(0, index)
        frames = (pair["template_frame"], pair["search_frame"])
        for image, box, size, shift, frame in ((pair["z"], pair["z_box"], config.template_size, config.template_shift,
                                                frames[0]),
                                               (pair["x"], pair["x_box"], config.search_size, config.search_shift,
                                                frames[1])):
            assert image.shape == (3, size, size) and image.dtype == torch.float32
            # Pixel centres are integers: the filled frame pixels x .. x+w-1 cover [x - 0.5, x + w - 0.5], i.e. the
            # box moved by half a frame pixel (scale / 2 crop pixels); bright crop pixels are those whose centre
            # lies inside, so the measured edges are within half a crop pixel of it.
            scale = float(box[2] - box[0]) / toy[0][pair["template_video"]].ground_truth[frame][2]
            measured = _bright_box(image) + np.array([-0.5, -0.5, 0.5, 0.5])
            assert np.abs(measured - (box.numpy() - scale / 2)).max() < 0.8, (index, box, measured)
            centre = (box[:2] + box[2:]) / 2
            assert torch.all((centre - (size - 1) / 2).abs() <= shift + 0.5)


def test_template_box_centred_without_jitter(toy):
    dataset = _dataset(toy, template_shift=0.0, template_scale=0.0, negative_fraction=0.0)
    for index in range(5):
        box = dataset.sample(0, index)["z_box"]
        assert torch.allclose((box[:2] + box[2:]) / 2, torch.full((2,), (dataset.config.template_size - 1) / 2),
                              atol=1e-4)
        # context 0.5: the square side sqrt((w+p)(h+p)) maps to the template size
        assert 0.3 * dataset.config.template_size < float(box[2] - box[0]) < 0.7 * dataset.config.template_size


def test_search_frames_within_range_and_visible(toy):
    dataset = _dataset(toy, frame_range=2, negative_fraction=0.0)
    for index in range(60):
        pair = dataset.sample(0, index)
        assert abs(pair["template_frame"] - pair["search_frame"]) <= 2
        if pair["template_video"] == "v0":
            assert {pair["template_frame"], pair["search_frame"]}.isdisjoint({3, 4})  # absent frames never used


def test_negative_pairs_come_from_another_video(toy):
    dataset = _dataset(toy, negative_fraction=1.0)
    for index in range(20):
        pair = dataset.sample(0, index)
        assert pair["is_negative"] and pair["search_video"] != pair["template_video"]
    share = np.mean([bool(_dataset(toy).sample(0, i)["is_negative"]) for i in range(300)])
    assert 0.13 < share < 0.27  # 0.2 by default
    assert not any(_dataset(toy, negative_fraction=0.0).sample(0, i)["is_negative"] for i in range(30))


def test_sentences_and_language_dropping(toy):
    dataset = _dataset(toy, language_fraction=0.5, negative_fraction=0.0)
    kept, total = 0, 0
    for index in range(400):
        pair = dataset.sample(0, index)
        sentence = toy[0][pair["template_video"]].sentence
        if sentence is None:
            assert not pair["has_sentence"] and not pair["f_l"].any()
            continue
        total += 1
        if pair["has_sentence"]:
            kept += 1
            assert torch.equal(pair["f_l"], FakeEncoder().encode([sentence]).embeddings[0])
        else:
            assert not pair["f_l"].any()
    assert 0.42 < kept / total < 0.58
    full = _dataset(toy, negative_fraction=0.0)
    assert all(full.sample(0, i)["has_sentence"] == (toy[0][full.sample(0, i)["template_video"]].sentence is not None)
               for i in range(20))


def test_sample_depends_only_on_seed_epoch_index(toy):
    a, b = _dataset(toy, seed=3), _dataset(toy, seed=3)
    for index in (0, 5, 17):
        first, again = a.sample(1, index), b.sample(1, index)
        assert all(torch.equal(first[k], again[k]) for k in ("z", "x", "z_box", "x_box", "f_l"))
    assert not torch.equal(a.sample(0, 5)["x"], a.sample(1, 5)["x"])
    assert not torch.equal(a.sample(1, 5)["x"], _dataset(toy, seed=4).sample(1, 5)["x"])
    assert torch.equal(a[64 + 5]["x"], a.sample(1, 5)["x"])  # item number = epoch * samples_per_epoch + index


def test_loader_is_independent_of_worker_count(toy):
    dataset = _dataset(toy)
    batches = [list(make_pair_loader(dataset, batch_size=8, total_iterations=3, num_workers=workers))
               for workers in (0, 2)]
    for one, other in zip(*batches):
        assert all(torch.equal(one[k], other[k]) for k in ("z", "x", "x_box", "is_negative", "f_l", "has_sentence"))
    assert batches[0][0]["z"].shape == (8, 3, 63, 63) and batches[0][0]["f_l"].shape == (8, FakeEncoder.dim)


def test_sampler_resumes_and_splits_between_processes():
    full = list(PairSampler(samples_per_epoch=20, batch_size=4, total_iterations=12))
    assert full[:8] == list(range(8)) and full[20:24] == [20, 21, 22, 23]  # 5 iterations per epoch, epoch 1 at 20
    assert list(PairSampler(20, 4, 12, start_iteration=7)) == full[7 * 4:]
    ranks = [list(PairSampler(20, 4, 12, rank=r, world_size=2)) for r in range(2)]
    for iteration in range(12):
        joined = ranks[0][2 * iteration:2 * iteration + 2] + ranks[1][2 * iteration:2 * iteration + 2]
        assert joined == full[4 * iteration:4 * iteration + 4]
    with pytest.raises(ValueError, match="divisible"):
        PairSampler(20, 5, 3, world_size=2)


def test_sources_are_drawn_by_weight(toy):
    sources = [PairSource(toy[0], 3.0), PairSource(toy[1], 1.0)]
    dataset = _dataset(toy, sources=sources, negative_fraction=0.0)
    from_first = np.mean([dataset.sample(0, i)["template_video"].startswith("v") for i in range(400)])
    assert 0.68 < from_first < 0.82


def test_bad_inputs_give_clear_errors(toy, tmp_path):
    with pytest.raises(ValueError, match="negative_fraction"):
        PairConfig(negative_fraction=1.5)
    with pytest.raises(ValueError, match="at least two videos"):
        PairDataset([PairSource(Dataset("one", "train", tmp_path, toy[0].sequences[:1]))], PairConfig(), language_dim=8)
    empty = Dataset("empty", "train", tmp_path, [dataclasses.replace(toy[0][0], visible=np.zeros(N_FRAMES, bool))])
    with pytest.raises(ValueError, match="no video with frames"):
        PairDataset([PairSource(empty)], PairConfig(negative_fraction=0.0), language_dim=8)
    with pytest.raises(ValueError, match="weight"):
        PairDataset([PairSource(toy[0], 0.0)], PairConfig(), language_dim=8)


# ------------------------------------------------------------------ long videos, look-alikes, poor templates (tiny)

def _mini_lasot_pairs(root, **overrides):
    from vlt_mini.data import open_dataset

    sources = [PairSource(open_dataset("mini-lasot", root, "all"))]
    config = PairConfig.for_profile("tiny", samples_per_epoch=64, negative_fraction=0.0, **overrides)
    return PairDataset(sources, config, language_dim=8, seed=0)


def test_long_gaps_reach_beyond_the_frame_range(toy):
    near = _dataset(toy, frame_range=1, negative_fraction=0.0)
    far = _dataset(toy, frame_range=1, negative_fraction=0.0, long_gap_fraction=1.0)
    assert all(abs(pair["template_frame"] - pair["search_frame"]) <= 1 for pair in map(near.sample, [0] * 20, range(20)))
    pairs = [far.sample(0, i) for i in range(40)]
    assert max(abs(pair["template_frame"] - pair["search_frame"]) for pair in pairs) >= 5
    assert all(pair["search_frame"] not in (3, 4) for pair in pairs if pair["search_video"] == "v0")


def test_look_alikes_inside_search_crops_at_the_configured_rate(tiny_mini_lasot):
    plain = _mini_lasot_pairs(tiny_mini_lasot)
    crowded = _mini_lasot_pairs(tiny_mini_lasot, distractor_fraction=1.0)
    with_look_alikes = {v.sequence.name for v in crowded.videos[0]
                        if v.look_alike_frames is not None and len(v.look_alike_frames)}
    assert with_look_alikes, "the tiny mini-LaSOT should have look-alikes near the target"
    assert all(v.look_alike_frames is None for v in plain.videos[0])  # nothing read while the rate is 0

    def share(dataset):
        hits = 0
        for index in range(64):
            pair = dataset.sample(0, index)
            video = next(v for v in crowded.videos[0] if v.sequence.name == pair["search_video"])
            hits += video.look_alike_frames is not None and pair["search_frame"] in set(video.look_alike_frames)
        return hits / 64

    assert share(crowded) > share(plain) + 0.2
    # the look-alike is really inside the search crop: its box centre maps into the crop
    from vlt_mini.training.pairs import look_alike_boxes

    pair = next(p for p in (crowded.sample(0, i) for i in range(64)) if p["search_video"] in with_look_alikes)
    boxes = look_alike_boxes(tiny_mini_lasot, pair["search_video"])
    assert any(b[pair["search_frame"]] is not None for b in boxes)


def test_template_degradation_is_seeded_per_pair_and_off_by_default(toy):
    from vlt_mini.training.pairs import DEGRADATIONS

    plain = _dataset(toy, negative_fraction=0.0)
    degraded = _dataset(toy, negative_fraction=0.0, template_degradation=1.0)
    other_network = _dataset(toy, negative_fraction=0.0, template_degradation=1.0, language_fraction=0.5)
    kinds = set()
    for index in range(24):
        a, b, c = plain.sample(0, index), degraded.sample(0, index), other_network.sample(0, index)
        assert a["template_degradation"] == "" and b["template_degradation"] in DEGRADATIONS
        kinds.add(b["template_degradation"])
        assert torch.equal(b["z"], c["z"]) and b["template_degradation"] == c["template_degradation"]
        assert torch.equal(a["x"], b["x"]) and torch.equal(a["z_box"], b["z_box"])  # only the template changes
        if b["template_degradation"] == "dark":
            assert b["z"].mean() < 0.5 * a["z"].mean()
        elif b["template_degradation"] in ("blur", "small"):
            assert (b["z"].diff(dim=2) ** 2).mean() < (a["z"].diff(dim=2) ** 2).mean()  # less edge energy
        else:
            assert not torch.equal(a["z"], b["z"])
    assert kinds == set(DEGRADATIONS)
    with pytest.raises(ValueError, match="template_degradation"):
        PairConfig(template_degradation=1.5)
