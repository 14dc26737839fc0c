"""Diagnostics of a trained network on validation frames: one-step box quality and how much it uses the sentence.

- **One step** (``one_step``): for frames of validation videos, the search crop is cut where a tracker would cut it
  if it had been right on the previous frame (around the previous frame's true box, at its true size); the network's
  answer on that crop is decoded as the tracker does (softmax × normalised centerness, the cosine window, the peak,
  the box from its l, t, r, b) and compared with the true box: IoU, the size ratio sqrt(area_pred / area_true) and
  the slope of log(predicted side) on log(true side) (1: the size is learned; 0: a constant). No size smoothing and
  no scale penalty, so the figures are the network's, not the tracker's hyper-parameters'. The same frames give paired
  comparisons of two networks, or of one network under two test-time options (``HeadConfig.test_kernel``).
- **Language use** (``language_use``): the same frames with the video's own sentence, with none (the no-sentence
  token) and with another video's sentence: one-step IoU and the foreground probability at the true centre, each
  paired against "own". ``selector_statistics``: per stage, per channel, |mean| / std of the selector
  ``Linear(f_l)`` across sentences; small values mean the BatchNorm after the projection centres every channel, so a
  sentence flips and scales channels rather than selecting them (issue 13 §3).

Score-map cell j looks at crop pixel ``offset + j · stride`` with the network's own ``score_map_offset`` (the
official tracker's geometry, ``geometry="nominal"``); ``geometry="exact"`` uses the true spacing of resampled cells
(``score_map_stride``) and scales l, t, r, b by the same factor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch

from vlt_mini.data.crops import crop, search_window, template_window, to_tensor

SENTENCE_MODES = ("own", "none", "other")
GEOMETRIES = ("nominal", "exact")


@dataclass
class OneStepResult:
    """Per-frame figures of ``one_step`` (arrays aligned with ``frames``: (video, frame) pairs) and their summary."""

    frames: list[tuple[str, int]]
    iou: np.ndarray
    size_ratio: np.ndarray        # sqrt(predicted area / true area)
    centre_error: np.ndarray      # pixels of the frame, divided by the true box's sqrt(area)
    target_probability: np.ndarray  # foreground probability at the cell nearest the true centre
    predicted_side: np.ndarray    # sqrt(area) of the predicted box, frame pixels
    true_side: np.ndarray
    reference_side: np.ndarray    # the side the search crop was cut for (the previous true side × the jitter)

    def summary(self) -> dict:
        log_true = np.log(self.true_side / self.reference_side)
        log_pred = np.log(self.predicted_side / self.reference_side)
        slope = float(np.polyfit(log_true, log_pred, 1)[0]) if np.ptp(log_true) > 1e-9 else float("nan")
        return {"frames": len(self.frames), "iou": float(self.iou.mean()),
                "size_ratio": float(np.exp(np.log(self.size_ratio).mean())),  # geometric mean
                "size_slope": slope, "centre_error": float(np.median(self.centre_error)),
                "target_probability": float(self.target_probability.mean())}


def validation_frames(sequences, frames_per_video: int = 10, gap: int = 1, seed: int = 0) -> list[tuple[object, int]]:
    """``frames_per_video`` frames of each sequence (evenly spread, from ``gap`` on) whose target is visible in the
    frame and ``gap`` frames before: (sequence, frame index) pairs, the same for every network compared."""
    if frames_per_video < 1 or gap < 1:
        raise ValueError(f"frames_per_video and gap must be >= 1, got {frames_per_video} and {gap}")
    chosen = []
    for sequence in sequences:
        candidates = [t for t in range(gap, len(sequence.ground_truth))
                      if sequence.visible[t] and sequence.visible[t - gap]
                      and min(sequence.ground_truth[t][2:]) > 0 and min(sequence.ground_truth[t - gap][2:]) > 0]
        if not candidates:
            continue
        picks = np.unique(np.linspace(0, len(candidates) - 1, min(frames_per_video, len(candidates))).round())
        chosen += [(sequence, candidates[int(i)]) for i in picks]
    if not chosen:
        raise ValueError("no validation frame with a visible target")
    return chosen


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two (x, y, w, h) boxes."""
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def _sentence_for(sequence, mode: str, sequences) -> str | None:
    if mode == "own":
        return sequence.sentence
    if mode == "none":
        return None
    others = [s for s in sequences if s.name != sequence.name and s.sentence and s.sentence != sequence.sentence]
    if not others:
        raise ValueError("the 'other' sentence mode needs at least two videos with different sentences")
    index = sum(map(ord, sequence.name)) % len(others)  # a fixed, paired choice per video
    return others[index].sentence


