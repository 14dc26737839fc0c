"""Issue 13's fidelity options: each default is the official behaviour, the earlier one stays selectable, and
checkpoints written before the options existed load and run exactly as before."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vlt_mini.data.crops import CropWindow, crop
from vlt_mini.models.head import HeadConfig, SiamCARHead, feature_map_size
from vlt_mini.models.losses import LossConfig
from vlt_mini.models.vlt import VLTConfig, VLTNet, load_vlt_checkpoint, model_checkpoint
from vlt_mini.training.pairs import PairConfig, _jitter


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------------------------------------- (a) test kernel
@pytest.mark.parametrize("profile, template_map, search_map, kernel, offset", [
    ("paper", 15, 31, 7, 31.0),  # the official 16 -> 15 and 32 -> 31, a 7×7 kernel, 25×25 maps, offset 31
    ("tiny", 7, 15, 3, 15.0),    # the same rule at the small profiles: 8 -> 7, 16 -> 15, a 3×3 kernel, 13×13 maps
])
def test_resampled_test_kernel_geometry(profile, template_map, search_map, kernel, offset):
    config = VLTConfig.for_profile(profile)
    head = config.head
    assert head.test_kernel == "resampled"
    assert head.feature_sizes(config.search_size, training=False) == (template_map, search_map)
    assert head.crop_size(training=False) == kernel
    net = VLTNet(config).eval()
    assert net.score_map_offset(training=False) == offset
    test_cells = search_map - kernel + 1
    assert test_cells == net.score_size  # the test score map has the training size
    # the centre cell looks at the crop centre; exact spacing of the resampled cells: stride · F_x / (F_x − 1)
    assert offset + (test_cells - 1) / 2 * head.stride == (config.search_size - 1) / 2
    full = feature_map_size(config.search_size, head.stride)
    assert net.score_map_stride(training=False) == pytest.approx(head.stride * full / search_map)
    assert net.score_map_stride(training=True) == head.stride


def test_resampled_kernel_is_the_bicubic_resample_then_the_centre_crop():
    torch.manual_seed(0)
    head_config = HeadConfig.for_profile("tiny")
    head = SiamCARHead([16, 24], head_config).eval()
    z_feats = [torch.randn(1, 16, 8, 8), torch.randn(1, 24, 8, 8)]
    x_feats = [torch.randn(1, 16, 16, 16), torch.randn(1, 24, 16, 16)]
    with torch.no_grad():
        kernels = head.template_kernels(z_feats)
        by_hand = head.neck.template[0](F.interpolate(z_feats[0], size=(7, 7), mode="bicubic", align_corners=False))
        torch.testing.assert_close(kernels[0], by_hand[:, :, 2:5, 2:5])
        assert head(z_feats, x_feats).cls.shape[-1] == 13
        for kind, kernel_side, cells in (("cropped", 3, 14), ("training", 4, 13)):
            other = SiamCARHead([16, 24], dataclasses.replace(head_config, test_kernel=kind))
            other.load_state_dict(head.state_dict())
            other.eval()
            assert other.template_kernels(z_feats)[0].shape[-1] == kernel_side
            assert other(z_feats, x_feats).cls.shape[-1] == cells
    head.train()
    assert head.template_kernels(z_feats)[0].shape[-1] == 4  # training never resamples
    with pytest.raises(ValueError, match="test_kernel"):
        HeadConfig(test_kernel="bilinear")


# ---------------------------------------------------------------------------------------------- (b) shared mixers
def test_one_language_projection_and_one_set_of_mixer_blocks_serve_both_branches(network_inputs):
    torch.manual_seed(0)
    net = VLTNet(profile="tiny").eval()
    assert net.config.shared_mixers and net.mixers_for("template") is net.mixers_for("search")
    keys = list(net.state_dict())
    assert any(k.startswith("mixers.0.language_projection") for k in keys)
    assert not any(k.startswith(("template_mixers", "search_mixers")) for k in keys)
    separate = VLTNet(VLTConfig.for_profile("tiny", shared_mixers=False))
    assert separate.mixers_for("template") is not separate.mixers_for("search")
    mixer_parameters = sum(p.numel() for n, p in net.named_parameters() if n.startswith("mixers."))
    assert 2 * mixer_parameters == sum(p.numel() for n, p in separate.named_parameters() if "_mixers." in n)
    # per-branch op choices still matter: another search op changes the output, the template's is untouched
    z, x, f_l = network_inputs(net, batch=1)
    with torch.no_grad():
        state = net.encode_template(z, f_l)
        first = net.forward_search(x, state).cls
        changed = dataclasses.replace(net.candidate, search_mixer=tuple((op + 1) % 4 for op in net.candidate.search_mixer))
        assert not torch.allclose(first, net.forward_search(x, state, changed).cls)
    with pytest.raises(ValueError, match="branch"):
        net.mixers_for("both")


def _old_layout_checkpoint(tmp_path):
    """A checkpoint as vlt-mini wrote it before issue 13: per-branch mixers, the unresampled 3×3 test crop, and a
    saved config without the fields added since."""
    torch.manual_seed(1)
    old = VLTNet(VLTConfig.for_profile("tiny", shared_mixers=False, head=dataclasses.replace(
        HeadConfig.for_profile("tiny"), test_kernel="cropped")))
    for name, buffer in old.named_buffers():  # non-trivial BatchNorm statistics
        if name.endswith("running_mean"):
            buffer.normal_(0, 0.1)
    data = model_checkpoint(old, text_model="minilm", kind="vlt", profile="tiny")
    del data["config"]["shared_mixers"], data["config"]["head"]["test_kernel"]
    path = tmp_path / "old.pt"
    torch.save(data, path)
    return old.eval(), path


def test_checkpoints_of_the_earlier_layout_load_and_run_as_before(tmp_path, network_inputs):
    old, path = _old_layout_checkpoint(tmp_path)
    assert any(k.startswith("template_mixers.") for k in torch.load(path, weights_only=True)["model"])
    loaded, _ = load_vlt_checkpoint(path)
    assert not loaded.config.shared_mixers and loaded.config.head.test_kernel == "cropped"
    assert loaded.score_map_offset(training=False) == old.score_map_offset(training=False)
    z, x, f_l = network_inputs(old, batch=1)
    with torch.no_grad():
        expected, got = old(z, x, f_l), loaded(z, x, f_l)
    assert expected.cls.shape[-1] == 14  # the unresampled 3×3 crop of the 8×8 map over the 16×16 map
    for a, b in zip(expected, got):
        assert torch.equal(a, b)
    # a current checkpoint keeps its new fields when loaded
    new = VLTNet(profile="tiny")
    again, _ = load_vlt_checkpoint(model_checkpoint(new))
    assert again.config.shared_mixers and again.config.head.test_kernel == "resampled"


# ---------------------------------------------------------------------------------------------- (c) jitter
def test_scale_jitter_draws_x_and_y_independently_by_default():
    assert PairConfig().per_axis_scale
    window = CropWindow(50.0, 40.0, 30.0, 63)
    sides = [_jitter(window, 0.0, 0.2, np.random.default_rng(seed)) for seed in range(20)]
    ratios = [w.side / w.side_y for w in sides]
    assert max(ratios) > 1.05 and min(ratios) < 0.95 and all(0.8 / 1.2 <= r <= 1.2 / 0.8 for r in ratios)
    isotropic = [_jitter(window, 0.0, 0.2, np.random.default_rng(seed), per_axis=False) for seed in range(5)]
    assert all(w.side_y is None and w.side != 30.0 for w in isotropic)
    # a stretched window: the affine warp, frame_to_crop and crop_to_frame agree
    stretched = CropWindow(50.0, 40.0, 30.0, 63, side_y=20.0)
    box = np.array([45.0, 35.0, 10.0, 8.0])
    x1, y1, x2, y2 = stretched.frame_to_crop(box)
    assert (x2 - x1, y2 - y1) == pytest.approx((10 * 63 / 30, 8 * 63 / 20))
    np.testing.assert_allclose(stretched.crop_to_frame([x1, y1, x2, y2]), box)
    image = np.zeros((100, 120, 3), np.uint8)
    image[35:43, 45:55] = 255  # the box, pixel centres 45..54 × 35..42
    cut = crop(image, stretched, pad_colour=(0, 0, 0))
    rows, cols = np.nonzero(cut[..., 0] > 127)
    assert abs(cols.min() - x1) <= 2 and abs(rows.max() - y2) <= 3


# ---------------------------------------------------------------------------------------------- (d) loss
def test_box_loss_default_is_one_minus_ciou():
    assert LossConfig().box_loss == "ciou" and LossConfig.for_profile("tiny").box_loss == "ciou"


# ---------------------------------------------------------------------------------------------- (e) reproducibility
@pytest.fixture(scope="module")
def minilm():
    from vlt_mini.models.text_encoder import TextEncoder

    encoder = TextEncoder(disk_cache=False)
    encoder.model  # load once
    return encoder


def _fresh_encoder(minilm, cache_dir):
    from vlt_mini.models.text_encoder import TextEncoder

    encoder = TextEncoder(cache_dir=str(cache_dir))
    encoder._model, encoder._tokenizer = minilm.model, minilm.tokenizer  # the same frozen BERT, no reload
    return encoder


def test_a_sentence_embedding_does_not_depend_on_its_batch_or_the_cache_history(minilm, tmp_path):
    sentences = ["a small red ball moving to the left", "star", "large blue striped car on the grass among other cars"]
    alone = [_fresh_encoder(minilm, tmp_path / f"alone{i}").encode([s]).embeddings[0] for i, s in enumerate(sentences)]
    batched = _fresh_encoder(minilm, tmp_path / "batch").encode(sentences[::-1] + ["x " * 30]).embeddings
    for row, single in zip(batched[:3].flip(0), alone):
        assert torch.equal(row, single)
    reread = _fresh_encoder(minilm, tmp_path / "batch").encode(sentences).embeddings  # from the disk cache
    assert all(torch.equal(a, b) for a, b in zip(reread, alone))


@pytest.mark.slow
def test_the_same_command_and_seed_give_bit_identical_vlt_weights(tiny_mini_lasot, minilm, tmp_path):
    """Two VLT-mini trainings with one seed, one with a text cache filled in another order and batch, end with the
    same weights to the last bit (issue 13 §5)."""
    from vlt_mini.data import open_dataset
    from vlt_mini.io import load_checkpoint
    from vlt_mini.training import PairSource, Trainer, TrainingSetup

    sources = [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))]
    sentences = sorted({(sequence.sentence or "").strip() for sequence in sources[0].dataset} - {""})
    history = _fresh_encoder(minilm, tmp_path / "used-cache")
    # another run filled this cache, batched with a long sentence (padding every other one)
    history.encode(["a very " + "very " * 40 + "long sentence"] + sentences[::-1])
    finals = []
    for name, encoder in (("clean", _fresh_encoder(minilm, tmp_path / "clean-cache")),
                          ("used", _fresh_encoder(minilm, tmp_path / "used-cache"))):
        setup = TrainingSetup.for_profile("tiny")
        train = dataclasses.replace(setup.train, batch_size=4, seed=3)
        pairs = dataclasses.replace(setup.pairs, samples_per_epoch=16)
        trainer = Trainer("vlt", setup.model, train, pairs, sources, tmp_path / name, device="cpu", progress=False,
                          text_encoder=encoder)
        trainer.train()
        finals.append(load_checkpoint(tmp_path / name / "model_final.pt")["model"])
    first, second = finals
    assert first.keys() == second.keys() and len(first) > 100
    different = [k for k in first if not torch.equal(first[k], second[k])]
    assert not different, different[:5]
