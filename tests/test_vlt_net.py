"""ModaMixer (Eq. 1), the template token and the assembled VLT network."""
import random

import pytest
import torch

from vlt_mini.models import (VLT_SCAR_CANDIDATE, Candidate, ModaMixer, TemplateToken, VLTConfig, VLTNet,
                             count_vlt_macs, count_vlt_parameters, roi_align)
from vlt_mini.models.candidate import NUM_GENES


def test_modamixer_is_equation_1():
    torch.manual_seed(0)
    mixer = ModaMixer(language_dim=12, channels=16).eval()
    f_v, f_l = torch.randn(2, 16, 5, 5), torch.randn(2, 12)
    residual = torch.randn(2, 16, 5, 5)
    projection = mixer.language_projection
    selector = projection[1](torch.einsum("cd,bd->bc", projection[0].weight[:, :, 0, 0], f_l)[:, :, None, None])
    expected = mixer.blocks[2](f_v * selector) + residual
    torch.testing.assert_close(mixer(f_v, f_l, op=2, residual=residual), expected)
    without_residual = ModaMixer(12, 16, residual=False).eval()
    assert without_residual(f_v, f_l, op=1).shape == f_v.shape
    fixed = ModaMixer(12, 16, searched_block=False)
    assert len(fixed.blocks) == 1
    with pytest.raises(ValueError, match="residual"):
        mixer(f_v, f_l, op=0)
    with pytest.raises(ValueError, match=r"\(B, 12\)"):
        mixer(f_v, torch.randn(2, 7), op=0, residual=residual)


def test_roi_align_averages_bins():
    xs = torch.arange(16.0).add(0.5).expand(16, 16)[None, None]  # value = x of the pixel centre
    pooled = roi_align(xs, torch.tensor([[4.0, 2.0, 10.0, 8.0]]), output_size=3)
    torch.testing.assert_close(pooled[0, 0], torch.tensor([[5.0, 7.0, 9.0]] * 3))
    # a box on a feature map of stride 2 samples half the coordinates
    pooled = roi_align(xs, torch.tensor([[8.0, 4.0, 20.0, 16.0]]), output_size=3, spatial_scale=0.5)
    torch.testing.assert_close(pooled[0, 0], torch.tensor([[5.0, 7.0, 9.0]] * 3))


@pytest.mark.parametrize("profile", ["tiny", "cpu"])
def test_shapes_per_profile(profile, network_inputs):
    net = VLTNet(profile=profile).train()
    z, x, f_l = network_inputs(net)
    out = net(z, x, f_l)
    side = net.score_size
    assert out.cls.shape == (2, 2, side, side) and out.centerness.shape == (2, 1, side, side)
    assert out.ltrb.shape == (2, 4, side, side) and bool((out.ltrb > 0).all())


def test_paper_profile_builds_the_official_candidate():
    net = VLTNet(profile="paper").eval()
    assert net.candidate == VLT_SCAR_CANDIDATE and net.score_size == 25
    parameters = count_vlt_parameters(net)
    macs = count_vlt_macs(net, training=True)
    assert 5e6 < parameters < 20e6
    assert 2e9 < macs["search"] < 10e9 and macs["template"] < macs["search"]
    z = torch.rand(1, 3, 127, 127) * 255
    x = torch.rand(1, 3, 255, 255) * 255
    with torch.no_grad():
        out = net(z, x, torch.randn(1, net.config.language_dim))
    assert out.cls.shape[-1] == 25  # the 7×7 template kernel over the 31×31 resampled search map at test time


def test_gradients_reach_every_parameter_of_a_sampled_candidate(network_inputs):
    torch.manual_seed(0)
    config = VLTConfig.for_profile("tiny", no_sentence_mode="template")
    net = VLTNet(config).train()
    candidate = Candidate.sample(3)
    z, x, f_l = network_inputs(net, batch=3)
    has_sentence = torch.tensor([True, False, True])
    z_box = torch.tensor([[16.0, 16.0, 46.0, 46.0]] * 3)
    out = net(z, x, f_l, has_sentence, z_box, candidate)
    (out.cls.sum() + out.centerness.sum() + out.ltrb.sum()).backward()
    used = {id(p) for p in _candidate_parameters(net, candidate)}
    for name, parameter in net.named_parameters():
        if id(parameter) in used:
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, f"no gradient reached {name}"
        else:
            assert parameter.grad is None or parameter.grad.abs().sum() == 0, f"unused {name} got a gradient"
    assert count_vlt_parameters(net, candidate) == sum(p.numel() for p in _candidate_parameters(net, candidate))


