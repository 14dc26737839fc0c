"""Looking inside a trained VLT network: channel selection (paper Fig. 4), Grad-CAM of the response (paper Fig. 7)
and per-attribute SUC of the baseline against VLT-mini (paper Fig. 8).

- **Channel selection** (Fig. 4). In Eq. 1 ``Linear(f_l)`` is a C-vector that multiplies every position of the vision
  feature ``f_v``: a sentence selects channels. ``channel_selection`` returns, per stage and branch, these selection
  scores (``ModaMixer.channel_selector``) with the channels of the highest ("selected") and lowest ("suppressed")
  scores; ``mixer_activations`` records each stage's ModaMixer input ``f_v`` (the penultimate block's output: "before")
  and output ``f_m`` ("after"), plus the pure-vision residual (the stage's last block on ``f_v``), with forward hooks
  on the network's own ``backbone_features``; ``channel_selection_figure`` draws them side by side.
- **Grad-CAM** (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
  ICCV 2017). The score is the target log-odds ``cls[1] - cls[0]`` (the pre-softmax score of the 2-way softmax) at the
  peak cell of the classification map; with ``A`` a search-branch stage output (B, C, h, w), the map is
  ``ReLU(sum_c mean_hw(dscore/dA_c) · A_c)``, upsampled bilinearly to the search crop. ``sentence_variants`` turns a
  mini-LaSOT sentence into Fig. 7's variants (no sentence, category, category + colour, environment, full sentence).
- **Attribute SUC** (Fig. 8). ``evaluation.plots.attribute_figure`` draws every tracker's per-attribute SUC as a
  radar chart; ``attribute_comparison_figure`` here puts two trackers side by side as bars with the gain per attribute.

Stages are numbered 1–4 as in the paper (stages 2–4 feed the head). Crops are BGR 0–255, as the network takes
them.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import nn

from vlt_mini.data.mini_lasot_render import CATEGORIES, COLOURS
from vlt_mini.data.sequence import LASOT_ATTRIBUTES
from vlt_mini.models.candidate import Candidate
from vlt_mini.models.supernet import STAGE_LAYER_RANGES
from vlt_mini.models.vlt import VLTNet

BRANCHES = ("template", "search")
STAGES = tuple(range(1, len(STAGE_LAYER_RANGES) + 1))


@contextlib.contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode for the duration (BatchNorm must use running statistics and must not update them), then restored."""
    flags = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for module, training in flags:
            module.train(training)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _token(model: VLTNet, f_l: torch.Tensor | None) -> torch.Tensor:
    """The (1, d) token the mixers get: the sentence embedding, or the 0-tensor for None."""
    if not model.config.use_modamixer:
        raise ValueError("this network has no ModaMixer (use_modamixer=False): it selects no channels")
    dim = model.config.language_dim
    if f_l is None:
        return torch.zeros(1, dim, device=_device(model))
    f_l = torch.as_tensor(f_l, dtype=torch.float32, device=_device(model))
    f_l = f_l[None] if f_l.dim() == 1 else f_l
    if f_l.shape != (1, dim):
        raise ValueError(f"f_l must be one sentence embedding of shape ({dim},) or (1, {dim}), got {tuple(f_l.shape)}")
    return f_l


def _mixers(model: VLTNet, branch: str) -> nn.ModuleList:
    if branch not in BRANCHES:
        raise ValueError(f"branch must be one of {BRANCHES}, got {branch!r}")
    return model.mixers_for(branch)


