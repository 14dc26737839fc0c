"""SiamCAR neck / head shapes and init, target assignment and the three losses on hand-computed cases."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from vlt_mini.config import apply_overrides
from vlt_mini.models.losses import (LossConfig, box_loss, centerness_loss, centerness_target, classification_loss,
                             iou_losses, location_offset, score_map_locations, siamcar_loss, siamcar_targets)
from vlt_mini.models.head import (HeadConfig, HeadOutput, SiamCARHead, center_crop_bounds, feature_map_size,
                                  xcorr_depthwise)

LEVEL_CHANNELS = {"tiny": (40, 80, 160), "cpu": (40, 80, 160), "paper": (160, 320, 640)}  # supernet stages 2-4


def _features(channels, size, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, c, size, size, generator=generator) for c in channels]


# ---------------------------------------------------------------------------------------------------------- head

@pytest.mark.parametrize("profile", ["tiny", "cpu", "paper"])
def test_head_shapes_per_profile(profile):
    torch.manual_seed(0)
    head_config, loss_config = HeadConfig.for_profile(profile), LossConfig.for_profile(profile)
    head = SiamCARHead(LEVEL_CHANNELS[profile], head_config)
    z_size = feature_map_size(head_config.template_size, head_config.stride)
    x_size = feature_map_size(loss_config.search_size, loss_config.stride)
    batch = 1 if profile == "paper" else 2
    z_feats = _features(LEVEL_CHANNELS[profile], z_size, batch)
    x_feats = _features(LEVEL_CHANNELS[profile], x_size, batch)
    with torch.no_grad():
        out = head(z_feats, x_feats)
        kernels = head.template_kernels(z_feats)
    crop = head_config.crop_size(training=True)
    assert [tuple(k.shape) for k in kernels] == [(batch, head_config.width, crop, crop)] * 3
    side = x_size - crop + 1
    assert isinstance(out, HeadOutput)
    assert tuple(out.cls.shape) == (batch, 2, side, side)
    assert tuple(out.centerness.shape) == (batch, 1, side, side)
    assert tuple(out.ltrb.shape) == (batch, 4, side, side)
    assert bool((out.ltrb > 0).all())  # exp
    head.eval()
    with torch.no_grad():
        eval_out = head(z_feats, x_feats)
    # at test time the maps are resampled one cell smaller (official), so the score map keeps its training size
    assert eval_out.cls.shape[-1] == side == head_config.feature_sizes(loss_config.search_size, False)[1] \
        - head_config.crop_size(training=False) + 1


def test_paper_geometry_127_255_gives_25x25():
    config = HeadConfig.for_profile("paper")
    assert feature_map_size(127, 8) == 16 and feature_map_size(255, 8) == 32
    assert config.crop_size(training=True) == 8 and config.crop_size(training=False) == 7
    assert center_crop_bounds(16, 8) == (4, 12)  # the official 8×8 of 16×16: indices 4..12 (docs/official_code.md)
    assert center_crop_bounds(16, 7) == (4, 11)
    assert 32 - config.crop_size(training=True) + 1 == 25
    assert config.width == 256 and config.gn_groups == 32


def test_head_on_real_supernet_features():
    from vlt_mini.models.supernet import SPOSSupernet, sample_path

    torch.manual_seed(0)
    head_config, loss_config = HeadConfig.for_profile("tiny"), LossConfig.for_profile("tiny")
    backbone = SPOSSupernet(profile="tiny", stride=8)
    path = sample_path(0)
    z_feats = backbone(torch.randn(2, 3, head_config.template_size, head_config.template_size), path)[1:]
    x_feats = backbone(torch.randn(2, 3, loss_config.search_size, loss_config.search_size), path)[1:]
    assert z_feats[0].shape[-1] == feature_map_size(head_config.template_size, 8)
    assert x_feats[0].shape[-1] == feature_map_size(loss_config.search_size, 8)
    head = SiamCARHead([f.shape[1] for f in z_feats], head_config)
    out = head(z_feats, x_feats)
    assert out.cls.shape[-1] == 13


def test_xcorr_depthwise_matches_per_channel_loop():
    generator = torch.Generator().manual_seed(1)
    x, kernel = torch.randn(2, 3, 9, 9, generator=generator), torch.randn(2, 3, 4, 4, generator=generator)
    out = xcorr_depthwise(x, kernel)
    assert tuple(out.shape) == (2, 3, 6, 6)
    for b in range(2):
        for c in range(3):
            expected = F.conv2d(x[b:b + 1, c:c + 1], kernel[b:b + 1, c:c + 1])[0, 0]
            torch.testing.assert_close(out[b, c], expected)
    with pytest.raises(ValueError, match="same batch"):
        xcorr_depthwise(x, kernel[:1])


def test_head_init_and_config_errors():
    head = SiamCARHead(LEVEL_CHANNELS["tiny"], HeadConfig.for_profile("tiny"))
    torch.testing.assert_close(head.car.cls_logits.bias, torch.full((2,), -math.log(99.0)))
    assert float(head.car.bbox_pred.bias.detach().abs().max()) == 0.0
    tower_weight = head.car.cls_tower[0].weight.detach()
    assert 0.005 < float(tower_weight.std()) < 0.015
    with pytest.raises(ValueError, match="gn_groups"):
        HeadConfig(width=48, gn_groups=32)
    with pytest.raises(ValueError, match="template_crop"):
        HeadConfig(template_crop=17)
    with pytest.raises(ValueError, match="levels"):
        head(_features(LEVEL_CHANNELS["tiny"][:2], 8), _features(LEVEL_CHANNELS["tiny"], 16))


# ------------------------------------------------------------------------------------------------------- targets

def test_location_offset_derivation():
    assert location_offset(255, 25, 8, exact=True) == 31.5
    assert location_offset(255, 25, 8) == 32  # SiamCAR compute_locations: i*8 + 32
    assert location_offset(127, 13, 8) == 16 and location_offset(191, 19, 8) == 24
    locations = score_map_locations(25, 8, 255)
    assert tuple(locations.shape) == (25, 25, 2)
    assert locations[0, 0].tolist() == [32, 32] and locations[12, 12].tolist() == [128, 128]
    assert locations[3, 5].tolist() == [32 + 5 * 8, 32 + 3 * 8]  # (x from the column, y from the row)
    with pytest.raises(ValueError, match="larger than"):
        location_offset(127, 25, 8)


def test_targets_for_a_centred_box_by_hand():
    # box 80 × 40 centred at (128, 128): margins 24 px in x, 12 px in y, strictly inside
    # x in (112, 144) -> columns 11, 12, 13 (x = 120, 128, 136); y in (120, 136) -> row 12 only
    box = torch.tensor([[88.0, 108.0, 168.0, 148.0]])
    targets = siamcar_targets(box, None, 25, LossConfig())
    positives = targets.labels[0].nonzero().tolist()
    assert positives == [[12, 11], [12, 12], [12, 13]]
    assert targets.ltrb[0, :, 12, 11].tolist() == [32, 20, 48, 20]  # x = 120, y = 128
    assert targets.centerness[0, 12, 11].item() == pytest.approx(math.sqrt(32 / 48))
    assert targets.centerness[0, 12, 12].item() == pytest.approx(1.0)
    assert targets.centerness[0, 11, 12].item() == pytest.approx(math.sqrt(12 / 28))  # y = 120: t 12, b 28
    assert targets.labels[0, 11, 12] == 0  # t = 12 is not > 0.3·40
    assert targets.ltrb[0, 0, 0, 0].item() == 32 - 88 and targets.centerness[0, 0, 0].item() == 0.0


def test_targets_negative_pair_and_bad_boxes():
    boxes = torch.tensor([[88.0, 108.0, 168.0, 148.0], [float("nan")] * 4])
    targets = siamcar_targets(boxes, torch.tensor([False, True]), 25)
    assert int(targets.labels[0].sum()) == 3 and int(targets.labels[1].sum()) == 0
    assert float(targets.centerness[1].abs().sum()) == 0.0
    with pytest.raises(ValueError, match=r"gt_boxes\[1\]"):
        siamcar_targets(torch.tensor([[0.0, 0, 10, 10], [20.0, 0, 10, 10]]), None, 25)
    with pytest.raises(ValueError, match="is_negative"):
        siamcar_targets(boxes, torch.tensor([True]), 25)
    assert centerness_target(torch.tensor([[10.0, 5.0, 10.0, 20.0]])).item() == pytest.approx(0.5)


# -------------------------------------------------------------------------------------------------------- losses

def test_classification_loss_balanced_by_hand():
    logits = torch.tensor([[0.0, 2.0], [1.0, -1.0], [0.5, 0.5], [3.0, 0.0]]).T.reshape(1, 2, 2, 2)  # (B, 2, H, W)
    labels = torch.tensor([1, 0, 0, 0]).reshape(1, 2, 2)
    def nll(cell, label):
        pair = [[0.0, 2.0], [1.0, -1.0], [0.5, 0.5], [3.0, 0.0]][cell]
        return -(pair[label] - math.log(math.exp(pair[0]) + math.exp(pair[1])))
    expected = 0.5 * nll(0, 1) + 0.5 * (nll(1, 0) + nll(2, 0) + nll(3, 0)) / 3
    assert classification_loss(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    only_negatives = 0.5 * sum(nll(c, 0) for c in range(4)) / 4
    all_negative = classification_loss(logits, torch.zeros(1, 2, 2, dtype=torch.long))
    assert all_negative.item() == pytest.approx(only_negatives, rel=1e-6)


def test_iou_losses_by_hand():
    target = torch.tensor([[10.0, 10.0, 10.0, 10.0]])
    for kind in ("log_iou", "giou", "ciou"):
        assert iou_losses(target, target, kind).item() == pytest.approx(0.0, abs=1e-6)
    half = torch.tensor([[5.0, 5.0, 5.0, 5.0]])  # 10×10 inside 20×20: IoU 1/4
    assert iou_losses(half, target, "log_iou", smooth=0.0).item() == pytest.approx(math.log(4.0))
    assert iou_losses(half, target, "log_iou", smooth=1.0).item() == pytest.approx(-math.log(101 / 401))
    assert iou_losses(half, target, "giou", smooth=0.0).item() == pytest.approx(0.75)
    # shifted squares: pred [-5, 5]², target [0, 10]²: I 25, U 175, enclosing 15×15, centre distance² 50
    shifted = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    assert iou_losses(half, shifted, "giou", smooth=0.0).item() == pytest.approx(1 - 1 / 7 + 50 / 225, rel=1e-5)
    assert iou_losses(half, shifted, "ciou", smooth=0.0).item() == pytest.approx(1 - 1 / 7 + 50 / 450, rel=1e-5)
    wide = torch.tensor([[10.0, 5.0, 10.0, 5.0]])  # 20×10 centred: IoU 1/2, aspect term v
    v = 4 / math.pi ** 2 * (math.atan(2.0) - math.atan(1.0)) ** 2
    assert iou_losses(half, wide, "ciou", smooth=0.0).item() == pytest.approx(1 - (0.5 - v / (0.5 + v) * v), rel=1e-5)
    # centerness-weighted mean
    pair_pred, pair_target = torch.cat([half, target]), torch.cat([target, target])
    weighted = box_loss(pair_pred, pair_target, torch.tensor([1.0, 3.0]), "log_iou", smooth=0.0)
    assert weighted.item() == pytest.approx(math.log(4.0) / 4)


def test_centerness_bce_by_hand():
    logits, target = torch.tensor([0.0, 2.0]), torch.tensor([0.5, 1.0])
    sigmoid_2 = 1 / (1 + math.exp(-2.0))
    expected = (-(0.5 * math.log(0.5) + 0.5 * math.log(0.5)) - math.log(sigmoid_2)) / 2
    assert centerness_loss(logits, target).item() == pytest.approx(expected, rel=1e-6)
    assert centerness_loss(torch.zeros(0), torch.zeros(0)).item() == 0.0


def _random_output(batch, side, seed=0, requires_grad=True):
    generator = torch.Generator().manual_seed(seed)
    parts = (torch.randn(batch, 2, side, side, generator=generator),
             torch.randn(batch, 1, side, side, generator=generator),
             torch.rand(batch, 4, side, side, generator=generator) * 60 + 1)
    return HeadOutput(*(p.requires_grad_(requires_grad) for p in parts))


def test_siamcar_loss_combines_the_parts_with_weights():
    out = _random_output(1, 25)
    box = torch.tensor([[88.0, 108.0, 168.0, 148.0]])
    config = LossConfig()
    losses = siamcar_loss(out, box, None, config)
    targets = siamcar_targets(box, None, 25, config)
    mask = targets.labels.bool()
    expected_box = box_loss(out.ltrb.permute(0, 2, 3, 1)[mask], targets.ltrb.permute(0, 2, 3, 1)[mask],
                            targets.centerness[mask], config.box_loss)
    expected_cen = centerness_loss(out.centerness[:, 0][mask], targets.centerness[mask])
    assert losses["cls"].item() == pytest.approx(classification_loss(out.cls, targets.labels).item())
    assert losses["box"].item() == pytest.approx(expected_box.item())
    assert losses["cen"].item() == pytest.approx(expected_cen.item())
    by_hand = losses["cls"].item() + 3 * losses["box"].item() + losses["cen"].item()
    assert losses["total"].item() == pytest.approx(by_hand, rel=1e-6)
    giou = siamcar_loss(out, box, None, apply_overrides(config, ["box_loss=giou", "box_weight=2"]))
    by_hand = giou["cls"].item() + 2 * giou["box"].item() + giou["cen"].item()
    assert giou["total"].item() == pytest.approx(by_hand, rel=1e-6)
    with pytest.raises(ValueError, match="box_loss"):
        apply_overrides(config, ["box_loss=l1"])


def test_negative_pairs_train_only_classification_as_negative():
    out = _random_output(2, 25)
    boxes = torch.tensor([[88.0, 108.0, 168.0, 148.0], [90.0, 100.0, 170.0, 150.0]])
    losses = siamcar_loss(out, boxes, torch.tensor([False, True]), LossConfig())
    alone = siamcar_loss(HeadOutput(*(t[:1] for t in out)), boxes[:1], torch.tensor([False]), LossConfig())
    assert losses["box"].item() == pytest.approx(alone["box"].item())
    assert losses["cen"].item() == pytest.approx(alone["cen"].item())
    # cls: the 3 positives of sample 0, and the 622 + 625 negatives of both samples, by hand
    log_probs = F.log_softmax(out.cls.detach(), dim=1)
    labels = siamcar_targets(boxes, torch.tensor([False, True]), 25).labels
    assert int(labels[1].sum()) == 0
    expected = 0.5 * -log_probs[:, 1][labels == 1].mean() + 0.5 * -log_probs[:, 0][labels == 0].mean()
    assert losses["cls"].item() == pytest.approx(expected.item(), rel=1e-6)
    losses["total"].backward()
    assert float(out.ltrb.grad[1].abs().sum()) == 0.0 and float(out.centerness.grad[1].abs().sum()) == 0.0
    assert float(out.cls.grad[1].abs().sum()) > 0.0


def test_all_negative_batch_is_finite_and_backpropagates():
    out = _random_output(3, 25)
    losses = siamcar_loss(out, torch.full((3, 4), float("nan")), torch.ones(3, dtype=torch.bool), LossConfig())
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["box"].item() == 0.0 and losses["cen"].item() == 0.0
    losses["total"].backward()
    assert torch.isfinite(out.cls.grad).all() and float(out.ltrb.grad.abs().sum()) == 0.0


def test_gradients_reach_every_head_parameter():
    torch.manual_seed(0)
    head_config, loss_config = HeadConfig.for_profile("tiny"), LossConfig.for_profile("tiny")
    head = SiamCARHead(LEVEL_CHANNELS["tiny"], head_config).train()
    z_feats, x_feats = _features(LEVEL_CHANNELS["tiny"], 8), _features(LEVEL_CHANNELS["tiny"], 16)
    out = head(z_feats, x_feats)
    boxes = torch.tensor([[33.0, 38.0, 93.0, 88.0], [40.0, 30.0, 80.0, 100.0]])
    losses = siamcar_loss(out, boxes, torch.tensor([False, False]), loss_config)
    losses["total"].backward()
    missing = [name for name, p in head.named_parameters() if p.grad is None or float(p.grad.abs().sum()) == 0.0]
    assert not missing, f"no gradient reaches {missing}"