def _candidate_parameters(net, candidate):
    modules = net.backbone.path_modules(candidate.template_path) + net.backbone.path_modules(candidate.search_path)
    for branch, ops in (("template", candidate.template_mixer), ("search", candidate.search_mixer)):
        for mixer, op in zip(net.mixers_for(branch), ops):
            modules += [mixer.language_projection, mixer.blocks[op]]
    modules += [net.template_token, net.head]
    return list({id(p): p for m in modules for p in m.parameters()}.values())


def test_two_sentences_give_different_outputs_and_the_baseline_ignores_language(network_inputs):
    torch.manual_seed(0)
    net = VLTNet(profile="tiny").eval()
    z, x, f_l = network_inputs(net, batch=1)
    with torch.no_grad():
        first = net(z, x, f_l).cls
        second = net(z, x, torch.randn_like(f_l)).cls
        zero = net(z, x, None).cls
    assert not torch.allclose(first, second) and not torch.allclose(first, zero)
    baseline = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False)).eval()
    with torch.no_grad():
        torch.testing.assert_close(baseline(z, x, f_l).cls, baseline(z, x, torch.randn_like(f_l)).cls)
    assert baseline.mixers_for("template") is None and baseline.mixers_for("search") is None


def test_template_token_depends_on_the_box_and_replaces_missing_sentences(network_inputs):
    torch.manual_seed(0)
    net = VLTNet(VLTConfig.for_profile("tiny", no_sentence_mode="template")).eval()
    z, x, f_l = network_inputs(net, batch=1)
    no_sentence = torch.tensor([False])
    with torch.no_grad():
        small = net.encode_template(z, f_l, no_sentence, torch.tensor([[20.0, 20.0, 40.0, 40.0]])).token
        large = net.encode_template(z, f_l, no_sentence, torch.tensor([[5.0, 5.0, 58.0, 58.0]])).token
        with_sentence = net.encode_template(z, f_l, torch.tensor([True]), torch.tensor([[5.0, 5.0, 58.0, 58.0]])).token
    assert not torch.allclose(small, large)
    torch.testing.assert_close(with_sentence, f_l)
    with pytest.raises(ValueError, match="z_box"):
        net(z, x, f_l, no_sentence)


def test_cached_template_equals_the_full_forward(network_inputs):
    net = VLTNet(profile="tiny").eval()
    z, x, f_l = network_inputs(net, batch=1)
    with torch.no_grad():
        state = net.encode_template(z, f_l)
        torch.testing.assert_close(net.forward_search(x, state).cls, net(z, x, f_l).cls)


def test_ablation_switches(network_inputs):
    for overrides in ({"mixer_residual": False}, {"mixer_searched_block": False}):
        net = VLTNet(VLTConfig.for_profile("tiny", **overrides)).eval()
        z, x, f_l = network_inputs(net, batch=1)
        with torch.no_grad():
            assert net(z, x, f_l).cls.shape[1] == 2
    with pytest.raises(ValueError, match="no_sentence_mode"):
        VLTConfig.for_profile("tiny", no_sentence_mode="caption")


def test_candidate_round_trip_and_validation(tmp_path):
    candidate = Candidate.sample(random.Random(5))
    path = candidate.save(tmp_path / "candidate.json", fitness=12.5)
    assert Candidate.load(path) == candidate
    assert Candidate.from_genes(candidate.genes) == candidate and len(candidate.genes) == NUM_GENES
    assert Candidate.sample(1, symmetric=True).is_symmetric
    assert "mixer" in VLT_SCAR_CANDIDATE.table() and "template=2220/3133" in str(VLT_SCAR_CANDIDATE)
    (tmp_path / "bad.json").write_text('{"template_path": [0, 1], "search_path": []}')
    with pytest.raises(ValueError, match="bad.json"):
        Candidate.load(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{\n  oops")
    with pytest.raises(ValueError, match=r"broken.json:2"):
        Candidate.load(tmp_path / "broken.json")
    with pytest.raises(FileNotFoundError):
        Candidate.load(tmp_path / "missing.json")
