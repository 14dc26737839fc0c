"""The OPE metrics, rule by rule, on hand-computed examples; and against a line-by-line port of the toolkit's loops."""
import math

import numpy as np
import pytest

from vlt_mini.evaluation.ope import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    box_centers,
    center_error,
    evaluate_ope,
    evaluate_sequence,
    got10k_ious,
    got10k_scores,
    matlab_colon,
    overlap_ratio,
    repair_predictions,
)

BOX = [1.0, 1.0, 10.0, 10.0]
SHIFTED = [6.0, 1.0, 10.0, 10.0]   # IoU with BOX: 5*10 / (100 + 100 - 50) = 1/3; centre error 5 px, normalised 0.5
FAR = [300.0, 300.0, 10.0, 10.0]


def boxes(*rows):
    return np.array(rows, dtype=np.float64)


# --------------------------------------------------------------------------- per-frame quantities


def test_thresholds_are_the_toolkits():
    assert len(SUCCESS_THRESHOLDS) == 21 and SUCCESS_THRESHOLDS[0] == 0 and SUCCESS_THRESHOLDS[-1] == 1
    np.testing.assert_allclose(SUCCESS_THRESHOLDS, np.arange(21) * 0.05, atol=1e-15)
    # MATLAB's colon counts the upper half down from the end: 0:0.05:1 has 1 - 7*0.05, not 13*0.05, at index 13
    assert SUCCESS_THRESHOLDS[13] == 1 - 7 * 0.05 and SUCCESS_THRESHOLDS[3] == 3 * 0.05
    np.testing.assert_array_equal(matlab_colon(0, 1, 50), PRECISION_THRESHOLDS)
    assert len(NORM_PRECISION_THRESHOLDS) == 51 and NORM_PRECISION_THRESHOLDS[20] == 0.2


def test_iou_and_centre_use_the_toolkit_pixel_convention():
    np.testing.assert_allclose(overlap_ratio(boxes(BOX, BOX, BOX, BOX), boxes(BOX, SHIFTED, [11, 1, 10, 10], FAR)),
                               [1.0, 1 / 3, 0.0, 0.0])
    np.testing.assert_array_equal(box_centers(boxes([0, 0, 10, 20])), [[4.5, 9.5]])  # x + (w - 1) / 2
    np.testing.assert_allclose(center_error(boxes(SHIFTED), boxes(BOX)), [5.0])
    np.testing.assert_allclose(center_error(boxes(SHIFTED), boxes(BOX), normalized=True), [0.5])


# --------------------------------------------------------------------------- the rules


def test_first_frame_is_replaced_by_the_ground_truth():
    # frame 1 predicted far away, frame 2 perfect: frame 1 still counts as a perfect frame
    result = evaluate_sequence(boxes(FAR, BOX), boxes(BOX, BOX))
    np.testing.assert_allclose(result.success[0], [1.0] * 20 + [0.0])
    np.testing.assert_allclose(result.precision[0], 1.0)
    assert result.suc == pytest.approx(100 * 20 / 21)


def test_invalid_predictions_take_the_previous_box():
    gt = boxes(BOX, BOX, BOX, BOX, BOX)
    nan = [math.nan] * 4
    predictions = boxes(BOX, SHIFTED, [0, 0, 0, 0], nan, [50, 50, -3, 10])  # w = 0, all NaN, w < 0
    result = evaluate_sequence(predictions, gt)
    # frames 2..5 all become SHIFTED (IoU 1/3 > t for t = 0 .. 0.30, i.e. 7 thresholds; error 5 px)
    np.testing.assert_allclose(result.success[0], [1.0] * 7 + [0.2] * 13 + [0.0])
    np.testing.assert_allclose(result.precision[0], [0.2] * 5 + [1.0] * 46)
    # the repair uses the tracker's own frame-1 box (it runs before frame 1 is set to the ground truth)
    repaired = repair_predictions(boxes(SHIFTED, [9, 9, 10, -1]), boxes(BOX, BOX))
    np.testing.assert_array_equal(repaired, boxes(BOX, SHIFTED))


