"""The interactive tracking explorer of notebook 07: edit the sentence, switch ModaMixer / language off, turn the
tracker's knobs, and see the response map, the box and the sequence's SUC change.

``track_with_maps`` tracks one sequence and keeps, per frame, the search crop and the windowed response map the
tracker chose its peak from (``VLTTracker.last``); ``explorer_figure`` draws one frame of such a run. ``TrackingExplorer``
wires both to ipywidgets: any change of video, network, language mode, sentence or knob tracks the video again (one
pass, a second or two at the ``cpu`` profile); moving the frame slider only redraws.

    explorer = TrackingExplorer(test_sequences, {"VLT-mini": vlt_model, "SiamCAR": siamcar_model}, text_encoder)
    explorer.show()
"""
from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Mapping, Sequence as SequenceType

import numpy as np

from vlt_mini.tracking.tracker import PRESETS, TrackerHyperParameters, VLTTracker

LANGUAGE_MODES = ("sentence", "no sentence")  # "no sentence": the network's 0-tensor / template token
KNOBS = {  # name -> (min, max, step): the sliders' ranges around SiamCAR's published values (docs/official_code.md)
    "penalty_k": (0.0, 0.5, 0.01),
    "window_influence": (0.0, 1.0, 0.01),
    "lr": (0.0, 1.0, 0.01),
}


@dataclass
class ExplorerRun:
    """One tracked sequence with what the tracker saw: boxes, per-frame IoU, search crops and response maps."""

    boxes: np.ndarray                 # (N, 4) x, y, w, h; row 0 is the initial box
    ious: np.ndarray                  # (N,) IoU with the ground truth (0 where the target is absent)
    crops: list[np.ndarray | None]    # (S, S, 3) RGB uint8 search crop per frame; None on frame 0
    responses: list[np.ndarray | None]  # the windowed response (crop pixels) per frame; None on frame 0
    offset: float                     # crop pixel of response cell (0, 0)
    suc: float                        # the sequence's SUC, percent (OPE, as ``vlt-mini evaluate``)
    sentence: str | None              # what the tracker was given


def track_with_maps(tracker: VLTTracker, sequence, sentence: str | None = None) -> ExplorerRun:
    """Track ``sequence`` from its first box with ``sentence`` (None: no sentence), keeping the maps of every frame."""
    from vlt_mini.evaluation.ope import evaluate_sequence, overlap_ratio
    from vlt_mini.experiments.insight import _rgb

    if not sequence.has_frames:
        raise FileNotFoundError(f"sequence {sequence.name} has no frames to explore")
    boxes = np.zeros((len(sequence), 4))
    crops: list[np.ndarray | None] = [None]
    responses: list[np.ndarray | None] = [None]
    for index, frame in enumerate(sequence.frames()):
        if index == 0:
            tracker.initialize(frame, sequence.init_box, sentence)
            boxes[0] = sequence.init_box
            continue
        boxes[index] = tracker.track(frame)
        crops.append(_rgb(tracker.last["search_crop"]))
        responses.append(tracker.last["windowed"].astype(np.float32))
    ious = np.where(sequence.visible, overlap_ratio(boxes, sequence.ground_truth), 0.0)
    suc = evaluate_sequence(boxes, sequence.ground_truth, sequence.visible).suc
    return ExplorerRun(boxes, ious, crops, responses, float(tracker.offset), suc, sentence)


