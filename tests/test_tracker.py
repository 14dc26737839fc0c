"""The SiamCAR / VLT tracker's inference geometry and the ``vlt-mini track`` command's handling of bad input."""
import numpy as np
import pytest
import torch

from vlt_mini.cli import main
from vlt_mini.io import atomic_torch_save
from vlt_mini.models import HeadOutput, VLTConfig, VLTNet
from vlt_mini.models.vlt import load_vlt_checkpoint, model_checkpoint
from vlt_mini.tracking.tracker import PRESETS, TrackerHyperParameters, VLTTracker


class PeakModel(torch.nn.Module):
    """Wraps a real VLTNet but answers a score map with one peak at ``cell`` and constant l, t, r, b."""

    def __init__(self, net, cell, ltrb):
        super().__init__()
        self.net, self.cell, self.ltrb = net, cell, ltrb
        self.config = net.config

    def score_map_offset(self, training=None):
        return self.net.score_map_offset(training)

    def encode_template(self, *args, **kwargs):
        return self.net.encode_template(*args, **kwargs)

    def forward_search(self, x, state):
        size = self.net.score_size + (0 if self.net.training else 0)
        cls = torch.full((1, 2, size, size), -10.0)
        cls[0, 1, self.cell[0], self.cell[1]] = 10.0
        cls[0, 0] = 0.0
        ltrb = torch.tensor(self.ltrb, dtype=torch.float32).view(1, 4, 1, 1).expand(1, 4, size, size).clone()
        return HeadOutput(cls, torch.zeros(1, 1, size, size), ltrb)


def test_box_comes_from_the_peak_and_its_ltrb():
    net = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    size = net.score_size
    centre_cell = (size - 1) // 2
    hyper = TrackerHyperParameters(penalty_k=0.0, window_influence=0.0, lr=1.0)
    frame = np.full((240, 320, 3), 90, np.uint8)
    box = np.array([100.0, 80.0, 40.0, 40.0])

    # a peak on the centre cell with l = t = r = b = half the target size (in crop pixels) keeps the box in place
    tracker = VLTTracker(PeakModel(net, (centre_cell, centre_cell), (0, 0, 0, 0)), hyper=hyper)
    tracker.initialize(frame, box)
    window_scale = tracker.search_size / (tracker.search_size / tracker.template_size *
                                          np.sqrt((40 + 40) * (40 + 40)))
    half = 20 * window_scale
    tracker.model.ltrb = (half, half, half, half)
    centre_pixel = tracker.offset + centre_cell * tracker.stride
    expected_shift = (centre_pixel - (tracker.search_size - 1) / 2) / window_scale
    result = tracker.track(frame)
    np.testing.assert_allclose(result, box + [expected_shift, expected_shift, 0, 0], atol=1e-3)

    # one cell to the right moves the box by stride / scale frame pixels
    tracker = VLTTracker(PeakModel(net, (centre_cell, centre_cell + 1), (half,) * 4), hyper=hyper)
    tracker.initialize(frame, box)
    moved = tracker.track(frame)
    np.testing.assert_allclose(moved[0] - result[0], tracker.stride / window_scale, atol=1e-3)
    np.testing.assert_allclose(moved[1:], result[1:], atol=1e-3)


class CenternessPeakModel(PeakModel):
    """PeakModel whose centerness is 0.5 (after the sigmoid) at the peak and lower elsewhere, so that the
    normalised centerness at the peak is not 1 and score = cls × centerness differs from cls."""

    def forward_search(self, x, state):
        output = super().forward_search(x, state)
        centerness = torch.full_like(output.centerness, -4.0)
        centerness[0, 0, self.cell[0], self.cell[1]] = 0.0
        centerness[0, 0, 0, 0] = 4.0  # the normalisation's maximum lies elsewhere
        return HeadOutput(output.cls, centerness, output.ltrb)


