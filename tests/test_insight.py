"""Channel selection (Fig. 4), Grad-CAM of the response (Fig. 7) and the attribute comparison (Fig. 8)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from vlt_mini.experiments import insight
from vlt_mini.models import VLTConfig, VLTNet

LANGUAGE_DIM = 16  # a small random f_l instead of BERT


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = VLTNet(VLTConfig.for_profile("tiny", language_dim=LANGUAGE_DIM))
    for branch in ("template", "search"):  # non-trivial BatchNorm statistics in the selector
        for mixer in model.mixers_for(branch):
            bn = mixer.language_projection[1]
            bn.running_mean.normal_(0, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    return model.train()  # the functions must switch to eval and restore this


@pytest.fixture(scope="module")
def crops(net):
    generator = torch.Generator().manual_seed(1)
    config = net.config
    z = torch.rand(1, 3, config.template_size, config.template_size, generator=generator) * 255
    x = torch.rand(1, 3, config.search_size, config.search_size, generator=generator) * 255
    return z, x, torch.randn(1, LANGUAGE_DIM, generator=generator), torch.randn(1, LANGUAGE_DIM, generator=generator)


def test_selection_scores_are_the_mixers_channel_selector(net, crops):
    f_l = crops[2]
    selections = insight.channel_selection(net, f_l[0], k=3)
    assert [(s.branch, s.stage) for s in selections] == [(b, s) for b in ("template", "search") for s in (1, 2, 3, 4)]
    assert net.training and all(m.training for m in net.modules())
    net.eval()
    try:
        for selection in selections:
            mixer = net.mixers_for(selection.branch)[selection.stage - 1]
            expected = mixer.channel_selector(f_l)[0, :, 0, 0].detach().numpy()
            np.testing.assert_allclose(selection.scores, expected, rtol=1e-6, atol=1e-6)
            assert len(selection.top) == len(selection.bottom) == 3
            np.testing.assert_array_equal(selection.scores[selection.top], np.sort(expected)[::-1][:3])
            np.testing.assert_array_equal(selection.scores[selection.bottom], np.sort(expected)[:3])
            assert selection.scores[selection.top[-1]] >= np.delete(expected, selection.top).max()
    finally:
        net.train()
    with pytest.raises(ValueError, match=r"\(16,\) or \(1, 16\)"):
        insight.channel_selection(net, torch.randn(2, LANGUAGE_DIM))


def test_mixer_activations_are_equation_1_inside_the_network(net, crops):
    z, x, f_l, _ = crops
    records = insight.mixer_activations(net, x, f_l, branch="search")
    assert net.training
    channels = net.config.supernet.stage_channels
    assert [r["stage"] for r in records] == [1, 2, 3, 4]
    for record, c in zip(records, channels):
        assert record["before"].shape[0] == record["after"].shape[0] == c
        assert record["before"].shape == record["after"].shape == record["residual"].shape
    net.eval()
    try:
        with torch.no_grad():
            candidate = net.candidate
            features = net.backbone_features(x, candidate.search_path, net.mixers_for("search"), candidate.search_mixer, f_l)
            for record, feature in zip(records[1:], features):  # stages 2-4 are what the head reads
                torch.testing.assert_close(record["after"], feature[0])
            stage = records[2]
            mixer, op = net.mixers_for("search")[2], candidate.search_mixer[2]
            mixed = mixer.blocks[op](stage["before"][None] * mixer.channel_selector(f_l)) + stage["residual"][None]
            torch.testing.assert_close(mixed[0], stage["after"])
    finally:
        net.train()
    template = insight.mixer_activations(net, z, f_l, branch="template")
    assert template[0]["before"].shape[-1] == (net.config.template_size + 3) // 4


def test_gradcam_matches_a_hand_computation(net, crops):
    z, x, f_l, other = crops
    heatmap = insight.response_gradcam(net, z, x, f_l)
    size = net.config.search_size
    assert heatmap.shape == (size, size) and heatmap.dtype == np.float32
    assert heatmap.min() >= 0 and heatmap.max() > 0
    assert net.training
    # by hand: stage 4 is the last feature the head reads; make it a leaf and differentiate the peak log-odds
    net.eval()
    try:
        candidate = net.candidate
        has_sentence = torch.ones(1, dtype=torch.bool)
        with torch.no_grad():
            state = net.encode_template(z, f_l, has_sentence)
            features = net.backbone_features(x, candidate.search_path, net.mixers_for("search"), candidate.search_mixer, f_l)
        activation = features[-1].clone().requires_grad_(True)
        output = net.head.forward_with_kernels(state.kernels, features[:-1] + [activation])
        log_odds = output.cls[0, 1] - output.cls[0, 0]
        row, col = np.unravel_index(int(log_odds.argmax()), log_odds.shape)
        log_odds[row, col].backward()
    finally:
        net.train()
    gradient, activation = activation.grad[0].double(), activation.detach()[0].double()  # (C, h, w)
    weighted = torch.zeros(activation.shape[1:], dtype=torch.float64)
    for channel in range(activation.shape[0]):
        weighted += gradient[channel].mean() * activation[channel]
    expected = F.interpolate(weighted.clamp(min=0)[None, None], size=(size, size), mode="bilinear",
                             align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(heatmap, expected, rtol=1e-3, atol=1e-4 * expected.max())
    # another sentence, another map; the 0-tensor too; another cell or stage gives a map of the same shape
    changed = insight.response_gradcam(net, z, x, other)
    assert np.abs(changed - heatmap).max() > 1e-3 * heatmap.max()
    no_sentence = insight.response_gradcam(net, z, x, None)
    assert np.abs(no_sentence - heatmap).max() > 1e-3 * heatmap.max()
    assert insight.response_gradcam(net, z, x, f_l, stage=2, cell=(0, 0)).shape == (size, size)
    with pytest.raises(ValueError, match="stage"):
        insight.response_gradcam(net, z, x, f_l, stage=0)


def test_gradcam_of_the_vision_only_baseline():
    torch.manual_seed(0)
    baseline = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    size, template = baseline.config.search_size, baseline.config.template_size
    z, x = torch.rand(1, 3, template, template) * 255, torch.rand(1, 3, size, size) * 255
    heatmap = insight.response_gradcam(baseline, z, x, torch.randn(1, 384))  # f_l is ignored
    assert heatmap.shape == (size, size) and heatmap.min() >= 0
    np.testing.assert_allclose(heatmap, insight.response_gradcam(baseline, z, x, None), rtol=1e-5, atol=1e-12)
    with pytest.raises(ValueError, match="no ModaMixer"):
        insight.channel_selection(baseline, torch.randn(384))


def test_sentence_variants():
    variants = insight.sentence_variants("small red striped car driving to the right in the upper left of the scene")
    assert variants == {"no sentence": None, "category": "car", "category + colour": "red car",
                        "environment": "driving to the right in the upper left of the scene",
                        "full sentence": "small red striped car driving to the right in the upper left of the scene"}
    assert "environment" not in insight.sentence_variants("white ball")
    with pytest.raises(ValueError, match="categories"):
        insight.sentence_variants("a person walking")


class FakeEncoder:
    def encode(self, sentences):
        rows = [torch.zeros(LANGUAGE_DIM) if not s else torch.randn(LANGUAGE_DIM, generator=torch.Generator()
                                                                   .manual_seed(len(s))) for s in sentences]
        return torch.stack(rows), torch.tensor([bool(s) for s in sentences])


def test_figures(net, crops):
    z, x, f_l, _ = crops
    figure = insight.channel_selection_figure(net, x, f_l, "red car", k=2, stages=(2, 4))
    assert isinstance(figure, Figure) and len(figure.axes) == 2 * 9
    maps = insight.sentence_gradcams(net, FakeEncoder(), z, x, insight.sentence_variants("red car moving slowly"))
    assert list(maps) == ["no sentence", "category", "category + colour", "environment", "full sentence"]
    np.testing.assert_allclose(maps["no sentence"], insight.response_gradcam(net, z, x, None), rtol=1e-5)
    figure = insight.gradcam_figure(x, maps, "Grad-CAM", shared_scale=True)
    assert isinstance(figure, Figure) and len(figure.axes) == 6
    with pytest.raises(ValueError, match="heat map"):
        insight.gradcam_figure(x, {"bad": np.zeros((5, 5))})
    scores = {"title": "mini-LaSOT test", "trackers": {
        "SiamCAR-mini": {"suc": 40.0, "per_attribute": {"IV": 30.0, "POC": 35.0}},
        "VLT-mini": {"suc": 45.0, "per_attribute": {"IV": 38.0, "POC": 33.0, "DEF": 20.0}}}}
    figure = insight.attribute_comparison_figure(scores, "SiamCAR-mini", "VLT-mini")
    ax = figure.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["overall", "IV", "POC"]
    assert sorted(t.get_text() for t in ax.texts) == ["+5.0", "+8.0", "-2.0"]
    with pytest.raises(ValueError, match="no tracker 'X'"):
        insight.attribute_comparison_figure(scores, "X", "VLT-mini")