def explorer_figure(sequence, run: ExplorerRun, frame_index: int, title: str = "", sentence_ignored: bool = False):
    """Frame ``frame_index`` (0-based; titled 1-based) with the ground truth (green) and the tracker's box (red); the
    search crop with the response map the peak was taken from; the IoU over the video with SUC. ``sentence_ignored``:
    the network has no ModaMixer, so the title says so instead of quoting a sentence that changes nothing."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if not 0 <= frame_index < len(run.boxes):
        raise ValueError(f"frame {frame_index} is outside 0..{len(run.boxes) - 1} of {sequence.name}")
    figure, (ax_frame, ax_response, ax_iou) = plt.subplots(1, 3, figsize=(13, 4.2),
                                                          gridspec_kw={"width_ratios": [1.4, 1, 1.3]})
    ax_frame.imshow(sequence.frame(frame_index)[..., ::-1])
    for box, colour, style, label in ((sequence.ground_truth[frame_index], "lime", "-", "ground truth"),
                                      (run.boxes[frame_index], "red", "--", "tracker")):
        ax_frame.add_patch(Rectangle(box[:2], box[2], box[3], fill=False, edgecolor=colour, linestyle=style,
                                     linewidth=2, label=label))
    ax_frame.legend(loc="lower right", fontsize=8)
    ax_frame.set_title(f"{sequence.name}, frame {frame_index + 1}/{len(run.boxes)}", fontsize=10)
    ax_frame.axis("off")

    crop, response = run.crops[frame_index], run.responses[frame_index]
    if crop is None:
        ax_response.text(0.5, 0.5, "frame 1: initialisation\n(no response map)", ha="center", va="center")
    else:
        side = response.shape[0]
        extent = (run.offset - 0.5, run.offset + side - 0.5, run.offset + side - 0.5, run.offset - 0.5)
        ax_response.imshow(crop)
        ax_response.imshow(response, cmap="jet", alpha=0.45, extent=extent)
        row, col = np.unravel_index(int(np.argmax(response)), response.shape)
        ax_response.plot(run.offset + col, run.offset + row, "w+", markersize=12, markeredgewidth=2)
        ax_response.set_xlim(-0.5, crop.shape[1] - 0.5)
        ax_response.set_ylim(crop.shape[0] - 0.5, -0.5)
    ax_response.set_title("search crop and windowed response (+ = peak)", fontsize=10)
    ax_response.axis("off")

    ax_iou.plot(np.arange(1, len(run.ious) + 1), run.ious, color="tab:red")
    ax_iou.axvline(frame_index + 1, color="grey", linestyle=":")
    ax_iou.set(xlabel="frame", ylabel="IoU with ground truth", ylim=(0, 1))
    ax_iou.set_title(f"SUC {run.suc:.1f}", fontsize=10)
    if sentence_ignored:
        sentence = "no ModaMixer: the network ignores any sentence"
    else:
        sentence = f"“{run.sentence}”" if run.sentence else "no sentence (the 0-tensor / template token)"
    figure.suptitle(f"{title}  ·  {sentence}" if title else sentence, fontsize=10)
    figure.tight_layout()
    return figure


class TrackingExplorer:
    """ipywidgets over ``track_with_maps``: video and frame, the network (with or without ModaMixer), the language
    mode, the sentence, and SiamCAR's ``penalty_k`` / ``window_influence`` / ``lr``. ``show()`` displays it."""

    def __init__(self, sequences: SequenceType, models: Mapping[str, object], text_encoder=None,
                 preset: str | TrackerHyperParameters = "mini-lasot", device: str = "cpu") -> None:
        import ipywidgets as widgets

        self.sequences = {sequence.name: sequence for sequence in sequences if sequence.has_frames}
        if not self.sequences:
            raise ValueError("the explorer needs at least one sequence with frames")
        if not models:
            raise ValueError("the explorer needs at least one network (name -> VLTNet)")
        self.models, self.text_encoder, self.device = dict(models), text_encoder, device
        self.defaults = PRESETS[preset] if isinstance(preset, str) else preset
        self.run: ExplorerRun | None = None
        self.default_suc: dict[tuple, float] = {}  # (video, network, mode) -> SUC with the default knobs and sentence
        self.tracked = 0                            # how many times a video has been tracked (tests, curiosity)
        self._updating = False                      # True while controls are set together: no re-tracking then
        self._summary = ""                          # the status line's first row (the run); the second is the frame

        first = next(iter(self.sequences.values()))
        self.video = widgets.Dropdown(options=list(self.sequences), value=first.name, description="video")
        # buttons as wide as their longest label (ToggleButtons cut labels at a fixed width otherwise)
        self.network = widgets.ToggleButtons(options=list(self.models), description="network",
                                             style={"button_width": _button_width(self.models)})
        self.language = widgets.ToggleButtons(options=LANGUAGE_MODES, description="language",
                                              style={"button_width": _button_width(LANGUAGE_MODES)})
        # a one-line Text: Enter (or leaving the box) sends the sentence and re-tracks; a Textarea takes Enter as a
        # newline
        self.sentence = widgets.Text(value=first.sentence or "", description="sentence", continuous_update=False,
                                     placeholder="type a sentence and press Enter",
                                     layout=widgets.Layout(width="95%"))
        # 1-based, as the figure's title ("frame 15/28"); ``frame_index`` is the 0-based index
        self.frame = widgets.IntSlider(value=len(first) // 2 + 1, min=1, max=len(first), description="frame",
                                       continuous_update=False)
        self.knobs = {name: widgets.FloatSlider(value=getattr(self.defaults, name), min=low, max=high, step=step,
                                                description=name, continuous_update=False,
                                                style={"description_width": "initial"})
                      for name, (low, high, step) in KNOBS.items()}
        self.reset = widgets.Button(description="default knobs and sentence",
                                    layout=widgets.Layout(width="auto", min_width="max-content"))
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png")  # a PNG, so the figure updates in place (no flicker, no kernel)

        self.video.observe(self._on_video, names="value")
        for control in (self.network, self.language, self.sentence, *self.knobs.values()):
            control.observe(lambda change: self.recompute(), names="value")
        self.frame.observe(lambda change: self.redraw(), names="value")
        self.reset.on_click(lambda button: self.restore_defaults())
        self.widget = widgets.VBox([
            widgets.HBox([self.video, self.frame]), self.network, self.language, self.sentence,
            widgets.HBox(list(self.knobs.values())), widgets.HBox([self.reset, self.status]), self.image])
        self.recompute()

    # ------------------------------------------------------------------ state
    @property
    def current_sequence(self):
        return self.sequences[self.video.value]

    @property
    def frame_index(self) -> int:
        """The 0-based frame the slider (1-based, as the figure's title) points at."""
        return self.frame.value - 1

    @property
    def uses_sentence(self) -> bool:
        """Whether the current network and language mode read the sentence at all."""
        return self.language.value == "sentence" and self._has_mixer()

    def _has_mixer(self) -> bool:
        return bool(getattr(self.models[self.network.value].config, "use_modamixer", False))

    def hyper_parameters(self) -> TrackerHyperParameters:
        return dataclasses.replace(self.defaults, **{name: float(slider.value) for name, slider in self.knobs.items()})

    def _track(self, hyper: TrackerHyperParameters, sentence: str | None) -> ExplorerRun:
        model = self.models[self.network.value]
        use_language = self.language.value == "sentence"
        tracker = VLTTracker(model, self.text_encoder, hyper, use_language, self.device)
        self.tracked += 1
        return track_with_maps(tracker, self.current_sequence, sentence if use_language else None)

    def recompute(self) -> None:
        """Track the current video with the current settings and redraw."""
        if self._updating:
            return
        sequence = self.current_sequence
        self.run = self._track(self.hyper_parameters(), self.sentence.value.strip() or None)
        key = (sequence.name, self.network.value, self.language.value)
        if key not in self.default_suc:
            default = self.run if self._at_defaults() else self._track(self.defaults, sequence.sentence)
            self.default_suc[key] = default.suc
        self.sentence.disabled = not self.uses_sentence
        if not self._has_mixer():
            reference, note = "default knobs", "; this network has no ModaMixer: the sentence is ignored"
        elif self.language.value != "sentence":
            reference, note = "default knobs, no sentence", "; no sentence: the network's 0-tensor / template token"
        else:
            reference, note = "default knobs and the video's own sentence", ""
        knobs = ", ".join(f"{name} {slider.value:.2f}" for name, slider in self.knobs.items())
        if self.uses_sentence and self.run.sentence:
            text = self.run.sentence if len(self.run.sentence) <= 60 else self.run.sentence[:57] + "..."
            knobs = f"“{html.escape(text)}”, {knobs}"
        self._summary = (f"<b>SUC {self.run.suc:.1f}</b> on {sequence.name} with {knobs} "
                         f"({reference}: {self.default_suc[key]:.1f}){note}")
        self.redraw()

    def _at_defaults(self) -> bool:
        return (self.hyper_parameters() == self.defaults
                and (self.sentence.value.strip() or None) == (self.current_sequence.sentence or None))

    def redraw(self) -> None:
        import matplotlib.pyplot as plt

        from vlt_mini.evaluation.plots import figure_png

        if self._updating or self.run is None:
            return
        index = self.frame_index
        self.status.value = (f"{self._summary}<br>frame {index + 1}/{len(self.run.boxes)}: IoU "
                             f"{self.run.ious[index]:.2f}")
        figure = explorer_figure(self.current_sequence, self.run, index,
                                 f"{self.network.value}, language: {self.language.value}",
                                 sentence_ignored=not self._has_mixer())
        self.image.value = figure_png(figure, dpi=80)
        plt.close(figure)

    def _set_quietly(self, pairs) -> None:
        self._updating = True
        try:
            for control, value in pairs:
                control.value = value
        finally:
            self._updating = False

    def _on_video(self, change) -> None:
        sequence = self.current_sequence
        self._set_quietly([(self.sentence, sequence.sentence or ""), (self.frame, 1)])
        self.frame.max = len(sequence)
        self._set_quietly([(self.frame, len(sequence) // 2 + 1)])
        self.recompute()

    def restore_defaults(self) -> None:
        self._set_quietly([(self.sentence, self.current_sequence.sentence or ""),
                           *((slider, getattr(self.defaults, name)) for name, slider in self.knobs.items())])
        self.recompute()

    def show(self):
        from IPython.display import HTML, display

        display(self.widget)
        # Saved with the notebook, this line stays readable where the widget cannot be drawn again (a restarted
        # kernel shows "Error displaying widget: model not found", a static page nothing)
        display(HTML(RERUN_HINT))
        return self


RERUN_HINT = ('<p style="color:#666;font-size:smaller">The explorer is live only while its kernel runs: after a '
              "kernel restart (or on a static page) the controls above show an error or nothing; run this cell "
              "again to bring them back.</p>")


def _button_width(labels) -> str:
    """A ToggleButtons width that fits the longest label (about 7.5 px a character at JupyterLab's font size)."""
    return f"{round(7.5 * max(len(label) for label in labels)) + 28}px"