@torch.no_grad()
def one_step(model, frames, text_encoder=None, sentence_mode: str = "own", window_influence: float = 0.3,
             geometry: str = "nominal", gap: int = 1, context: float = 0.5,
             scale_jitter: float = 0.0) -> OneStepResult:
    """The network's one-step answer on ``frames`` (``validation_frames``'s output): see the module notes."""
    if sentence_mode not in SENTENCE_MODES:
        raise ValueError(f"sentence_mode must be one of {', '.join(SENTENCE_MODES)}, got {sentence_mode!r}")
    if geometry not in GEOMETRIES:
        raise ValueError(f"geometry must be one of {', '.join(GEOMETRIES)}, got {geometry!r}")
    model = model.eval()
    device = next(model.parameters()).device
    config = model.config
    uses_language = config.use_modamixer
    if uses_language and sentence_mode != "none" and text_encoder is None:
        raise ValueError("a network with ModaMixer needs text_encoder for the 'own' and 'other' sentence modes")
    stride = float(model.score_map_stride(training=False)) if geometry == "exact" else float(config.head.stride)
    scale_ltrb = stride / config.head.stride
    offset = float(model.score_map_offset(training=False))
    sequences = list({id(s): s for s, _ in frames}.values())
    states: dict[str, object] = {}
    rows = []
    for sequence, t in frames:
        if sequence.name not in states:
            box = np.asarray(sequence.ground_truth[0], dtype=np.float64)
            first = sequence.frame(0)
            window = template_window(box, config.template_size, context)
            z = to_tensor(crop(first, window)).to(device)
            f_l = has_sentence = None
            if uses_language:
                text = _sentence_for(sequence, sentence_mode, sequences) if sentence_mode != "none" else None
                if text:
                    f_l, has_sentence = text_encoder.encode([text])
                else:
                    f_l = torch.zeros(1, config.language_dim)
                    has_sentence = torch.zeros(1, dtype=torch.bool)
                f_l, has_sentence = f_l.to(device), has_sentence.to(device)
            z_box = torch.tensor(window.frame_to_crop(box), dtype=torch.float32, device=device)[None]
            states[sequence.name] = model.encode_template(z, f_l, has_sentence, z_box)
        previous = np.asarray(sequence.ground_truth[t - gap], dtype=np.float64)
        truth = np.asarray(sequence.ground_truth[t], dtype=np.float64)
        frame = sequence.frame(t)
        factor = float(np.exp(scale_jitter * np.random.default_rng([t, sum(map(ord, sequence.name))]).uniform(-1, 1)))
        window = search_window((previous[0] + previous[2] / 2, previous[1] + previous[3] / 2), previous[2:] * factor,
                               config.template_size, config.search_size, context)
        x = to_tensor(crop(frame, window, frame.reshape(-1, 3).mean(axis=0))).to(device)
        output = model.forward_search(x, states[sequence.name])
        cls = torch.softmax(output.cls, dim=1)[0, 1].cpu().numpy()
        centerness = torch.sigmoid(output.centerness)[0, 0].cpu().numpy()
        spread = float(np.ptp(centerness))
        centerness = (centerness - centerness.min()) / spread if spread > 1e-12 else np.ones_like(centerness)
        ltrb = output.ltrb[0].permute(1, 2, 0).cpu().numpy() * scale_ltrb
        size = cls.shape[0]
        # exact: the centre cell stays on the crop centre, neighbours ``stride`` (the true spacing) apart
        centre_offset = (config.search_size - 1) / 2 - (size - 1) / 2 * stride if geometry == "exact" else offset
        hanning = np.outer(np.hanning(size), np.hanning(size))
        score = (cls * centerness) * (1 - window_influence) + hanning * window_influence
        row, col = np.unravel_index(int(np.argmax(score)), score.shape)
        px, py = centre_offset + col * stride, centre_offset + row * stride
        left, top, right, bottom = np.maximum(ltrb[row, col], 0.0)
        predicted = window.crop_to_frame([px - left, py - top, px + right, py + bottom])
        true_crop = window.frame_to_crop(truth)
        true_cx, true_cy = (true_crop[0] + true_crop[2]) / 2, (true_crop[1] + true_crop[3]) / 2
        true_col = int(np.clip(round((true_cx - centre_offset) / stride), 0, size - 1))
        true_row = int(np.clip(round((true_cy - centre_offset) / stride), 0, size - 1))
        true_side = float(np.sqrt(truth[2] * truth[3]))
        predicted_side = float(np.sqrt(max(predicted[2], 1e-6) * max(predicted[3], 1e-6)))
        centre = np.array([predicted[0] + predicted[2] / 2, predicted[1] + predicted[3] / 2])
        true_centre = np.array([truth[0] + truth[2] / 2, truth[1] + truth[3] / 2])
        rows.append(((sequence.name, t), _iou(predicted, truth), predicted_side / true_side,
                     float(np.linalg.norm(centre - true_centre)) / true_side, float(cls[true_row, true_col]),
                     predicted_side, true_side, float(np.sqrt(previous[2] * previous[3])) * factor))
    names, iou, ratio, error, probability, predicted_side, true_side, reference = zip(*rows)
    return OneStepResult(list(names), np.array(iou), np.array(ratio), np.array(error), np.array(probability),
                         np.array(predicted_side), np.array(true_side), np.array(reference))


