"""The ImageNet step at tiny: rendered object images, the SPOS supernet as a classifier, the official file layout,
and a tracking training that starts from it."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from vlt_mini.cli import main as cli_main
from vlt_mini.data.object_images import NUM_CLASSES, render_object_images, split_label
from vlt_mini.models.supernet import SPOSSupernet, load_spos_checkpoint
from vlt_mini.training.pretrain import PRETRAINED_NAME, PretrainConfig, _learning_rate, spos_initialisation


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_object_images_are_reproducible_balanced_and_labelled():
    first = render_object_images(12, 32, seed=5)
    again = render_object_images(12, 32, seed=5)
    assert first.images.shape == (12, 32, 32, 3) and first.images.dtype == np.uint8
    assert np.array_equal(first.images, again.images) and not np.array_equal(first.images,
                                                                             render_object_images(12, 32, 6).images)
    assert first.labels.tolist() == list(range(12)) and NUM_CLASSES == 100
    category, colour = split_label(first.labels)
    assert np.array_equal(category, first.category) and np.array_equal(colour, first.colour)
    assert first.images.std() > 10  # not blank


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain")
    assert cli_main(["pretrain", "--profile", "tiny", "--out", str(out), "--no-progress", "iterations=6"]) == 0
    return out


def test_pretrain_writes_the_official_spos_layout(pretrained):
    data = torch.load(pretrained / PRETRAINED_NAME, weights_only=True)
    assert set(data) == {"state_dict", "vlt_mini"} and all(k.startswith("module.") for k in data["state_dict"])
    record = json.loads((pretrained / "pretrain.json").read_text())
    assert record["recipe"]["iterations"] == 6 and record["classes"] == NUM_CLASSES
    scores = record["held_out_mean_over_random_paths"]
    assert all(0.0 <= scores[key] <= 1.0 for key in ("top1", "category", "colour"))
    # loads as the official ImageNet file does: into the tracking (stride-8) backbone, the classifier left over
    backbone = SPOSSupernet("tiny")
    missing, unexpected = load_spos_checkpoint(backbone, pretrained / PRETRAINED_NAME)
    assert not missing and unexpected and all(".conv_last." in k or ".classifier." in k for k in unexpected)
    state = backbone.state_dict()
    assert all(torch.equal(state[k[len("module."):]], v) for k, v in data["state_dict"].items()
               if k[len("module."):] in state)


@pytest.mark.slow
def test_a_tracking_training_starts_from_it_at_small_widths(pretrained, tiny_mini_lasot, tmp_path):
    from vlt_mini.data import open_dataset
    from vlt_mini.models.supernet import STAGE_LAYER_RANGES
    from vlt_mini.training import PairSource, Trainer, TrainingSetup

    setup = TrainingSetup.for_profile("tiny")
    train = dataclasses.replace(setup.train, backbone_checkpoint=str(pretrained / PRETRAINED_NAME),
                                backbone_lr_factor=0.1)
    trainer = Trainer("vlt", setup.model, train, setup.pairs,
                      [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))], tmp_path, device="cpu",
                      progress=False)
    weights = torch.load(pretrained / PRETRAINED_NAME, weights_only=True)["state_dict"]
    model = trainer.model
    assert torch.equal(model.backbone.features[3][2].branch_main[0].weight,
                       weights["module.features.3.2.branch_main.0.weight"])
    stop = STAGE_LAYER_RANGES[1][1]
    assert torch.equal(model.mixers_for("search")[1].blocks[1].branch_main[0].weight,
                       weights[f"module.features.{stop - 1}.1.branch_main.0.weight"])  # mixers from the stage's last block
    factors = sorted(group["lr_factor"] for group in trainer.optimizer.param_groups)
    assert factors == [0.1, 1.0]


def test_pretrain_config_checks_its_fields():
    with pytest.raises(ValueError, match="PretrainConfig"):
        PretrainConfig(image_size=8)
    with pytest.raises(ValueError, match="optimizer"):
        PretrainConfig(optimizer="adam")
    with pytest.raises(ValueError, match="initialisation"):
        PretrainConfig(initialisation="xavier")
    with pytest.raises(ValueError, match="warmup_iterations"):
        PretrainConfig(iterations=10, warmup_iterations=10)
    assert PretrainConfig.for_profile("cpu").image_size == 64


def test_learning_rate_warms_up_then_decays_linearly_to_zero():
    config = PretrainConfig(iterations=100, warmup_iterations=10, base_lr=1.0)
    rates = [_learning_rate(config, i) for i in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(0.91)
    assert max(rates) == rates[9] and rates[-1] == pytest.approx(0.01) and all(np.diff(rates[9:]) < 0)
    assert _learning_rate(PretrainConfig(iterations=100, base_lr=1.0), 0) == 1.0  # SPOS: no warm-up


def test_spos_initialisation_follows_the_official_supernet():
    model = SPOSSupernet("cpu", stride=32, with_classifier=True, num_classes=NUM_CLASSES)
    torch.manual_seed(0)
    spos_initialisation(model)
    block = model.features[12][0].branch_main  # a stride-1 Shuffle 3x3 block of stage 3 (80 channels)
    assert model.first_conv[0].weight.std().item() == pytest.approx(0.01, rel=0.2)
    assert block[0].weight.std().item() == pytest.approx(1 / 40, rel=0.1)  # point-wise: 1 / input channels
    assert block[3].weight.std().item() == pytest.approx(1.0, rel=0.1)     # depth-wise: 1 / 1
    assert model.classifier[0].weight.std().item() == pytest.approx(0.01, rel=0.1)