def test_partly_nan_rows_and_nan_ground_truth_follow_matlab_vector_if():
    # MATLAB's `if` on a 1x4 vector needs all four true: a row with some NaNs and w, h > 0 is kept (and fails)
    partly = [math.nan, 1, 10, 10]
    repaired = repair_predictions(boxes(BOX, partly), boxes(BOX, BOX))
    assert np.isnan(repaired[1, 0])
    result = evaluate_sequence(boxes(BOX, partly), boxes(BOX, BOX))
    np.testing.assert_allclose(result.success[0], [0.5] * 20 + [0.0])
    np.testing.assert_allclose(result.precision[0], 0.5)
    # no replacement where the ground truth has a NaN
    repaired = repair_predictions(boxes(BOX, [0, 0, 0, 0]), boxes(BOX, [math.nan] * 4))
    np.testing.assert_array_equal(repaired[1], [0, 0, 0, 0])


def test_absent_frames_fail_but_stay_in_the_denominator():
    gt = boxes(BOX, BOX, BOX, BOX)
    visible = np.array([True, True, False, True])
    perfect = evaluate_sequence(gt, gt, visible)
    np.testing.assert_allclose(perfect.success[0], [0.75] * 20 + [0.0])
    np.testing.assert_allclose(perfect.precision[0], 0.75)
    np.testing.assert_allclose(perfect.norm_precision[0], 0.75)
    # what the tracker says in an absent frame does not matter
    other = evaluate_sequence(boxes(BOX, BOX, FAR, BOX), gt, visible)
    np.testing.assert_array_equal(other.success, perfect.success)


def test_degenerate_ground_truth_fails_success_but_passes_precision():
    # visible frames whose ground truth has any of x, y, w, h <= 0 (calc_seq_err_robust.m: sum(rect_anno > 0, 2) == 4)
    gt = boxes(BOX, [5, 5, 0, 10], [0, 5, 10, 10], BOX)
    predictions = boxes(BOX, FAR, [0, 5, 10, 10], BOX)   # frame 3 is even predicted exactly
    result = evaluate_sequence(predictions, gt)
    np.testing.assert_allclose(result.success[0], [0.5] * 20 + [0.0])   # IoU -1 for frames 2 and 3
    np.testing.assert_allclose(result.precision[0], 1.0)                 # centre error -1 <= every threshold
    np.testing.assert_allclose(result.norm_precision[0], 1.0)
    # ... unless the frame is absent: then it is removed like any absent frame
    absent = evaluate_sequence(predictions, gt, np.array([True, False, True, True]))
    np.testing.assert_allclose(absent.precision[0], 0.75)


def test_longer_predictions_are_truncated_shorter_ones_rejected():
    gt = boxes(BOX, SHIFTED, BOX)
    predictions = boxes(BOX, BOX, SHIFTED)
    exact = evaluate_sequence(predictions, gt)
    longer = evaluate_sequence(np.vstack([predictions, boxes(FAR, [0, 0, 0, 0])]), gt)
    np.testing.assert_array_equal(longer.success, exact.success)
    with pytest.raises(ValueError, match="2 predicted boxes but the ground truth has 3 frames"):
        evaluate_ope([predictions[:2]], [gt], [np.ones(3, bool)], ["seq-1"])


def test_success_is_strict_precision_is_not():
    gt = boxes(BOX, BOX)
    half = evaluate_sequence(boxes(BOX, [1, 1, 5, 10]), gt)      # IoU exactly 0.5 in frame 2
    assert half.success[0, 10] == 0.5 and SUCCESS_THRESHOLDS[10] == 0.5   # 0.5 > 0.5 is false
    assert half.success[0, 9] == 1.0
    twenty = evaluate_sequence(boxes(BOX, [21, 1, 10, 10]), gt)  # centre error exactly 20 px
    assert twenty.precision[0, 20] == 1.0 and twenty.precision[0, 19] == 0.5
    assert twenty.prec == 100.0
    quarter = evaluate_sequence(boxes([1, 1, 16, 16], [5, 1, 16, 16]), boxes([1, 1, 16, 16], [1, 1, 16, 16]))
    assert quarter.norm_precision[0, 25] == 1.0 and quarter.norm_precision[0, 24] == 0.5   # exactly 0.25


def test_scores_average_over_sequences_not_frames():
    short = (boxes(BOX, FAR), boxes(BOX, BOX))                 # success 0.5 below t = 1
    long = (np.repeat(boxes(BOX), 8, axis=0), np.repeat(boxes(BOX), 8, axis=0))  # success 1 below t = 1
    result = evaluate_ope([short[0], long[0]], [short[1], long[1]], [np.ones(2, bool), np.ones(8, bool)])
    assert result.suc == pytest.approx(100 * (0.5 + 1.0) / 2 * 20 / 21)
    assert result.prec == pytest.approx(75.0)
    np.testing.assert_allclose(result.sequence_suc, [50 * 20 / 21, 100 * 20 / 21])