def paired_difference(a: OneStepResult, b: OneStepResult, key: str = "iou") -> dict:
    """Mean of ``a − b`` over the same frames, with a 95 % bootstrap interval over videos (frames of a video are
    not independent, so videos are resampled)."""
    from vlt_mini.evaluation.statistics import hierarchical_bootstrap

    if a.frames != b.frames:
        raise ValueError("the two results cover different frames; compute both on the same validation_frames")
    values = getattr(a, key) - getattr(b, key)
    videos = sorted({name for name, _ in a.frames})
    per_video = np.array([values[[i for i, (name, _) in enumerate(a.frames) if name == video]].mean()
                          for video in videos])
    result = hierarchical_bootstrap(per_video[None], resamples=2000)
    return {"delta": float(values.mean()), "ci_low": result.ci_low, "ci_high": result.ci_high, "videos": len(videos)}


def language_use(model, frames, text_encoder, **one_step_options) -> dict:
    """One-step figures with the video's own sentence, none, and another video's sentence on the same frames, and
    the paired differences of "none" and "other" against "own" (IoU and target probability)."""
    results = {mode: one_step(model, frames, text_encoder, mode, **one_step_options) for mode in SENTENCE_MODES}
    report = {mode: result.summary() for mode, result in results.items()}
    for mode in ("none", "other"):
        report[f"{mode}_minus_own"] = {key: paired_difference(results[mode], results["own"], key)
                                       for key in ("iou", "target_probability")}
    return report


