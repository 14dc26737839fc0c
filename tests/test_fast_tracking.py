"""The fast tracking path computes what the reference path computes: the folded search branch against
``VLTNet.forward_search`` (random BatchNorm statistics, several candidates and ModaMixer variants), the cached
upsampling matrix against ``interpolate``, and frame-by-frame agreement of boxes, maps and peaks on the tiny test
split with a briefly trained network."""
from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

from vlt_mini.models import VLTConfig, VLTNet
from vlt_mini.models.candidate import Candidate
from vlt_mini.models.inference import FoldedSearchBranch, fold_batch_norm
from vlt_mini.models.supernet import sample_path
from vlt_mini.tracking.tracker import VLTTracker, upsampling_matrix


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def randomise_batch_norms(net: torch.nn.Module, seed: int = 0) -> None:
    """Running statistics far from (0, 1), so that a folding mistake shows."""
    generator = torch.Generator().manual_seed(seed)
    for module in net.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.rand(module.num_features, generator=generator) * 2 - 1)
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            if module.affine:
                module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
                module.bias.data.copy_(torch.rand(module.num_features, generator=generator) - 0.5)


def test_fold_batch_norm_equals_conv_then_bn():
    for affine in (False, True):
        conv, bn = torch.nn.Conv2d(6, 8, 3, padding=1), torch.nn.BatchNorm2d(8, affine=affine).eval()
        net = torch.nn.Sequential(conv, bn)
        randomise_batch_norms(net)
        weight, bias = fold_batch_norm(conv, bn)
        x = torch.randn(2, 6, 9, 9)
        torch.testing.assert_close(torch.nn.functional.conv2d(x, weight, bias, padding=1), net(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("variant", ["vlt", "siamcar", "no-residual", "fixed-block", "random-candidate"])
def test_folded_search_branch_equals_forward_search(variant):
    overrides = {"siamcar": dict(use_modamixer=False), "no-residual": dict(mixer_residual=False),
                 "fixed-block": dict(mixer_searched_block=False)}.get(variant, {})
    torch.manual_seed(1)
    config = VLTConfig.for_profile("tiny", **overrides)
    candidate = None
    if variant == "random-candidate":
        rng = random.Random(3)
        candidate = Candidate(sample_path(rng), sample_path(rng), tuple(rng.randrange(4) for _ in range(4)),
                              tuple(rng.randrange(4) for _ in range(4)))
    net = VLTNet(config, candidate=candidate)
    randomise_batch_norms(net)
    net.eval()
    z = torch.rand(1, 3, config.template_size, config.template_size) * 255
    x = torch.rand(1, 3, config.search_size, config.search_size) * 255
    f_l = torch.randn(1, config.language_dim) if config.use_modamixer else None
    with torch.no_grad():
        state = net.encode_template(z, f_l, None, net.default_template_box(1, z.device))
        reference = net.forward_search(x, state)
        for channels_last in (False, True):
            folded = FoldedSearchBranch(net, channels_last=channels_last)
            output = folded(x, folded.prepare(state))
            for name, ours, theirs in zip(reference._fields, output, reference):
                assert ours.shape == theirs.shape, name
                torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()), msg=name)


def test_folding_refuses_a_network_in_training_mode():
    with pytest.raises(ValueError, match="eval mode"):
        FoldedSearchBranch(VLTNet(profile="tiny").train())


@pytest.mark.parametrize("cells, stride", [(14, 8), (25, 8), (3, 4)])
def test_upsampling_matrix_is_bicubic_interpolation(cells, stride):
    up = (cells - 1) * stride + 1
    maps = torch.rand(3, cells, cells, dtype=torch.float64)
    expected = torch.nn.functional.interpolate(maps[None], size=(up, up), mode="bicubic", align_corners=True)[0]
    matrix = upsampling_matrix(cells, up)
    ours = np.stack([matrix @ m @ matrix.T for m in maps.numpy()])
    np.testing.assert_allclose(ours, expected.numpy(), atol=1e-12)


@pytest.fixture(scope="module")
def trained_tiny(tiny_mini_lasot, tmp_path_factory):
    """A tiny VLT network trained for 24 iterations: its maps have peaks, unlike an untrained network's."""
    from vlt_mini.data import open_dataset
    from vlt_mini.models.text_encoder import TextEncoder
    from vlt_mini.training import PairSource, Trainer, TrainingSetup

    setup = TrainingSetup.for_profile("tiny")
    out = tmp_path_factory.mktemp("fast-tracking")
    encoder = TextEncoder()
    Trainer("vlt", setup.model, dataclasses.replace(setup.train, epochs=3),
            dataclasses.replace(setup.pairs, samples_per_epoch=64),
            [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))], out, device="cpu", progress=False,
            text_encoder=encoder).train()
    return out / "model_final.pt", encoder


