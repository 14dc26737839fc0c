"""One-pass evaluation (OPE) exactly as the official LaSOT MATLAB toolkit computes it, plus GOT-10k's AO / SR.

Reference code (LaSOT_Evaluation_Toolkit, derived from the OTB toolkit; rules and quirks in docs/evaluation_protocol.md):

- ``utils/calc_seq_err_robust.m``: repair the predictions, IoU and centre error per frame, drop absent frames;
- ``utils/calc_rect_int.m``: the IoU in the 1-based pixel convention (right = x + w - 1);
- ``utils/eval_tracker.m``: success ``IoU > t`` for t in 0:0.05:1, precision ``error <= t`` for t in 0:50 px
  (normalised: 0:50 / 100), each count divided by the full sequence length;
- ``run_tracker_performance_evaluation.m``: SUC = mean of the 21-point success curve averaged over sequences,
  P = the averaged precision curve at 20 px, P_norm at 0.2.

pytracking's ``analysis/extract_results.py`` and pysot-toolkit follow the same rules and agree to 0.01 on LaSOT.
GOT-10k's AO / SR follow the got10k toolkit (``got10k/experiments/got10k.py``, ``got10k/utils/metrics.py``).

Everything is vectorised over all frames of all sequences at once: the 685k frames of LaSOT's test set are scored in
about 0.15 s on one CPU core (``benchmarks/bench_evaluate.py``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def matlab_colon(start: float, step: float, stop: float) -> np.ndarray:
    """``start:step:stop`` with MATLAB's rounding: the first half counts up from start, the second down from stop.

    This reproduces the toolkit's thresholds to the last bit, which matters for IoUs that equal a threshold.
    """
    count = int(np.floor((stop - start) / step + 1e-10))
    k = np.arange(count + 1, dtype=np.float64)
    values = start + k * step
    upper = k > count / 2
    values[upper] = stop - (count - k[upper]) * step
    return values


SUCCESS_THRESHOLDS = matlab_colon(0.0, 0.05, 1.0)                       # (21,) IoU, success when IoU > t
PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64)                  # (51,) px, success when error <= t
NORM_PRECISION_THRESHOLDS = np.arange(51, dtype=np.float64) / 100.0     # (51,) 0:0.01:0.5, as (0:50) / 100
PRECISION_AT = 20                 # index of 20 px in PRECISION_THRESHOLDS
NORM_PRECISION_AT = 20            # index of 0.2 in NORM_PRECISION_THRESHOLDS


# ---------------------------------------------------------------------------------------------------------------
# Per-frame quantities


def overlap_ratio(boxes_a: np.ndarray, boxes_b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) x, y, w, h boxes row by row, computed as ``calc_rect_int.m`` does (inclusive pixel ends)."""
    left_a, top_a = boxes_a[:, 0], boxes_a[:, 1]
    right_a, bottom_a = left_a + boxes_a[:, 2] - 1, top_a + boxes_a[:, 3] - 1
    left_b, top_b = boxes_b[:, 0], boxes_b[:, 1]
    right_b, bottom_b = left_b + boxes_b[:, 2] - 1, top_b + boxes_b[:, 3] - 1
    inter_w = np.maximum(0.0, np.minimum(right_a, right_b) - np.maximum(left_a, left_b) + 1)
    inter_h = np.maximum(0.0, np.minimum(bottom_a, bottom_b) - np.maximum(top_a, top_b) + 1)
    intersection = inter_w * inter_h
    union = boxes_a[:, 2] * boxes_a[:, 3] + boxes_b[:, 2] * boxes_b[:, 3] - intersection
    with np.errstate(divide="ignore", invalid="ignore"):
        return intersection / union


def box_centers(boxes: np.ndarray) -> np.ndarray:
    """(N, 2) centres in the toolkit's 1-based convention: ``x + (w - 1) / 2``, ``y + (h - 1) / 2``."""
    return boxes[:, :2] + (boxes[:, 2:] - 1) / 2


