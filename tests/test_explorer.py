"""The interactive explorer of notebook 07: tracking with maps, and the widgets driven as a user would."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from vlt_mini.data import open_dataset
from vlt_mini.evaluation.ope import evaluate_sequence
from vlt_mini.experiments.explorer import TrackingExplorer, explorer_figure, track_with_maps
from vlt_mini.models import VLTConfig, VLTNet
from vlt_mini.tracking.runner import track_sequence
from vlt_mini.tracking.tracker import PRESETS, TrackerHyperParameters, VLTTracker

LANGUAGE_DIM = 16


class HashEncoder:
    """A stand-in text encoder: a fixed random embedding per sentence (BERT is tested in test_language)."""

    dim = LANGUAGE_DIM

    def __init__(self):
        self.seen = []

    def encode(self, sentences):
        self.seen += list(sentences)
        seed = sum(map(ord, sentences[0])) % 10_000
        vector = torch.randn(1, LANGUAGE_DIM, generator=torch.Generator().manual_seed(seed)) * 3
        return vector, torch.ones(1, dtype=torch.bool)


@pytest.fixture(scope="module")
def sequences(tiny_mini_lasot):
    return list(open_dataset("mini-lasot", tiny_mini_lasot, "test"))[:2]


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    vlt = VLTNet(VLTConfig.for_profile("tiny", language_dim=LANGUAGE_DIM)).eval()
    siamcar = VLTNet(VLTConfig.for_profile("tiny", use_modamixer=False)).eval()
    return {"VLT-mini": vlt, "SiamCAR": siamcar}


def test_track_with_maps_is_the_runners_tracking(sequences, models):
    sequence = sequences[0]
    run = track_with_maps(VLTTracker(models["VLT-mini"], HashEncoder(), "mini-lasot"), sequence, sequence.sentence)
    reference = track_sequence(VLTTracker(models["VLT-mini"], HashEncoder(), "mini-lasot"), sequence)
    np.testing.assert_allclose(run.boxes, reference.boxes)
    assert run.suc == pytest.approx(evaluate_sequence(reference.boxes, sequence.ground_truth, sequence.visible).suc)
    assert len(run.crops) == len(run.responses) == len(sequence)
    assert run.crops[0] is None and run.responses[0] is None
    side = models["VLT-mini"].config.search_size
    assert run.crops[1].shape == (side, side, 3) and run.crops[1].dtype == np.uint8
    assert run.responses[1].ndim == 2 and run.ious.shape == (len(sequence),)
    assert np.all((run.ious >= 0) & (run.ious <= 1)) and run.ious[0] == pytest.approx(1.0)


def test_explorer_figure(sequences, models):
    sequence = sequences[0]
    run = track_with_maps(VLTTracker(models["SiamCAR"], None, "mini-lasot"), sequence, None)
    figure = explorer_figure(sequence, run, 3, "SiamCAR")
    assert len(figure.axes) >= 3 and "SUC" in figure.axes[2].get_title()
    explorer_figure(sequence, run, 0)  # the initial frame has no response map, and says so
    with pytest.raises(ValueError, match="outside"):
        explorer_figure(sequence, run, len(sequence))


def test_explorer_widgets_drive_the_tracker(sequences, models):
    encoder = HashEncoder()
    explorer = TrackingExplorer(sequences, models, encoder)
    first, second = sequences
    assert explorer.run is not None and explorer.sentence.value == first.sentence
    assert explorer.tracked == 1  # the default settings: one pass serves both numbers
    assert explorer.default_suc[(first.name, "VLT-mini", "sentence")] == pytest.approx(explorer.run.suc)
    assert "SUC" in explorer.status.value and bytes(explorer.image.value).startswith(b"\x89PNG")

    assert (explorer.frame.min, explorer.frame.max) == (1, len(first))  # 1-based, as the figure's title
    assert f"frame {explorer.frame.value}/{len(first)}" in _titles(explorer)
    picture = bytes(explorer.image.value)
    explorer.frame.value = 2  # moving through the video only redraws
    assert explorer.tracked == 1 and bytes(explorer.image.value) != picture and explorer.frame_index == 1
    assert not explorer.sentence.disabled and "own sentence" in explorer.status.value

    explorer.sentence.value = "the green ball on the left"  # a new sentence: tracked again with it
    assert explorer.run.sentence == "the green ball on the left" and encoder.seen[-1] == "the green ball on the left"
    assert explorer.tracked == 2

    explorer.language.value = "no sentence"
    assert explorer.run.sentence is None
    assert explorer.sentence.disabled, "a sentence that is not used cannot be edited"
    assert "own sentence" not in explorer.status.value and "no sentence" in explorer.status.value

    explorer.knobs["penalty_k"].value = 0.3
    explorer.knobs["lr"].value = 0.9
    hyper = TrackerHyperParameters(penalty_k=0.3, window_influence=PRESETS["mini-lasot"].window_influence, lr=0.9)
    assert explorer.hyper_parameters() == hyper
    independent = track_with_maps(VLTTracker(models["VLT-mini"], encoder, hyper, use_language=False), first)
    assert explorer.run.suc == pytest.approx(independent.suc)

    explorer.language.value = "sentence"
    explorer.network.value = "SiamCAR"
    assert "no ModaMixer" in explorer.status.value and explorer.sentence.disabled
    assert explorer.sentence.value not in _titles(explorer), "the ignored sentence is not quoted"
    explorer.network.value = "VLT-mini"
    assert not explorer.sentence.disabled and explorer.sentence.value in _titles(explorer)
    explorer.language.value = "no sentence"

    explorer.video.value = second.name  # the sentence box follows the video, the frame slider its length
    assert explorer.sentence.value == second.sentence and explorer.frame.max == len(second)
    assert explorer.run.boxes.shape == (len(second), 4)

    explorer.restore_defaults()
    assert explorer.hyper_parameters() == PRESETS["mini-lasot"]
    assert explorer.sentence.value == second.sentence


def _titles(explorer) -> str:
    """Every title of the figure the explorer draws now (the widget holds only its PNG)."""
    import matplotlib.pyplot as plt

    figure = explorer_figure(explorer.current_sequence, explorer.run, explorer.frame_index,
                             explorer.network.value, sentence_ignored=not explorer._has_mixer())
    titles = " ".join([figure._suptitle.get_text(), *(axis.get_title() for axis in figure.axes)])
    plt.close(figure)
    return titles


def test_explorer_sentence_box_sends_on_enter(sequences, models):
    import ipywidgets as widgets

    explorer = TrackingExplorer(sequences, models, HashEncoder())
    # a one-line Text with continuous_update=False syncs on Enter (a Textarea would take Enter as a newline)
    assert type(explorer.sentence) is widgets.Text and explorer.sentence.continuous_update is False
    labels = [*explorer.network.options, *explorer.language.options]
    width = int(explorer.network.style.button_width.removesuffix("px"))
    assert width >= 7 * max(len(label) for label in labels[:2]), "button labels are not cut"


def test_explorer_bad_input(sequences, models):
    with pytest.raises(ValueError, match="at least one network"):
        TrackingExplorer(sequences, {})
    with pytest.raises(ValueError, match="at least one sequence"):
        TrackingExplorer([], models)