def test_per_attribute_success_averages_the_sequences_with_the_attribute():
    short = (boxes(BOX, FAR), boxes(BOX, BOX))
    perfect = (boxes(BOX, BOX), boxes(BOX, BOX))
    visible = [np.ones(2, bool)] * 3
    attributes = [{"IV": True, "FM": False}, {"IV": True, "FM": True}, {"IV": False, "FM": False}]
    result = evaluate_ope([short[0], perfect[0], perfect[0]], [short[1], perfect[1], perfect[1]], visible,
                          attributes=attributes)
    scores = result.attribute_suc(["IV", "FM", "LR"])
    assert scores["IV"] == pytest.approx(100 * 0.75 * 20 / 21)
    assert scores["FM"] == pytest.approx(100 * 20 / 21)
    assert "LR" not in scores   # no sequence has it


def test_ground_truth_as_result_scores_20_21_of_the_visible_fraction():
    rng = np.random.default_rng(0)
    gts, visibles = [], []
    for length in (5, 17, 40):
        gt = np.column_stack([rng.integers(1, 100, (length, 2)), rng.integers(5, 50, (length, 2))]).astype(float)
        gts.append(gt)
        visibles.append(rng.random(length) > 0.3)
    result = evaluate_ope(gts, gts, visibles)
    visible_fraction = np.mean([v.mean() for v in visibles])
    assert result.suc == pytest.approx(100 * 20 / 21 * visible_fraction, abs=1e-9)
    assert result.prec == pytest.approx(100 * visible_fraction, abs=1e-9)


# --------------------------------------------------------------------------- against the toolkit's loops


def reference_sequence_curves(results, rect_anno, absent_anno):
    """calc_seq_err_robust.m + calc_rect_int.m + eval_tracker.m transliterated loop by loop (slow, obvious)."""
    results = [list(map(float, row)) for row in results[: len(rect_anno)]]
    n = len(rect_anno)
    for i in range(1, n):
        r, r_anno = results[i], rect_anno[i]
        if all((math.isnan(r[j]) or r[2] <= 0 or r[3] <= 0) and not math.isnan(r_anno[j]) for j in range(4)):
            results[i] = list(results[i - 1])
    results[0] = list(rect_anno[0])
    iou, err, nerr = [], [], []
    for (x, y, w, h), (gx, gy, gw, gh) in zip(results, rect_anno):
        if gx > 0 and gy > 0 and gw > 0 and gh > 0:
            inter_w = max(0.0, min(x + w - 1, gx + gw - 1) - max(x, gx) + 1)
            inter_h = max(0.0, min(y + h - 1, gy + gh - 1) - max(y, gy) + 1)
            inter = inter_w * inter_h
            iou.append(inter / (w * h + gw * gh - inter))
            cx, cy, gcx, gcy = x + (w - 1) / 2, y + (h - 1) / 2, gx + (gw - 1) / 2, gy + (gh - 1) / 2
            err.append(math.sqrt((cx - gcx) ** 2 + (cy - gcy) ** 2))
            nerr.append(math.sqrt((cx / gw - gcx / gw) ** 2 + (cy / gh - gcy / gh) ** 2))
        else:
            iou.append(-1.0)
            err.append(-1.0)
            nerr.append(-1.0)
    keep = [a == 0 for a in absent_anno]
    iou = [v for v, k in zip(iou, keep) if k]
    err = [v for v, k in zip(err, keep) if k]
    nerr = [v for v, k in zip(nerr, keep) if k]
    success = [sum(v > t for v in iou) / n for t in SUCCESS_THRESHOLDS]
    precision = [sum(v <= t for v in err) / n for t in PRECISION_THRESHOLDS]
    norm_precision = [sum(v <= t for v in nerr) / n for t in NORM_PRECISION_THRESHOLDS]
    return success, precision, norm_precision