def center_error(predictions: np.ndarray, ground_truth: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Distance between centres; ``normalized`` divides both centres by the ground-truth w and h first."""
    errors = _center_errors(np.asarray(predictions, dtype=np.float64), np.asarray(ground_truth, dtype=np.float64))
    return errors[1] if normalized else errors[0]


def _center_errors(predictions: np.ndarray, ground_truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pixel error, normalised error), column by column (faster than reductions over a 2-wide axis)."""
    predicted_x = predictions[:, 0] + (predictions[:, 2] - 1) / 2
    predicted_y = predictions[:, 1] + (predictions[:, 3] - 1) / 2
    true_x = ground_truth[:, 0] + (ground_truth[:, 2] - 1) / 2
    true_y = ground_truth[:, 1] + (ground_truth[:, 3] - 1) / 2
    dx, dy = predicted_x - true_x, predicted_y - true_y
    error = np.sqrt(dx * dx + dy * dy)
    with np.errstate(divide="ignore", invalid="ignore"):
        # the toolkit divides each centre by the ground-truth size, then subtracts: the same as dividing the difference
        # up to rounding; divide first to follow its arithmetic exactly
        ndx = predicted_x / ground_truth[:, 2] - true_x / ground_truth[:, 2]
        ndy = predicted_y / ground_truth[:, 3] - true_y / ground_truth[:, 3]
        norm_error = np.sqrt(ndx * ndx + ndy * ndy)
    return error, norm_error


def repair_predictions(predictions: np.ndarray, ground_truth: np.ndarray, starts: np.ndarray | None = None) -> np.ndarray:
    """The toolkit's repairs, for one sequence or for several concatenated (``starts``: first row of each).

    From frame 2 an invalid prediction is replaced by the previous (already repaired) one. The toolkit's test is
    ``if (isnan(r) | r(3)<=0 | r(4)<=0) & (~isnan(r_anno))`` on a 1x4 vector, which MATLAB reads as "all four":
    a row is replaced when w <= 0 or h <= 0, or all four numbers are NaN, and the ground truth has no NaN. (A row
    with only some NaNs is kept; it then fails every threshold.) The repair runs before frame 1 is replaced, so frame 2
    falls back to the tracker's own frame-1 box. Finally frame 1 is set to the ground truth (it is the given box).
    """
    predictions = np.array(predictions, dtype=np.float64, copy=True)
    n = len(predictions)
    starts = np.zeros(1, dtype=np.int64) if starts is None else np.asarray(starts, dtype=np.int64)
    if n == 0:
        return predictions
    # candidates: w <= 0 or h <= 0 (NaN <= 0 is false, as in MATLAB), or x is NaN; the few found are then checked
    # in full (all four NaN, ground truth without NaN) rather than testing every row's every number
    candidates = np.flatnonzero((predictions[:, 2] <= 0) | (predictions[:, 3] <= 0) | np.isnan(predictions[:, 0]))
    rows = predictions[candidates]
    replace = candidates[((rows[:, 2] <= 0) | (rows[:, 3] <= 0) | np.isnan(rows).all(axis=1))
                         & ~np.isnan(ground_truth[candidates]).any(axis=1)]
    replace = np.setdiff1d(replace, starts, assume_unique=True)  # the loop starts at frame 2 of every sequence
    if replace.size:
        source = np.arange(n)
        source[replace] = 0
        np.maximum.accumulate(source, out=source)        # index of the last kept row (never crosses a sequence start)
        predictions = predictions[source]
    predictions[starts] = ground_truth[starts]
    return predictions


# ---------------------------------------------------------------------------------------------------------------
# Curves


@dataclass
class OPEResult:
    """Per-sequence OPE curves (fractions 0..1) and the summary scores (percent)."""

    names: list[str]
    success: np.ndarray            # (S, 21)
    precision: np.ndarray          # (S, 51)
    norm_precision: np.ndarray     # (S, 51)
    lengths: np.ndarray            # (S,) frames per sequence (the denominators)
    attributes: list[dict[str, bool]] = field(default_factory=list)

    @property
    def suc(self) -> float:
        """SUC / AUC in percent: the mean of the 21 success points, averaged over sequences."""
        return float(self.success.mean() * 100) if len(self.names) else float("nan")

    @property
    def prec(self) -> float:
        """P in percent: precision at 20 px averaged over sequences."""
        return float(self.precision[:, PRECISION_AT].mean() * 100) if len(self.names) else float("nan")

    @property
    def norm_prec(self) -> float:
        """P_norm in percent: normalised precision at 0.2 averaged over sequences."""
        return float(self.norm_precision[:, NORM_PRECISION_AT].mean() * 100) if len(self.names) else float("nan")

    @property
    def sequence_suc(self) -> np.ndarray:
        return self.success.mean(axis=1) * 100

    @property
    def sequence_prec(self) -> np.ndarray:
        return self.precision[:, PRECISION_AT] * 100

    @property
    def sequence_norm_prec(self) -> np.ndarray:
        return self.norm_precision[:, NORM_PRECISION_AT] * 100

    def attribute_suc(self, attribute_names) -> dict[str, float]:
        """SUC (percent) over the sequences that have each attribute; attributes no sequence has are left out."""
        scores = {}
        per_sequence = self.success.mean(axis=1)
        for name in attribute_names:
            has = np.array([bool(flags.get(name, False)) for flags in self.attributes], dtype=bool)
            if has.any():
                scores[name] = float(per_sequence[has].mean() * 100)
        return scores


def _fraction_passing(values: np.ndarray, thresholds: np.ndarray, sequence_index: np.ndarray, lengths: np.ndarray,
                      strictly_above: bool) -> np.ndarray:
    """(S, T): per sequence, the fraction of its frames with ``value > t`` (success) or ``value <= t`` (precision).

    The thresholds ascend, so one number per frame settles all T comparisons: ``below``, how many thresholds are
    < value. Then ``value <= t_k`` iff ``below <= k`` and ``value > t_k`` iff ``below > k`` (exact comparisons, no
    (F, T) matrix). A histogram of ``below`` per sequence and a cumulative sum give every curve at once.
    """
    num_thresholds = len(thresholds)
    below = np.searchsorted(thresholds, values, side="left")       # (F,) in 0..T; callers have removed NaN
    histogram = np.bincount(sequence_index * (num_thresholds + 1) + below,
                            minlength=len(lengths) * (num_thresholds + 1)).reshape(len(lengths), num_thresholds + 1)
    at_most = np.cumsum(histogram, axis=1)[:, :num_thresholds]     # (S, T) frames with below <= k
    passing = lengths[:, None] - at_most if strictly_above else at_most
    return passing / lengths[:, None].astype(np.float64)


def _columnwise(boxes: list[np.ndarray]) -> np.ndarray:
    """The (N, 4) arrays stacked into one (F, 4) array stored column by column (Fortran order): each of x, y, w, h is
    then contiguous in memory, and the per-frame arithmetic, which reads whole columns, runs faster on it."""
    return np.concatenate([b.reshape(-1, 4).T for b in boxes], axis=1).T


def evaluate_ope(predictions: list[np.ndarray], ground_truths: list[np.ndarray], visibles: list[np.ndarray],
                 names: list[str] | None = None, attributes: list[dict[str, bool]] | None = None) -> OPEResult:
    """OPE over sequences. Predictions must have at least as many rows as the ground truth (extra rows are cut).

    Raises ``ValueError`` naming the sequence when a prediction is shorter than its ground truth or not (N, 4).
    """
    names = list(names) if names is not None else [f"sequence {i}" for i in range(len(ground_truths))]
    if not (len(predictions) == len(ground_truths) == len(visibles) == len(names)):
        raise ValueError("evaluate_ope: predictions, ground_truths, visibles and names differ in length")
    lengths = np.array([len(gt) for gt in ground_truths], dtype=np.int64)
    for name, prediction, gt, visible in zip(names, predictions, ground_truths, visibles):
        prediction = np.asarray(prediction)
        if prediction.ndim != 2 or prediction.shape[1] != 4:
            raise ValueError(f"{name}: predictions must be an (N, 4) array, got shape {prediction.shape}")
        if len(prediction) < len(gt):
            raise ValueError(f"{name}: {len(prediction)} predicted boxes but the ground truth has {len(gt)} frames")
        if len(visible) != len(gt):
            raise ValueError(f"{name}: {len(visible)} visibility flags but the ground truth has {len(gt)} frames")
        if len(gt) == 0:
            raise ValueError(f"{name}: empty ground truth")
    num_sequences = len(names)
    if num_sequences == 0:
        empty = np.zeros((0, 21)), np.zeros((0, 51)), np.zeros((0, 51))
        return OPEResult([], *empty, lengths, list(attributes or []))

    # All sequences concatenated: one pass of vectorised arithmetic. Longer predictions are truncated (the toolkit
    # cuts them; LaSOT's monkey-17 needs it for some trackers). Stored column by column (``_columnwise``).
    gt = _columnwise([np.asarray(g, dtype=np.float64) for g in ground_truths])                      # (F, 4)
    predicted = _columnwise([np.asarray(p, dtype=np.float64)[: len(g)] for p, g in zip(predictions, ground_truths)])
    visible = np.concatenate([np.asarray(v, dtype=bool) for v in visibles])                          # (F,)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    sequence_index = np.repeat(np.arange(num_sequences), lengths)
    predicted = repair_predictions(predicted, gt, starts)

    with np.errstate(invalid="ignore"):
        # calc_seq_err_robust.m: idx = sum(rect_anno > 0, 2) == 4 -- all of x, y, w, h must be positive (NaN fails).
        valid_gt = (gt[:, 0] > 0) & (gt[:, 1] > 0) & (gt[:, 2] > 0) & (gt[:, 3] > 0)
        iou = np.where(valid_gt, overlap_ratio(predicted, gt), -1.0)   # degenerate ground truth: IoU -1, a failure
        error, norm_error = _center_errors(predicted, gt)
    # Quirk of the official code, kept on purpose: err_center(~idx) = -1, and -1 <= every threshold, so a visible frame
    # with degenerate ground truth counts as a SUCCESS for P and P_norm while it is a failure for the success plot.
    error[~valid_gt] = -1.0
    norm_error[~valid_gt] = -1.0
    # NaN (a partly-NaN prediction the toolkit keeps) fails everything, as MATLAB's comparisons with NaN are false.
    iou[np.isnan(iou)] = -1.0
    error[np.isnan(error)] = np.inf
    norm_error[np.isnan(norm_error)] = np.inf
    # Absent frames leave the numerator but stay in the denominator (the full sequence length): they always fail.
    iou[~visible] = -1.0
    error[~visible] = np.inf
    norm_error[~visible] = np.inf

    success = _fraction_passing(iou, SUCCESS_THRESHOLDS, sequence_index, lengths, strictly_above=True)
    precision = _fraction_passing(error, PRECISION_THRESHOLDS, sequence_index, lengths, strictly_above=False)
    norm_precision = _fraction_passing(norm_error, NORM_PRECISION_THRESHOLDS, sequence_index, lengths,
                                       strictly_above=False)
    return OPEResult(names, success, precision, norm_precision, lengths, list(attributes or [{}] * num_sequences))


def evaluate_sequence(prediction: np.ndarray, ground_truth: np.ndarray, visible: np.ndarray | None = None) -> OPEResult:
    """OPE of one sequence (every frame visible when ``visible`` is None)."""
    ground_truth = np.asarray(ground_truth, dtype=np.float64).reshape(-1, 4)
    visible = np.ones(len(ground_truth), dtype=bool) if visible is None else np.asarray(visible, dtype=bool)
    return evaluate_ope([np.asarray(prediction, dtype=np.float64).reshape(-1, 4)], [ground_truth], [visible])


# ---------------------------------------------------------------------------------------------------------------
# GOT-10k


@dataclass
class GOT10kScores:
    """GOT-10k's metrics in percent: AO (average overlap) and success rates at IoU 0.5 and 0.75."""

    ao: float
    sr_50: float
    sr_75: float
    num_frames: int


def got10k_ious(prediction: np.ndarray, ground_truth: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """The IoUs GOT-10k averages for one sequence: frames 2..N whose cover label is > 0.

    As ``got10k/experiments/got10k.py``: ``rect_iou(boxes[1:], anno[1:])`` then ``[covers > 0]``; the IoU is the
    continuous one (``got10k/utils/metrics.py``: no +1 pixel ends, clipped to [0, 1]). The toolkit also clips boxes to
    the image when the resolution is known; this version does not (the readers do not keep the resolution). A NaN
    prediction counts as IoU 0 here (the got10k toolkit would turn the mean into NaN).
    """
    prediction = np.asarray(prediction, dtype=np.float64)[1 : len(ground_truth)]
    target = np.asarray(ground_truth, dtype=np.float64)[1:]
    keep = np.asarray(cover)[1 : len(ground_truth)] > 0
    return _got10k_iou_rows(prediction[keep], target[keep])


def _got10k_iou_rows(prediction: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The got10k toolkit's ``rect_iou`` of (N, 4) boxes row by row (NaN as 0, see ``got10k_ious``)."""
    left = np.maximum(prediction[:, 0], target[:, 0])
    top = np.maximum(prediction[:, 1], target[:, 1])
    right = np.minimum(prediction[:, 0] + prediction[:, 2], target[:, 0] + target[:, 2])
    bottom = np.minimum(prediction[:, 1] + prediction[:, 3], target[:, 1] + target[:, 3])
    intersection = np.maximum(right - left, 0) * np.maximum(bottom - top, 0)
    union = prediction[:, 2] * prediction[:, 3] + target[:, 2] * target[:, 3] - intersection
    with np.errstate(invalid="ignore", divide="ignore"):
        ious = np.clip(intersection / (union + np.finfo(float).eps), 0.0, 1.0)
    ious[np.isnan(ious)] = 0.0    # as np.nan_to_num, in place (no infinities are left after the clip)
    return ious


def got10k_scores(predictions: list[np.ndarray], ground_truths: list[np.ndarray], covers: list[np.ndarray]) -> GOT10kScores:
    """AO, SR_0.5, SR_0.75 over the frames of all sequences pooled together (as the got10k toolkit concatenates
    every sequence's IoUs before ``np.mean``), so longer sequences weigh more. ``covers``: GOT-10k's cover labels, or
    the visibility flags where a dataset has none (cover 0 means absent). The IoUs of all sequences are computed in
    one vectorised pass, in the order ``got10k_ious`` would give them sequence by sequence."""
    if not ground_truths:
        return GOT10kScores(float("nan"), float("nan"), float("nan"), 0)
    lengths = [len(g) for g in ground_truths]
    if any(len(p) < n or len(c) < n for p, c, n in zip(predictions, covers, lengths)):
        raise ValueError("got10k_scores: a sequence has fewer predicted boxes or cover labels than ground-truth boxes")
    target = _columnwise([np.asarray(g, dtype=np.float64) for g in ground_truths])
    prediction = _columnwise([np.asarray(p, dtype=np.float64)[:n] for p, n in zip(predictions, lengths)])
    keep = np.concatenate([np.asarray(c)[:n] > 0 for c, n in zip(covers, lengths)])
    keep[np.cumsum([0] + lengths[:-1])[np.array(lengths) > 0]] = False   # frame 1 of every sequence is the given box
    ious = _got10k_iou_rows(prediction, target)[keep]   # every row, then the kept ones: cheaper than picking rows
    if ious.size == 0:
        return GOT10kScores(float("nan"), float("nan"), float("nan"), 0)
    return GOT10kScores(float(ious.mean() * 100), float((ious > 0.5).mean() * 100),
                        float((ious > 0.75).mean() * 100), int(ious.size))