@torch.no_grad()
def selector_statistics(model, embeddings: torch.Tensor) -> list[dict]:
    """Per stage (and branch, where the mixers are not shared): the channel selectors ``Linear(f_l)`` of the
    sentences ``embeddings`` (N, d), and per channel |mean| / std across sentences, summarised by its median and
    quartiles, with the share of channels whose selector changes sign between sentences."""
    if not model.config.use_modamixer:
        raise ValueError("this network has no ModaMixer (use_modamixer=False): it has no channel selector")
    embeddings = torch.as_tensor(embeddings, dtype=torch.float32)
    if embeddings.dim() != 2 or embeddings.shape[0] < 2:
        raise ValueError(f"need the embeddings of at least two sentences as (N, d), got {tuple(embeddings.shape)}")
    model = model.eval()
    device = next(model.parameters()).device
    branches = ("template",) if model.config.shared_mixers else ("template", "search")
    rows = []
    for branch in branches:
        for stage, mixer in enumerate(model.mixers_for(branch), start=1):
            selectors = mixer.channel_selector(embeddings.to(device))[:, :, 0, 0].cpu().numpy()  # (N, C)
            mean, std = selectors.mean(axis=0), selectors.std(axis=0)
            ratio = np.abs(mean) / np.maximum(std, 1e-12)
            flips = (selectors.min(axis=0) < 0) & (selectors.max(axis=0) > 0)
            rows.append({"branch": "shared" if model.config.shared_mixers else branch, "stage": stage,
                         "channels": selectors.shape[1], "mean_over_std_median": float(np.median(ratio)),
                         "mean_over_std_q25": float(np.quantile(ratio, 0.25)),
                         "mean_over_std_q75": float(np.quantile(ratio, 0.75)),
                         "sign_flipping_channels": float(flips.mean()), "ratio": ratio})
    return rows


@torch.no_grad()
def mixer_feature_change(model, batch: dict, training_mode: bool = True) -> list[dict]:
    """How much each ModaMixer changes its stage's feature: per branch and stage, the cosine between the mixer's
    output f_m and the stage's own last block ``Block_ASS(f_v)`` (the residual term of Eq. 1), averaged over the
    pairs of ``batch``, and the norm ratio |f_m − residual| / |residual|. On a pretrained start, a cosine well below
    1 means the language path scrambles features the backbone had learned (``VLTConfig.selector_init``).
    ``training_mode``: BatchNorm with batch statistics, as at the first training step."""
    if not model.config.use_modamixer or not model.config.mixer_residual:
        raise ValueError("mixer_feature_change needs ModaMixer with its residual term")
    rows: list[dict] = []
    branch = ["template"]

    def record(stage: int):
        def hook(module, inputs, output):
            residual = inputs[3]
            cosine = torch.nn.functional.cosine_similarity(output.flatten(1), residual.flatten(1), dim=1)
            rows.append({"branch": branch[0], "stage": stage + 1, "cosine": float(cosine.mean()),
                         "relative_change": float((output - residual).norm() / residual.norm())})
        return hook

    stages = len(model.mixers_for("template"))
    order = list(model.mixers_for("template")) + ([] if model.config.shared_mixers else list(model.mixers_for("search")))
    handles = [mixer.register_forward_hook(record(index % stages)) for index, mixer in enumerate(order)]
    was_training = model.training
    model.train(training_mode)
    try:
        device = next(model.parameters()).device
        z, x = batch["z"].to(device), batch["x"].to(device)
        f_l, has_sentence, z_box = (batch[k].to(device) for k in ("f_l", "has_sentence", "z_box"))
        state = model.encode_template(z, f_l, has_sentence, z_box)
        branch[0] = "search"
        model.forward_search(x, state)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows


def with_test_kernel(model, test_kernel: str):
    """A copy of ``model`` that makes its test-time kernel the ``test_kernel`` way (``HeadConfig.test_kernel``):
    the same weights, so the options compare paired on one trained network."""
    import dataclasses

    from vlt_mini.models.vlt import VLTNet

    config = dataclasses.replace(model.config, head=dataclasses.replace(model.config.head, test_kernel=test_kernel))
    copy = VLTNet(config, candidate=model.candidate)
    copy.load_state_dict(model.state_dict())
    return copy.to(next(model.parameters()).device).eval()