@pytest.mark.parametrize("fast", [True, False])
def test_official_update_centre_at_peak_size_rate_from_cls_min_size_10(fast):
    """Issue 13's tracker fidelity: the centre is the peak's pixel (not the centre of its l, t, r, b box), the size
    rate is penalty · cls · lr (not · cls · centerness), sides are at least 10 px; PRE_ISSUE_13 restores the old."""
    import dataclasses

    from vlt_mini.tracking.presets import PRE_ISSUE_13, hyper_parameters

    net = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    centre_cell = (net.score_size - 1) // 2
    frame = np.full((240, 320, 3), 90, np.uint8)
    box = np.array([100.0, 80.0, 40.0, 40.0])
    hyper = TrackerHyperParameters(penalty_k=0.0, window_influence=0.0, lr=0.5)
    old = dataclasses.replace(hyper, min_size=4.0, size_lr_from="score", center_from="box")
    assert hyper_parameters("mini-lasot", PRE_ISSUE_13) == dataclasses.replace(PRESETS["mini-lasot"], min_size=4.0,
                                                                              size_lr_from="score",
                                                                              center_from="box")
    ltrb = (30.0, 10.0, 10.0, 10.0)  # the box reaches further left than right: its centre lies left of the peak
    results = {}
    for name, setting in (("official", hyper), ("old", old)):
        tracker = VLTTracker(CenternessPeakModel(net, (centre_cell, centre_cell), ltrb), hyper=setting, fast=fast)
        tracker.initialize(frame, box)
        window_scale = tracker.search_size / (tracker.search_size / tracker.template_size * 80.0)
        peak_shift = (tracker.offset + centre_cell * tracker.stride - (tracker.search_size - 1) / 2) / window_scale
        x, y, w, h = tracker.track(frame)
        results[name] = (x + w / 2, y + h / 2, w, tracker.last["cls"], tracker.last["centerness"])
        centre = np.array([x + w / 2, y + h / 2])
        if name == "official":
            np.testing.assert_allclose(centre, [120 + peak_shift, 100 + peak_shift], atol=1e-3)
        else:
            np.testing.assert_allclose(centre, [120 + peak_shift - 10 / window_scale, 100 + peak_shift], atol=1e-3)
    new_width = 40 / window_scale  # l + r = 40 crop pixels
    cls_at_peak = 1 / (1 + np.exp(-10.0))
    for name, weight in (("official", cls_at_peak), ("old", cls_at_peak * results["old"][4][centre_cell, centre_cell])):
        lr = 0.5 * weight
        np.testing.assert_allclose(results[name][2], (1 - lr) * 40 + lr * new_width, rtol=1e-3)
    assert results["official"][2] != pytest.approx(results["old"][2])

    small = VLTTracker(PeakModel(net, (centre_cell, centre_cell), (0.5, 0.5, 0.5, 0.5)),
                       hyper=dataclasses.replace(hyper, lr=1.0), fast=fast)
    small.initialize(frame, box)
    assert small.track(frame)[2:].tolist() == [10.0, 10.0]
    with pytest.raises(ValueError, match="center_from"):
        hyper_parameters("lasot", ["tracker.center_from=middle"])


def test_size_update_is_smoothed_and_box_clamped_to_the_frame():
    net = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    size = net.score_size
    frame = np.full((120, 160, 3), 90, np.uint8)
    tracker = VLTTracker(PeakModel(net, (size - 1, size - 1), (200.0, 200.0, 200.0, 200.0)),
                         hyper=TrackerHyperParameters(penalty_k=0.0, window_influence=0.0, lr=0.5))
    tracker.initialize(frame, np.array([60.0, 40.0, 20.0, 20.0]))
    x, y, w, h = tracker.track(frame)
    assert 20 < w <= 160 and 20 < h <= 120, "size moves toward the prediction but stays inside the frame"
    assert 0 <= x + w / 2 <= 160 and 0 <= y + h / 2 <= 120