def _check_stage(stage: int) -> int:
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} (the paper's numbering), got {stage!r}")
    return stage


# ------------------------------------------------------------------------------------- channel selection (Fig. 4)
@dataclass
class ChannelSelection:
    """One stage of one branch: ``scores`` (C,) = Linear(f_l) of Eq. 1; ``top`` / ``bottom`` the channel indices of
    the k highest (descending) and k lowest (ascending) scores."""

    branch: str
    stage: int
    scores: np.ndarray
    top: np.ndarray
    bottom: np.ndarray


@torch.no_grad()
def channel_selection(model: VLTNet, f_l: torch.Tensor | None, k: int = 5,
                      branches: Sequence[str] = BRANCHES) -> list[ChannelSelection]:
    """Selection scores of a sentence embedding ``f_l`` ((d,) or (1, d); None = the 0-tensor) at every stage and
    branch, with the top-k and bottom-k channels (a stable sort: ties keep the lower channel index first)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    token = _token(model, f_l)
    selections = []
    with evaluating(model):
        for branch in branches:
            for stage, mixer in zip(STAGES, _mixers(model, branch)):
                scores = mixer.channel_selector(token)[0, :, 0, 0].float().cpu().numpy()  # (C,)
                order = np.argsort(-scores, kind="stable")
                count = min(k, len(scores))
                selections.append(ChannelSelection(branch, stage, scores, order[:count],
                                                   np.argsort(scores, kind="stable")[:count]))
    return selections


@torch.no_grad()
def mixer_activations(model: VLTNet, image: torch.Tensor, f_l: torch.Tensor | None, branch: str = "search",
                      candidate: Candidate | None = None) -> list[dict]:
    """Feature maps around every ModaMixer of ``branch`` for one crop ``image`` (1, 3, S, S) (BGR 0–255) and the token
    ``f_l`` (a sentence embedding; None = the 0-tensor).

    Returns per stage ``{"stage", "before" (C, H, W) = f_v, "residual" (C, H, W) = the last block on f_v (None
    without the residual), "after" (C, H, W) = f_m, the stage output}``, recorded with hooks on the mixers while the
    network's own ``backbone_features`` runs.
    """
    candidate = candidate or model.candidate
    token = _token(model, f_l)
    image = image.to(_device(model), torch.float32)
    if image.dim() != 4 or image.shape[:2] != (1, 3):
        raise ValueError(f"image must be one crop of shape (1, 3, S, S), got {tuple(image.shape)}")
    mixers = _mixers(model, branch)
    records: list[dict] = []

    def recorder(stage: int):
        def hook(module, inputs, output) -> None:  # inputs = (f_v, token, op, residual), see backbone_features
            residual = inputs[3] if len(inputs) > 3 else None
            records.append({"stage": stage, "before": inputs[0][0].cpu(), "after": output[0].cpu(),
                            "residual": None if residual is None else residual[0].cpu()})
        return hook

    handles = [mixer.register_forward_hook(recorder(stage)) for stage, mixer in zip(STAGES, mixers)]
    path = candidate.template_path if branch == "template" else candidate.search_path
    ops = candidate.template_mixer if branch == "template" else candidate.search_mixer
    try:
        with evaluating(model):
            model.backbone_features(image, path, mixers, ops, token)
    finally:
        for handle in handles:
            handle.remove()
    return records


def _normalised(feature: torch.Tensor | np.ndarray) -> np.ndarray:
    feature = np.asarray(feature, dtype=np.float32)
    spread = float(feature.max() - feature.min())
    return (feature - feature.min()) / spread if spread > 1e-12 else np.zeros_like(feature)


def _rgb(crop: torch.Tensor | np.ndarray) -> np.ndarray:
    """A BGR 0–255 crop, (1, 3, S, S) / (3, S, S) tensor or (S, S, 3) array -> (S, S, 3) RGB uint8 for imshow."""
    if isinstance(crop, torch.Tensor):
        crop = crop.detach().cpu().numpy()
        crop = crop[0] if crop.ndim == 4 else crop
        crop = crop.transpose(1, 2, 0)  # (3, S, S) -> (S, S, 3)
    crop = np.asarray(crop)
    if crop.ndim != 3 or crop.shape[2] != 3:
        raise ValueError(f"expected a BGR crop (S, S, 3) or (1, 3, S, S), got shape {crop.shape}")
    return np.clip(crop[..., ::-1], 0, 255).astype(np.uint8)


def channel_selection_figure(model: VLTNet, image: torch.Tensor, f_l: torch.Tensor | None, sentence: str = "",
                             branch: str = "search", k: int = 2, stages: Sequence[int] = STAGES,
                             candidate: Candidate | None = None) -> Figure:
    """Fig. 4: per stage (rows), the crop, then the k most selected and k most suppressed channels of ``sentence``,
    each before and after its ModaMixer (every map min–max normalised on its own; the title gives the score)."""
    stages = [_check_stage(s) for s in stages]
    selections = {s.stage: s for s in channel_selection(model, f_l, k, branches=(branch,))}
    activations = {a["stage"]: a for a in mixer_activations(model, image, f_l, branch, candidate)}
    k = len(selections[stages[0]].top)
    columns = 1 + 4 * k
    # about 13 inches wide: a notebook shows it near its own size, so 9-point titles stay about 10 pixels high
    figure = Figure(figsize=(1.5 * columns, 1.9 * len(stages) + 0.8))
    axes = figure.subplots(len(stages), columns, squeeze=False)
    rgb = _rgb(image)
    for row, stage in zip(axes, stages):
        selection, activation = selections[stage], activations[stage]
        row[0].imshow(rgb)
        row[0].set_title(f"stage {stage}\n{activation['before'].shape[-1]}×{activation['before'].shape[-2]} map",
                         fontsize=9)
        panels = [("selected", c) for c in selection.top] + [("suppressed", c) for c in selection.bottom]
        for index, (kind, channel) in enumerate(panels):
            for offset, when in enumerate(("before", "after")):
                ax = row[1 + 2 * index + offset]
                ax.imshow(_normalised(activation[when][channel]), cmap="jet" if kind == "selected" else "viridis")
                ax.set_title(f"{kind} ch {channel}\n{selection.scores[channel]:+.2f} · {when}", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    figure.suptitle(f"Channel selection by ModaMixer ({branch} branch): {sentence or 'no sentence (0-tensor)'!r}",
                    fontsize=11)
    figure.tight_layout()
    return figure


# ------------------------------------------------------------------------------------------ Grad-CAM (Fig. 7)
def _stage_output_module(model: VLTNet, stage: int, candidate: Candidate) -> nn.Module:
    """The module whose output is search-branch stage ``stage``: its ModaMixer, or (baseline) its last block."""
    if model.config.use_modamixer:
        return model.mixers_for("search")[stage - 1]
    last_layer = STAGE_LAYER_RANGES[stage - 1][1] - 1
    return model.backbone.features[last_layer][candidate.search_path[last_layer]]


def response_gradcam(model: VLTNet, z: torch.Tensor, x: torch.Tensor, f_l: torch.Tensor | None = None,
                     has_sentence: torch.Tensor | None = None, z_box: torch.Tensor | None = None, stage: int = 4,
                     cell: tuple[int, int] | None = None, candidate: Candidate | None = None) -> np.ndarray:
    """Grad-CAM of the response for template ``z`` (1, 3, T, T), search ``x`` (1, 3, S, S) and sentence ``f_l`` (1, d)
    (None or ``has_sentence`` False: the network's no-sentence token) -> (S, S) non-negative map in search-crop pixels.
    ``z_box`` (1, 4): the target box in the template crop, for the "template" token (default: ``default_template_box``).

    The score is the target log-odds at ``cell`` (row, col of the score map; default its peak); the map is taken on
    the output of search-branch stage ``stage`` (1–4; 4 = the deepest level the head reads).
    """
    _check_stage(stage)
    candidate = candidate or model.candidate
    device = _device(model)
    z, x = z.to(device, torch.float32), x.to(device, torch.float32)
    if z.shape[0] != 1 or x.shape[0] != 1:
        raise ValueError(f"Grad-CAM takes one template and one search crop, got batches {z.shape[0]} and {x.shape[0]}")
    if f_l is not None:
        f_l = _token(model, f_l) if model.config.use_modamixer else None
    if f_l is not None and has_sentence is None:
        has_sentence = torch.ones(1, dtype=torch.bool, device=device)
    if model.config.no_sentence_mode == "template" and z_box is None:
        z_box = model.default_template_box(1, device)
    captured: list[torch.Tensor] = []

    def capture(module, inputs, output):  # a leaf in place of the stage output: gradients reach it even when frozen
        leaf = output.detach().requires_grad_(True)
        captured.append(leaf)
        return leaf

    with evaluating(model), torch.enable_grad():
        with torch.no_grad():
            state = model.encode_template(z, f_l, has_sentence, z_box, candidate)
        handle = _stage_output_module(model, stage, candidate).register_forward_hook(capture)
        try:
            output = model.forward_search(x, state, candidate)
        finally:
            handle.remove()
        log_odds = output.cls[0, 1] - output.cls[0, 0]  # (H, W)
        if cell is None:
            cell = divmod(int(torch.argmax(log_odds)), log_odds.shape[1])
        (gradient,) = torch.autograd.grad(log_odds[cell], captured[0])
    activation = captured[0].detach()  # (1, C, h, w)
    weights = gradient.mean(dim=(2, 3), keepdim=True)  # (1, C, 1, 1): spatially averaged gradients
    cam = F.relu((weights * activation).sum(dim=1, keepdim=True))  # (1, 1, h, w)
    cam = F.interpolate(cam, size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False)
    return cam[0, 0].cpu().numpy()


def sentence_variants(sentence: str) -> dict[str, str | None]:
    """Fig. 7's sentence variants of a mini-LaSOT sentence ("[size] colour [pattern] category [motion] [place]
    [among other ...]"): no sentence (None), category, category + colour, environment (the words after the category;
    left out when there are none) and the full sentence."""
    words = sentence.split()
    category_at = next((i for i, word in enumerate(words) if word in CATEGORIES), None)
    if category_at is None:
        raise ValueError(f"sentence {sentence!r} names none of the mini-LaSOT categories {CATEGORIES}")
    colour = next((word for word in words[:category_at] if word in COLOURS), None)
    category = words[category_at]
    variants: dict[str, str | None] = {"no sentence": None, "category": category}
    if colour is not None:
        variants["category + colour"] = f"{colour} {category}"
    if category_at + 1 < len(words):
        variants["environment"] = " ".join(words[category_at + 1:])
    variants["full sentence"] = " ".join(words)
    return variants


def sentence_gradcams(model: VLTNet, text_encoder, z: torch.Tensor, x: torch.Tensor,
                      sentences: Mapping[str, str | None], z_box: torch.Tensor | None = None, stage: int = 4,
                      candidate: Candidate | None = None) -> dict[str, np.ndarray]:
    """``response_gradcam`` for every labelled sentence (None or "" = no sentence), encoded by ``text_encoder``."""
    maps = {}
    for label, sentence in sentences.items():
        f_l, has_sentence = text_encoder.encode([sentence or ""])
        maps[label] = response_gradcam(model, z, x, f_l, has_sentence, z_box, stage, candidate=candidate)
    return maps


def gradcam_figure(crop: torch.Tensor | np.ndarray, heatmaps: Mapping[str, np.ndarray], title: str = "",
                   alpha: float = 0.5, shared_scale: bool = False) -> Figure:
    """The search crop, then one Grad-CAM overlay per label (each map scaled to its own maximum, or all to the
    largest with ``shared_scale``: then the panels also compare the strength of the response)."""
    rgb = _rgb(crop)
    top = max((float(np.max(h)) for h in heatmaps.values()), default=0.0)
    figure = Figure(figsize=(2.3 * (1 + len(heatmaps)), 2.7))
    axes = figure.subplots(1, 1 + len(heatmaps), squeeze=False)[0]
    axes[0].imshow(rgb)
    axes[0].set_title("search crop", fontsize=8)
    for ax, (label, heatmap) in zip(axes[1:], heatmaps.items()):
        heatmap = np.asarray(heatmap, dtype=np.float32)
        if heatmap.shape != rgb.shape[:2]:
            raise ValueError(f"heat map {label!r} is {heatmap.shape}, the crop {rgb.shape[:2]}")
        scale = top if shared_scale else float(heatmap.max())
        ax.imshow(rgb)
        ax.imshow(heatmap / scale if scale > 0 else heatmap, cmap="jet", alpha=alpha, vmin=0.0, vmax=1.0)
        ax.set_title(label, fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return figure


# ------------------------------------------------------------------------------------- attribute SUC (Fig. 8)
def attribute_comparison_figure(scores: dict, baseline: str, model: str) -> Figure:
    """Per-attribute SUC of two trackers of ``report.evaluate_trackers``'s ``scores`` as paired bars, with the gain
    of ``model`` over ``baseline`` written next to each attribute (and the overall SUC as the first pair)."""
    trackers = scores["trackers"]
    for name in (baseline, model):
        if name not in trackers:
            raise ValueError(f"no tracker {name!r} in the scores; there are {sorted(trackers)}")
    attributes = [a for a in LASOT_ATTRIBUTES if a in trackers[baseline]["per_attribute"]
                  and a in trackers[model]["per_attribute"]]
    labels = ["overall"] + attributes
    values = {name: [trackers[name]["suc"]] + [trackers[name]["per_attribute"][a] for a in attributes]
              for name in (baseline, model)}
    positions = np.arange(len(labels))
    figure = Figure(figsize=(7, 0.35 * len(labels) + 1.5))
    ax = figure.add_subplot()
    ax.barh(positions - 0.2, values[baseline], height=0.4, color="#7f7f7f", label=baseline)
    ax.barh(positions + 0.2, values[model], height=0.4, color="#d62728", label=model)
    for y, (b, m) in enumerate(zip(values[baseline], values[model])):
        ax.text(max(b, m) + 0.5, y, f"{m - b:+.1f}", va="center", fontsize=7)
    ax.set_yticks(positions)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, max(10.0, max(max(v) for v in values.values()) + 8))
    ax.set_xlabel("SUC (%)")
    ax.set_title(f"SUC per attribute on {scores.get('title', '')}: {model} vs {baseline}", fontsize=9)
    ax.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    return figure
