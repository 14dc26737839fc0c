"""Where supernet training starts: the official SPOS file with the ModaMixer blocks copied from the last block of
their stage (paper), or one of our checkpoints; shapes checked, clear errors."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from vlt_mini.io import atomic_torch_save, load_checkpoint
from vlt_mini.models.choice_blocks import NUM_CHOICES, make_choice_block
from vlt_mini.models.supernet import STAGE_LAYER_RANGES, SPOSSupernet
from vlt_mini.models.vlt import VLTConfig, VLTNet, model_checkpoint


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def sources(tiny_mini_lasot):
    from vlt_mini.data import open_dataset
    from vlt_mini.training import PairSource

    return [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))]


@pytest.fixture(scope="module")
def encoder():
    from vlt_mini.models.text_encoder import TextEncoder

    return TextEncoder()


def _trainer(sources, out, encoder, kind="supernet", **train_overrides):
    from vlt_mini.training import Trainer, TrainingSetup

    setup = TrainingSetup.for_profile("tiny")
    return Trainer(kind, setup.model, dataclasses.replace(setup.train, batch_size=4, **train_overrides),
                   dataclasses.replace(setup.pairs, samples_per_epoch=8), sources, out, device="cpu", progress=False,
                   text_encoder=encoder)


def _shapes(module):
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.mark.parametrize("profile", ["tiny", "cpu", "paper"])
def test_a_mixer_block_has_the_shapes_of_its_stage_last_block(profile):
    backbone = SPOSSupernet(profile)
    for (_, stop), channels in zip(STAGE_LAYER_RANGES, backbone.config.stage_channels):
        for op in range(NUM_CHOICES):
            last = backbone.features[stop - 1][op]
            assert not last.has_projection and last.stride == 1
            assert _shapes(make_choice_block(op, channels // 2, channels)) == _shapes(last)  # as ModaMixer builds it


def test_training_starts_from_the_official_spos_file_with_mixers_copied(sources, encoder, tmp_path):
    torch.manual_seed(123)
    official = SPOSSupernet("tiny", with_classifier=True)  # the official layout, at tiny widths
    for name, buffer in official.named_buffers():
        if name.endswith("running_mean"):
            buffer.normal_()
    weights = {f"module.{k}": v for k, v in official.state_dict().items()}
    torch.save({"state_dict": weights}, tmp_path / "spos.pth.tar")
    model = _trainer(sources, tmp_path / "run", encoder, backbone_checkpoint=str(tmp_path / "spos.pth.tar")).model
    ours = model.backbone.state_dict()
    assert all(torch.equal(ours[k[len("module."):]], v) for k, v in weights.items() if k[len("module."):] in ours)
    for branch in ("template", "search"):
        for mixer, (_, stop) in zip(model.mixers_for(branch), STAGE_LAYER_RANGES):
            for op in range(NUM_CHOICES):
                copied, source = mixer.blocks[op].state_dict(), model.backbone.features[stop - 1][op].state_dict()
                assert all(torch.equal(copied[k], v) for k, v in source.items())
                assert all(copied[k].data_ptr() != v.data_ptr() for k, v in source.items())  # copies, not shared
    fixed = VLTNet(VLTConfig.for_profile("tiny", mixer_searched_block=False))
    from vlt_mini.training.initialisation import copy_stage_blocks_into_mixers

    assert copy_stage_blocks_into_mixers(fixed) == 4  # one fixed Shuffle 3×3 block per stage, shared by both branches
    separate = VLTNet(VLTConfig.for_profile("tiny", mixer_searched_block=False, shared_mixers=False))
    assert copy_stage_blocks_into_mixers(separate) == 8  # ... and per branch in the earlier layout
    with pytest.raises(ValueError, match="no ModaMixer"):
        copy_stage_blocks_into_mixers(VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False)))


def test_training_starts_from_our_supernet_checkpoint(sources, encoder, tmp_path):
    _trainer(sources, tmp_path / "first", encoder).train(stop_after=1)  # (tests/test_search.py uses model_final.pt)
    last = tmp_path / "first" / "checkpoint_last.pt"
    trainer = _trainer(sources, tmp_path / "second", encoder, init_checkpoint=str(last))
    saved = load_checkpoint(last)["model"]
    assert all(torch.equal(v, saved[k]) for k, v in trainer.model.state_dict().items())


def test_initialisation_errors_are_clear(sources, encoder, tmp_path):
    other_widths = tmp_path / "paper.pt"
    atomic_torch_save(model_checkpoint(VLTNet(VLTConfig.for_profile("paper")), kind="supernet", profile="paper"),
                      other_widths)
    with pytest.raises(ValueError, match=r"paper.pt .*supernet checkpoint of profile paper.*shape"):
        _trainer(sources, tmp_path / "a", encoder, init_checkpoint=str(other_widths))
    atomic_torch_save({"weights": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a vlt-mini model checkpoint"):
        _trainer(sources, tmp_path / "b", encoder, init_checkpoint=str(tmp_path / "other.pt"))
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        _trainer(sources, tmp_path / "c", encoder, init_checkpoint=str(tmp_path / "missing.pt"))
    torch.save({"state_dict": SPOSSupernet("paper").state_dict()}, tmp_path / "spos_paper.pth")
    with pytest.raises(ValueError, match="shape"):
        _trainer(sources, tmp_path / "d", encoder, backbone_checkpoint=str(tmp_path / "spos_paper.pth"))
    with pytest.raises(ValueError, match="not both"):
        _trainer(sources, tmp_path / "e", encoder, backbone_checkpoint="x", init_checkpoint="y")


def test_runs_started_before_init_checkpoint_existed_still_resume(sources, encoder, tmp_path):
    _trainer(sources, tmp_path, encoder).train(stop_after=1)
    checkpoint = load_checkpoint(tmp_path / "checkpoint_last.pt")
    del checkpoint["configs"]["train"]["init_checkpoint"]  # as written by the trainer before the field was added
    atomic_torch_save(checkpoint, tmp_path / "checkpoint_last.pt")
    resumed = _trainer(sources, tmp_path, encoder)
    assert resumed.resume() and resumed.iteration == 1
    with pytest.raises(ValueError, match=r"different settings \(train\.init_checkpoint: null -> "):
        _trainer(sources, tmp_path, encoder, init_checkpoint=str(tmp_path / "checkpoint_last.pt")).resume()


def test_selector_init_ones_keeps_a_copied_mixer_on_its_stage_features():
    """selector_init="ones": every channel selected with weight 1 at the start, so a mixer whose op equals the stage's
    last op (its blocks copied from that block) outputs exactly twice the stage feature; "random" scrambles it."""
    from vlt_mini.models.candidate import Candidate
    from vlt_mini.training.initialisation import copy_stage_blocks_into_mixers

    outputs = {}
    for init in ("random", "ones"):
        torch.manual_seed(0)
        config = VLTConfig.for_profile("tiny", selector_init=init)
        candidate = Candidate.sample(3)
        net = VLTNet(config, candidate=candidate)
        copy_stage_blocks_into_mixers(net)
        net.train()
        stage, op = 1, candidate.template_path[STAGE_LAYER_RANGES[1][1] - 1]
        mixer = net.mixers_for("template")[stage]
        f_v, f_l = torch.randn(4, mixer.channels, 8, 8), torch.randn(4, config.language_dim)
        residual = net.backbone.forward_layer(STAGE_LAYER_RANGES[stage][1] - 1, f_v, op)
        outputs[init] = (mixer(f_v, f_l, op, residual), residual, mixer.channel_selector(f_l), mixer)
    mixed, residual, selector, mixer = outputs["ones"]
    assert torch.equal(selector, torch.ones_like(selector))
    torch.testing.assert_close(mixed, 2 * residual)
    (mixed * torch.randn_like(mixed)).sum().backward()  # the sentence's part learns: BN's scale gets a gradient
    assert mixer.language_projection[1].weight.grad.abs().sum() > 0
    mixed, residual, selector, _ = outputs["random"]
    assert selector.std() > 0.5 and (selector < 0).any()
    assert torch.nn.functional.cosine_similarity(mixed.flatten(), residual.flatten(), 0) < 0.95
    with pytest.raises(ValueError, match="selector_init"):
        VLTConfig.for_profile("tiny", selector_init="zeros")