@pytest.mark.slow
def test_fast_path_agrees_with_the_reference_frame_by_frame(trained_tiny, tiny_mini_lasot):
    from vlt_mini.data import open_dataset
    from vlt_mini.models.vlt import load_vlt_checkpoint
    from vlt_mini.tracking.agreement import step_agreement

    checkpoint, encoder = trained_tiny
    model, _ = load_vlt_checkpoint(checkpoint)
    folded = FoldedSearchBranch(model)
    for sequence in open_dataset("mini-lasot", tiny_mini_lasot, "test"):
        result = step_agreement(VLTTracker(model, encoder, "mini-lasot", folded=folded), sequence)
        assert result["iou"].min() >= 0.99, sequence.name
        # float32 rounding of the folded BatchNorms: windowed scores in [0, 1] agree to a few 1e-4
        assert result["max_map_difference"] < 5e-4, sequence.name
        assert result["same_peak"] >= 0.95, sequence.name


def test_reference_path_stays_selectable_and_differs_only_in_rounding(trained_tiny, tiny_mini_lasot):
    from vlt_mini.data import open_dataset
    from vlt_mini.models.vlt import load_vlt_checkpoint

    checkpoint, encoder = trained_tiny
    model, _ = load_vlt_checkpoint(checkpoint)
    sequence = next(iter(open_dataset("mini-lasot", tiny_mini_lasot, "test")))
    frames = [sequence.frame(i) for i in range(2)]
    boxes, maps = [], []
    for fast in (True, False):
        tracker = VLTTracker(model, encoder, "mini-lasot", fast=fast)
        assert (tracker.folded is not None) == fast
        tracker.initialize(frames[0], sequence.init_box, sequence.sentence)
        boxes.append(tracker.track(frames[1]))
        maps.append(tracker.last)
    np.testing.assert_allclose(boxes[0], boxes[1], rtol=1e-4, atol=1e-3)  # rounding grows with the box (pixels)
    for name in ("cls", "centerness", "penalty", "score", "penalised", "windowed"):
        # centerness is normalised by its spread, which magnifies rounding where the map is flat
        np.testing.assert_allclose(maps[0][name], maps[1][name], atol=5e-4, err_msg=name)
    assert tuple(maps[0]["peak"]) == tuple(int(v) for v in maps[1]["peak"])


@pytest.mark.slow
def test_gpu_check_runs_on_the_cpu_at_tiny(capsys):
    """``benchmarks/gpu_check.py --device cpu --quick`` exercises the GPU check's code (no GPU in CI)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
    spec = importlib.util.spec_from_file_location("gpu_check", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--device", "cpu", "--quick"])
    out = capsys.readouterr().out
    assert "training, tiny VLT_SCAR, batch 4" in out and "pairs/s" in out
    assert out.count("MATCHES") == 2 and "DOES NOT MATCH" not in out


def test_lockstep_tracking_equals_one_video_at_a_time_step_by_step(trained_tiny, tiny_mini_lasot):
    """The batched network call gives each video its own maps: a stacked batch of two videos against each alone."""
    from vlt_mini.data import open_dataset
    from vlt_mini.models.vlt import load_vlt_checkpoint
    from vlt_mini.search.evolution import truncate
    from vlt_mini.tracking.tracker import track_in_lockstep

    checkpoint, encoder = trained_tiny
    model, _ = load_vlt_checkpoint(checkpoint)
    folded = FoldedSearchBranch(model)
    videos = [truncate(v, 3) for v in list(open_dataset("mini-lasot", tiny_mini_lasot, "test"))[:2]]
    trackers = [VLTTracker(model, encoder, "mini-lasot", folded=folded) for _ in videos]
    for tracker, video in zip(trackers, videos):
        tracker.initialize(video.frame(0), video.init_box, video.sentence)
    with torch.inference_mode():
        x = torch.cat([t._search_crop(v.frame(1))[0] for t, v in zip(trackers, videos)])
        together = folded(x, folded.stack([t.prepared for t in trackers]))
        for row, tracker in enumerate(trackers):
            alone = folded(x[row:row + 1], tracker.prepared)
            for ours, theirs in zip(together, alone):
                # batched and single convolutions round differently; l, t, r, b reach hundreds of pixels
                torch.testing.assert_close(ours[row:row + 1], theirs, rtol=1e-3, atol=1e-4)
    boxes = track_in_lockstep([VLTTracker(model, encoder, "mini-lasot", folded=folded) for _ in videos], videos)
    assert [b.shape for b in boxes] == [(len(v), 4) for v in videos]
    for box, video in zip(boxes, videos):
        np.testing.assert_array_equal(box[0], video.init_box)
        assert np.all(box[1:, 2:] > 0)
    with pytest.raises(ValueError, match="sharing one folded"):
        track_in_lockstep([VLTTracker(model, encoder, "mini-lasot", fast=False) for _ in videos], videos)