def test_language_reaches_the_template_token():
    class FakeEncoder:
        dim = 384

        def encode(self, sentences):
            value = float(len(sentences[0]))
            return torch.full((1, 384), value), torch.tensor([True])

    net = VLTNet(profile="tiny")
    frame = (np.random.default_rng(0).random((120, 160, 3)) * 255).astype(np.uint8)
    tracker = VLTTracker(net, FakeEncoder())
    tracker.initialize(frame, [50, 40, 30, 30], "red ball")
    first = tracker.state.token.clone()
    tracker.initialize(frame, [50, 40, 30, 30], "a much longer sentence")
    assert not torch.equal(first, tracker.state.token)
    muted = VLTTracker(net, FakeEncoder(), use_language=False)
    muted.initialize(frame, [50, 40, 30, 30], "red ball")
    assert torch.equal(muted.state.token, torch.zeros(1, 384))


def test_presets_cover_the_papers_datasets():
    assert PRESETS["lasot"] == TrackerHyperParameters(0.04, 0.3, 0.33)
    assert PRESETS["otb"].penalty_k == 0.2 and PRESETS["got10k"].lr == 0.7


def test_checkpoint_round_trip_and_wrong_architecture(tmp_path):
    net = VLTNet(profile="tiny")
    atomic_torch_save(model_checkpoint(net, text_model="minilm"), tmp_path / "model.pt")
    loaded, data = load_vlt_checkpoint(tmp_path / "model.pt")
    for key, value in net.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    assert data["text_model"] == "minilm"
    wrong = model_checkpoint(net)
    wrong["config"]["head"]["width"] = 64
    atomic_torch_save(wrong, tmp_path / "wrong.pt")
    with pytest.raises(ValueError, match="do not fit the architecture"):
        load_vlt_checkpoint(tmp_path / "wrong.pt")
    atomic_torch_save({"weights": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a vlt-mini model checkpoint"):
        load_vlt_checkpoint(tmp_path / "other.pt")


def _frames(folder, count=4):
    import cv2

    (folder / "img").mkdir(parents=True)
    for index in range(count):
        image = np.full((96, 128, 3), 60, np.uint8)
        image[30:50, 40 + 2 * index:60 + 2 * index] = (40, 40, 220)
        cv2.imwrite(str(folder / "img" / f"{index + 1:04d}.jpg"), image)


def test_track_command_writes_boxes_and_video(tmp_path, capsys):
    _frames(tmp_path / "video")
    net = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))
    atomic_torch_save(model_checkpoint(net), tmp_path / "model.pt")
    code = main(["track", "--video", str(tmp_path / "video"), "--box", "40,30,20,20", "--text", "a red block",
                 "--checkpoint", str(tmp_path / "model.pt"), "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 0
    boxes = np.loadtxt(tmp_path / "out" / "boxes.txt", delimiter=",")
    assert boxes.shape == (4, 4) and np.allclose(boxes[0], [40, 30, 20, 20])
    assert (tmp_path / "out" / "annotated.gif").stat().st_size > 0


@pytest.mark.parametrize("box, checkpoint, message", [
    ("40,30,0,20", "model.pt", "zero or negative size"),
    ("400,30,20,20", "model.pt", "outside"),
    ("40,30,20", "model.pt", "four numbers"),
    ("40,30,20,20", "missing.pt", "checkpoint not found"),
])
def test_track_command_rejects_bad_input_and_writes_nothing(tmp_path, capsys, box, checkpoint, message):
    _frames(tmp_path / "video")
    atomic_torch_save(model_checkpoint(VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))), tmp_path / "model.pt")
    code = main(["track", "--video", str(tmp_path / "video"), "--box", box, "--checkpoint", str(tmp_path / checkpoint),
                 "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_track_command_unreadable_frame(tmp_path, capsys):
    _frames(tmp_path / "video")
    (tmp_path / "video" / "img" / "0003.jpg").write_bytes(b"not a jpeg")
    atomic_torch_save(model_checkpoint(VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False))), tmp_path / "model.pt")
    code = main(["track", "--video", str(tmp_path / "video"), "--box", "40,30,20,20", "--checkpoint",
                 str(tmp_path / "model.pt"), "--out", str(tmp_path / "out"), "--no-progress"])
    assert code == 2 and "cannot read frame" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
