"""One-step and language-use diagnostics at tiny (untrained networks: the mechanics, not the numbers)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vlt_mini.data import open_dataset
from vlt_mini.experiments import diagnostics
from vlt_mini.models.vlt import VLTConfig, VLTNet


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def frames(tiny_mini_lasot):
    return diagnostics.validation_frames(open_dataset("mini-lasot", tiny_mini_lasot, "val"), frames_per_video=3)


@pytest.fixture(scope="module")
def encoder():
    from vlt_mini.models.text_encoder import TextEncoder

    return TextEncoder()


@pytest.mark.slow
def test_one_step_figures_are_paired_and_in_range(frames, encoder):
    torch.manual_seed(0)
    net = VLTNet(VLTConfig.for_profile("tiny", language_dim=encoder.dim))
    result = diagnostics.one_step(net, frames, encoder)
    assert len(result.frames) == len(frames) and len({name for name, _ in result.frames}) >= 2
    assert ((result.iou >= 0) & (result.iou <= 1)).all() and (result.size_ratio > 0).all()
    summary = result.summary()
    assert set(summary) >= {"iou", "size_ratio", "size_slope", "centre_error", "target_probability"}
    same = diagnostics.paired_difference(result, diagnostics.one_step(net, frames, encoder))
    assert same["delta"] == same["ci_low"] == same["ci_high"] == 0.0
    cropped = diagnostics.one_step(diagnostics.with_test_kernel(net, "cropped"), frames, encoder)
    assert not np.array_equal(cropped.iou, result.iou) or not np.array_equal(cropped.size_ratio, result.size_ratio)
    exact = diagnostics.one_step(net, frames, encoder, geometry="exact")
    assert not np.array_equal(exact.predicted_side, result.predicted_side)  # ltrb scaled by 16/15
    jittered = diagnostics.one_step(net, frames, encoder, scale_jitter=0.3)
    spread = np.log(jittered.reference_side / result.reference_side)
    assert np.abs(spread).max() <= 0.3 + 1e-9 and np.ptp(spread) > 0.1  # crops cut for sizes off by up to ±30 %
    with pytest.raises(ValueError, match="sentence_mode"):
        diagnostics.one_step(net, frames, encoder, sentence_mode="mine")


def test_language_use_compares_own_none_and_other_sentences(frames, encoder):
    torch.manual_seed(0)
    net = VLTNet(VLTConfig.for_profile("tiny", language_dim=encoder.dim))
    report = diagnostics.language_use(net, frames, encoder)
    assert set(report) == {"own", "none", "other", "none_minus_own", "other_minus_own"}
    change = report["other_minus_own"]["target_probability"]
    assert change["ci_low"] <= change["delta"] <= change["ci_high"]
    assert report["none"]["target_probability"] != report["own"]["target_probability"]  # the sentence reaches the head
    baseline = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    vision_only = diagnostics.language_use(baseline, frames, encoder)
    assert vision_only["none_minus_own"]["iou"]["delta"] == 0.0


def test_selector_statistics_know_centring_from_selection():
    torch.manual_seed(0)
    net = VLTNet(VLTConfig.for_profile("tiny", language_dim=8)).eval()
    e = torch.randn(1, 8)
    for mixer in net.mixers_for("search"):
        bn = mixer.language_projection[1]
        bn.running_mean.zero_(), bn.running_var.fill_(1.0), bn.weight.data.fill_(1.0), bn.bias.data.zero_()
    centred = diagnostics.selector_statistics(net, torch.cat([e, -e]))  # selectors s and -s: mean 0, every sign flips
    assert [row["stage"] for row in centred] == [1, 2, 3, 4] and centred[0]["branch"] == "shared"
    assert all(row["mean_over_std_median"] < 1e-6 and row["sign_flipping_channels"] > 0.95 for row in centred)
    for mixer in net.mixers_for("search"):
        mixer.language_projection[1].bias.data.fill_(50.0)  # a constant selector far from 0, small variation
    selecting = diagnostics.selector_statistics(net, torch.cat([e, 0.5 * e, -e]))
    assert all(row["mean_over_std_median"] > 5 and row["sign_flipping_channels"] == 0 for row in selecting)
    separate = VLTNet(VLTConfig.for_profile("tiny", language_dim=8, shared_mixers=False))
    assert len(diagnostics.selector_statistics(separate, torch.randn(3, 8))) == 8


def test_mixer_feature_change_tells_a_kept_feature_from_a_scrambled_one():
    from vlt_mini.models.candidate import Candidate
    from vlt_mini.models.supernet import STAGE_LAYER_RANGES
    from vlt_mini.training.initialisation import copy_stage_blocks_into_mixers

    # every mixer op equal to its stage's last op: copied blocks then reproduce the stage's own feature exactly
    path = tuple(Candidate.sample(1).template_path)
    last_ops = tuple(path[stop - 1] for _, stop in STAGE_LAYER_RANGES)
    candidate = Candidate(path, path, last_ops, last_ops)
    batch = {"z": torch.randn(4, 3, 63, 63), "x": torch.randn(4, 3, 127, 127), "f_l": torch.randn(4, 384),
             "has_sentence": torch.ones(4, dtype=torch.bool), "z_box": torch.tensor([[16.0, 16, 48, 48]] * 4)}
    cosines = {}
    for init in ("random", "ones"):
        torch.manual_seed(0)
        net = VLTNet(VLTConfig.for_profile("tiny", selector_init=init), candidate=candidate)
        copy_stage_blocks_into_mixers(net)
        net.eval()
        rows = diagnostics.mixer_feature_change(net, batch)  # BatchNorm on batch statistics inside
        assert [(r["branch"], r["stage"]) for r in rows] == [(b, s) for b in ("template", "search") for s in (1, 2, 3, 4)]
        cosines[init] = [r["cosine"] for r in rows]
        assert net.training is False  # the model's mode is restored
    assert min(cosines["ones"]) > 0.999
    assert max(cosines["random"]) < 0.95
    with pytest.raises(ValueError, match="residual"):
        diagnostics.mixer_feature_change(VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False)), batch)
