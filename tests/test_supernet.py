"""SPOS supernet: shapes at every profile and stride, path handling, gradients, counts, official checkpoint format."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from vlt_mini.models import (
    NUM_CHOICE_LAYERS, SPOS_IMAGENET_PATH, SPOSSupernet, SupernetConfig, channel_split, check_path, count_macs,
    count_parameters, load_spos_checkpoint, make_choice_block, parse_path, path_to_str, sample_path, spos_preprocess,
)

TAIL_PREFIXES = ("conv_last.", "classifier.")


# ------------------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("profile", ["tiny", "cpu", "paper"])
@pytest.mark.parametrize("stride", [8, 32])
def test_stage_output_shapes(profile, stride):
    model = SPOSSupernet(profile=profile, stride=stride).eval()
    channels = SupernetConfig.for_profile(profile).stage_channels
    expected = {8: [32, 16, 16, 16], 32: [32, 16, 8, 4]}[stride]  # template 127 (docs/official_code.md)
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 127, 127), sample_path(stride))
    assert [tuple(f.shape) for f in outputs] == [(1, c, s, s) for c, s in zip(channels, expected)]
    assert model.output_sizes(127) == [(s, s) for s in expected]
    assert model.stage_strides == {8: (4, 8, 8, 8), 32: (4, 8, 16, 32)}[stride]


def test_search_crop_gives_32_at_stride_8():
    model = SPOSSupernet(profile="tiny", stride=8).eval()
    with torch.no_grad():
        outputs = model(torch.randn(2, 3, 255, 255), sample_path(1))
    assert [tuple(f.shape[-2:]) for f in outputs] == [(64, 64), (32, 32), (32, 32), (32, 32)]
    assert SPOSSupernet(profile="paper").output_sizes((255, 127)) == [(64, 32), (32, 16), (32, 16), (32, 16)]


def test_stride_8_and_32_have_identical_parameter_shapes():
    shapes8 = {k: v.shape for k, v in SPOSSupernet(profile="tiny", stride=8).state_dict().items()}
    shapes32 = {k: v.shape for k, v in SPOSSupernet(profile="tiny", stride=32).state_dict().items()}
    assert shapes8 == shapes32 and len(shapes8) > 0


def test_config_validation():
    assert all(len(SupernetConfig.for_profile(p).stage_channels) == 4 for p in ("tiny", "cpu", "paper"))
    with pytest.raises(ValueError, match="stride"):
        SPOSSupernet(profile="tiny", stride=16)
    with pytest.raises(ValueError, match="divisible by 4"):
        SupernetConfig(stage_channels=(64, 162, 320, 640))
    with pytest.raises(ValueError, match="larger than"):
        SupernetConfig(stem_channels=16, stage_channels=(16, 32, 64, 128))
    with pytest.raises(ValueError, match="unknown profile"):
        SPOSSupernet(profile="huge")
    with pytest.raises(ValueError, match="either profile or config"):
        SPOSSupernet(profile="tiny", config=SupernetConfig())
    custom = SPOSSupernet(config=SupernetConfig(stem_channels=8, stage_channels=(16, 24, 32, 48)), stride=32)
    assert custom.out_channels == (16, 24, 32, 48) and custom.config.stride == 32
    assert len(custom.features) == NUM_CHOICE_LAYERS and all(len(layer) == 4 for layer in custom.features)


# ---------------------------------------------------------------------------------------------- the blocks
def _official_channel_shuffle(x):
    """Verbatim logic of SPOS's ``channel_shuffle`` (reshape / permute / reshape)."""
    batch, channels, height, width = x.shape
    x = x.reshape(batch * channels // 2, 2, height * width).permute(1, 0, 2)
    x = x.reshape(2, -1, channels // 2, height, width)
    return x[0], x[1]


def test_channel_split_matches_official_shuffle():
    x = torch.randn(3, 24, 5, 7)
    for ours, official in zip(channel_split(x), _official_channel_shuffle(x)):
        assert torch.equal(ours, official)
    with pytest.raises(ValueError, match="divisible by 4"):
        channel_split(torch.randn(1, 6, 2, 2))


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_channel_split_gradients_match_official_in_both_layouts(memory_format):
    # channels-last inputs take a custom autograd function (one interleaving write in the backward); values,
    # gradients and the output layout must be those of the official shuffle
    x = torch.randn(3, 24, 5, 7).contiguous(memory_format=memory_format)
    grads = torch.randn(3, 12, 5, 7), torch.randn(3, 12, 5, 7)
    results = []
    for split in (channel_split, _official_channel_shuffle):
        leaf = x.clone().requires_grad_()
        halves = split(leaf)
        sum((half * grad).sum() for half, grad in zip(halves, grads)).backward()
        results.append((*halves, leaf.grad))
    for ours, official in zip(*results):
        assert torch.equal(ours, official)
    if memory_format is torch.channels_last:
        assert all(half.is_contiguous(memory_format=torch.channels_last) for half in results[0][:2])
    leaf = x.clone().requires_grad_()
    channel_split(leaf)[1].sum().backward()  # one half unused: its gradient is zero
    assert torch.equal(leaf.grad[:, 0::2], torch.zeros(3, 12, 5, 7)) and torch.equal(leaf.grad[:, 1::2],
                                                                                  torch.ones(3, 12, 5, 7))


@pytest.mark.parametrize("op", [0, 1, 2, 3])
def test_block_structure(op):
    block = make_choice_block(op, 16, 32).eval()  # stride 1, split
    x = torch.randn(2, 32, 9, 9)
    with torch.no_grad():
        y = block(x)
    assert y.shape == (2, 32, 9, 9)
    assert torch.equal(y[:, :16], x[:, 0::2])  # even channels pass through unchanged
    depthwise = [m for m in block.branch_main if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert [m.kernel_size[0] for m in depthwise] == ([3, 5, 7][op:op + 1] if op < 3 else [3, 3, 3])
    assert all(not bn.affine for bn in block.modules() if isinstance(bn, nn.BatchNorm2d))
    mapping = make_choice_block(op, 16, 40, stride=1, has_projection=True).eval()  # stage-3 first block at stride 8
    with torch.no_grad():
        assert mapping(torch.randn(1, 16, 9, 9)).shape == (1, 40, 9, 9)
    with pytest.raises(ValueError, match="projection"):
        make_choice_block(op, 16, 32, stride=2)


# ------------------------------------------------------------------------------------------------- paths
def test_path_validation_and_helpers():
    assert check_path(np.array(SPOS_IMAGENET_PATH)) == SPOS_IMAGENET_PATH
    assert parse_path(path_to_str(SPOS_IMAGENET_PATH)) == SPOS_IMAGENET_PATH
    assert path_to_str(SPOS_IMAGENET_PATH) == "2101/2020/20230000/3233"
    assert parse_path(str(list(SPOS_IMAGENET_PATH))) == SPOS_IMAGENET_PATH
    bad = {"19 ints": (0,) * 19, "4": (0,) * 19 + (4,), "-1": (-1,) + (0,) * 19, "True": (True,) + (0,) * 19,
           "1.0": (1.0,) + (0,) * 19, "str": "0" * 20}
    for message, path in bad.items():
        with pytest.raises(ValueError, match="op indices"):
            check_path(path)
    model = SPOSSupernet(profile="tiny")
    with pytest.raises(ValueError, match=r"path\[3\] = 7"):
        model(torch.zeros(1, 3, 32, 32), (0, 0, 0, 7) + (0,) * 16)
    with pytest.raises(ValueError, match="cannot parse"):
        parse_path("2101/2020/2023000x/3233")


def test_sample_path_is_uniform_and_seeded():
    rng = np.random.default_rng(0)
    paths = np.array([sample_path(rng) for _ in range(4000)])  # (4000, 20)
    frequencies = np.stack([(paths == op).mean(0) for op in range(4)])  # (4, 20)
    assert np.abs(frequencies - 0.25).max() < 0.035  # ~5 standard deviations at n = 4000
    assert sample_path(7) == sample_path(7) and sample_path(7) != sample_path(8)


# ------------------------------------------------------------------------------------------------ gradients
def test_gradients_reach_exactly_the_sampled_path():
    model = SPOSSupernet(profile="tiny", stride=8).train()
    path = sample_path(3)
    outputs = model(torch.randn(2, 3, 64, 64), path)
    sum(f.square().mean() for f in outputs).backward()
    for p in model.first_conv.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0
    used = 0
    for layer, choices in enumerate(model.features):
        for op, block in enumerate(choices):
            for name, p in block.named_parameters():
                if op == path[layer]:
                    assert p.grad is not None and p.grad.abs().sum() > 0, f"layer {layer} op {op} {name}: no gradient"
                    used += p.numel()
                else:
                    assert p.grad is None, f"layer {layer} op {op} {name}: unused choice got a gradient"
    assert count_parameters(model, path) == used + sum(p.numel() for p in model.first_conv.parameters())


# ------------------------------------------------------------------------------------------------- counting
def test_spos_imagenet_path_counts_match_the_paper():
    model = SPOSSupernet(profile="paper", stride=32, with_classifier=True)
    params = count_parameters(model, SPOS_IMAGENET_PATH)
    macs = count_macs(model, SPOS_IMAGENET_PATH, 224)
    assert abs(params / 1e6 - 3.5) < 0.1, params   # SPOS: ~3.5 M parameters (the SPOS paper's searched model)
    assert abs(macs / 1e6 - 323) < 3, macs         # SPOS: ~323 M multiply-adds
    with torch.no_grad():
        assert model.eval().forward_logits(torch.zeros(1, 3, 224, 224), SPOS_IMAGENET_PATH).shape == (1, 1000)


def _macs_by_hooks(model, path, size):
    total = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            total.append(module.weight.numel() * output.shape[-2] * output.shape[-1])
        else:
            total.append(module.weight.numel())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        if model.config.with_classifier:
            model.forward_logits(torch.zeros(1, 3, *size), path)
        else:
            model(torch.zeros(1, 3, *size), path)
    for handle in handles:
        handle.remove()
    return sum(total)


@pytest.mark.parametrize("stride,with_classifier", [(8, False), (32, True)])
def test_count_macs_matches_a_measured_forward(stride, with_classifier):
    model = SPOSSupernet(profile="tiny", stride=stride, with_classifier=with_classifier).eval()
    for seed in range(3):
        path = sample_path(seed)
        assert count_macs(model, path, (75, 61)) == _macs_by_hooks(model, path, (75, 61))
    assert count_macs(model, (2,) * 20, 64) > count_macs(model, (0,) * 20, 64)  # 7×7 costs more than 3×3


# ------------------------------------------------------------------------------------- official checkpoint
def _random_state_dict(shapes: dict[str, list[int]]) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in shapes.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(150000)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        elif key.endswith("running_mean"):
            state[key] = 0.1 * torch.randn(shape, generator=generator)
        else:  # conv / linear weights at He scale, so that 20 layers stay finite in eval mode
            state[key] = torch.randn(shape, generator=generator) * (2.0 / np.prod(shape[1:])) ** 0.5
    return state


@pytest.mark.parametrize("stride", [8, 32])
def test_official_checkpoint_keys_map_onto_the_model(shared_dir, stride, tmp_path):
    shapes = json.loads((shared_dir / "spec" / "spos_supernet_state_dict.json").read_text())
    official = _random_state_dict(shapes)
    checkpoint = {"state_dict": {f"module.{key}": value for key, value in official.items()}}
    model = SPOSSupernet(profile="paper", stride=stride)
    missing, unexpected = load_spos_checkpoint(model, checkpoint)
    assert missing == []
    tail = sorted(f"module.{key}" for key in shapes if key.startswith(TAIL_PREFIXES))
    assert sorted(unexpected) == tail and len(tail) == 5  # conv_last conv + BN buffers, classifier
    ours = model.state_dict()
    assert set(ours) == {key for key in shapes if not key.startswith(TAIL_PREFIXES)}
    assert all(torch.equal(ours[key], official[key]) for key in ours)
    with torch.no_grad():
        outputs = model.eval()(spos_preprocess(torch.rand(1, 3, 127, 127)), SPOS_IMAGENET_PATH)
    assert all(torch.isfinite(f).all() for f in outputs)
    if stride == 32:  # the full official key list, loaded from a file like a real checkpoint
        torch.save(checkpoint, tmp_path / "supernet.pth.tar")
        full = SPOSSupernet(profile="paper", stride=32, with_classifier=True)
        assert load_spos_checkpoint(full, tmp_path / "supernet.pth.tar") == ([], [])
        assert torch.equal(full.classifier[0].weight, official["classifier.0.weight"])


def test_checkpoint_errors_are_clear():
    paper_state = SPOSSupernet(profile="paper").state_dict()
    with pytest.raises(ValueError, match=r"'module.first_conv.0.weight' has shape \(16, 3, 3, 3\).*\(8, 3, 3, 3\)"):
        load_spos_checkpoint(SPOSSupernet(profile="tiny"),
                             {"module.first_conv.0.weight": paper_state["first_conv.0.weight"]})
    with pytest.raises(ValueError, match="expected a state dict"):
        load_spos_checkpoint(SPOSSupernet(profile="tiny"), {"state_dict": [1, 2]}["state_dict"])
    with pytest.raises(FileNotFoundError):
        load_spos_checkpoint(SPOSSupernet(profile="tiny"), "/nonexistent/supernet.pth")
    missing, unexpected = load_spos_checkpoint(SPOSSupernet(profile="tiny"), {"extra.weight": torch.zeros(1)})
    assert unexpected == ["extra.weight"] and "first_conv.0.weight" in missing


def test_spos_preprocess_gives_bgr_0_255():
    rgb = torch.rand(2, 3, 4, 5)
    bgr = spos_preprocess(rgb)
    assert torch.allclose(bgr[:, 0], rgb[:, 2] * 255) and torch.allclose(bgr[:, 2], rgb[:, 0] * 255)
    assert spos_preprocess(rgb[0]).shape == (3, 4, 5)
    with pytest.raises(ValueError, match="exceed 1"):
        spos_preprocess(rgb * 255)
    with pytest.raises(ValueError, match="RGB images"):
        spos_preprocess(torch.rand(2, 4, 4, 4))