def test_vectorised_evaluation_equals_the_toolkit_loops_on_random_messy_sequences():
    rng = np.random.default_rng(1)
    predictions, gts, visibles = [], [], []
    for length in rng.integers(1, 60, size=12):
        gt = np.column_stack([rng.integers(-2, 60, (length, 2)), rng.integers(-1, 30, (length, 2))]).astype(float)
        noise = rng.normal(0, 4, (length + int(rng.integers(0, 3)), 4))
        prediction = np.vstack([gt, gt[:1].repeat(len(noise) - length, axis=0)]) + noise
        bad = rng.random(len(prediction))
        prediction[bad < 0.08] = np.nan
        prediction[(bad > 0.08) & (bad < 0.14), 2] = 0.0
        prediction[(bad > 0.14) & (bad < 0.18), 3] = -4.0
        prediction[(bad > 0.18) & (bad < 0.21), 1] = np.nan                  # partly NaN: kept, fails
        exact = np.flatnonzero(rng.random(length) < 0.15)                     # IoU exactly 1, error exactly 0
        prediction[exact] = gt[exact]
        predictions.append(prediction)
        gts.append(gt)
        visibles.append(rng.random(length) > 0.2)
    result = evaluate_ope(predictions, gts, visibles)
    for index, (prediction, gt, visible) in enumerate(zip(predictions, gts, visibles)):
        success, precision, norm_precision = reference_sequence_curves(prediction, gt, (~visible).astype(int))
        np.testing.assert_allclose(result.success[index], success, atol=1e-12)
        np.testing.assert_allclose(result.precision[index], precision, atol=1e-12)
        np.testing.assert_allclose(result.norm_precision[index], norm_precision, atol=1e-12)


def test_invalid_box_at_a_sequence_start_does_not_borrow_from_the_previous_sequence():
    a_pred, a_gt = boxes(BOX, [0, 0, 0, 0]), boxes(BOX, BOX)
    b_pred, b_gt = boxes([0, 0, 0, 0], [0, 0, 0, 0]), boxes(BOX, BOX)
    together = evaluate_ope([a_pred, b_pred], [a_gt, b_gt], [np.ones(2, bool)] * 2)
    alone = evaluate_sequence(b_pred, b_gt)
    np.testing.assert_array_equal(together.success[1], alone.success[0])


# --------------------------------------------------------------------------- GOT-10k


def test_got10k_ao_skips_frame_one_and_cover_zero_and_pools_frames():
    gt = boxes(BOX, BOX, BOX, BOX)
    # frame 1 ignored (FAR there changes nothing); frame 3 has cover 0; IoUs of frames 2 and 4: 1 and 1/3 (continuous)
    first = got10k_scores([boxes(FAR, BOX, FAR, SHIFTED)], [gt], [np.array([1, 8, 0, 5])])
    assert first.ao == pytest.approx(100 * (1 + 1 / 3) / 2)
    assert first.sr_50 == pytest.approx(50.0) and first.sr_75 == pytest.approx(50.0)
    assert first.num_frames == 2
    # pooled over frames, not averaged per sequence: one more sequence with 1 frame scored, IoU 0
    pooled = got10k_scores([boxes(FAR, BOX, FAR, SHIFTED), boxes(BOX, FAR)], [gt, boxes(BOX, BOX)],
                           [np.array([1, 8, 0, 5]), np.array([1, 1])])
    assert pooled.ao == pytest.approx(100 * (1 + 1 / 3 + 0) / 3)
    # IoU exactly 0.5 is not a success at 0.5 (strict, as the got10k toolkit's ious > 0.5)
    half = got10k_scores([boxes(BOX, [1, 1, 5, 10])], [boxes(BOX, BOX)], [np.array([1, 1])])
    assert half.sr_50 == 0.0 and half.ao == pytest.approx(50.0)


def test_got10k_pooled_scores_equal_the_per_sequence_ious_concatenated():
    rng = np.random.default_rng(2)
    predictions, gts, covers = [], [], []
    for length in rng.integers(1, 40, size=10):
        gt = np.column_stack([rng.uniform(0, 50, (length, 2)), rng.uniform(1, 20, (length, 2))])
        prediction = np.vstack([gt, gt[:1].repeat(int(rng.integers(0, 3)), axis=0)])
        prediction = prediction + rng.normal(0, 3, prediction.shape)
        prediction[rng.random(len(prediction)) < 0.1] = np.nan
        predictions.append(prediction)
        gts.append(gt)
        covers.append(rng.integers(0, 9, length) * (rng.random(length) > 0.2))
    ious = np.concatenate([got10k_ious(p, g, c) for p, g, c in zip(predictions, gts, covers)])
    scores = got10k_scores(predictions, gts, covers)
    assert scores.num_frames == ious.size
    assert (scores.ao, scores.sr_50, scores.sr_75) == (ious.mean() * 100, (ious > 0.5).mean() * 100,
                                                       (ious > 0.75).mean() * 100)
    with pytest.raises(ValueError, match="fewer predicted boxes"):
        got10k_scores([predictions[0][:1]], [np.vstack([gts[0], gts[0]])], [np.ones(2 * len(gts[0]))])
