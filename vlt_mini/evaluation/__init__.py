"""One-pass evaluation (OPE) as the official LaSOT toolkit computes it, reports, plots and the paper's tables.

- ``ope``: the metrics (success / precision / normalised precision curves, SUC, P, P_norm, GOT-10k AO / SR), numpy only
- ``report``: results folders -> scores, the printed table, JSON (``vlt-mini evaluate``)
- ``plots``: LaSOT-style success / precision plots, attribute chart, leaderboard chart (matplotlib, headless)
- ``published``: the paper's Table 2 and ablation tables, typed in from the paper
"""
from vlt_mini.evaluation.ope import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    GOT10kScores,
    OPEResult,
    center_error,
    evaluate_ope,
    evaluate_sequence,
    got10k_scores,
    overlap_ratio,
    repair_predictions,
)
from vlt_mini.evaluation.published import ABLATIONS, TABLE2, format_leaderboard, leaderboard, published
from vlt_mini.evaluation.report import evaluate_trackers, format_table, read_tracker_results, run_evaluate

__all__ = [
    "ABLATIONS",
    "GOT10kScores",
    "NORM_PRECISION_THRESHOLDS",
    "OPEResult",
    "PRECISION_THRESHOLDS",
    "SUCCESS_THRESHOLDS",
    "TABLE2",
    "center_error",
    "evaluate_ope",
    "evaluate_sequence",
    "evaluate_trackers",
    "format_leaderboard",
    "format_table",
    "got10k_scores",
    "leaderboard",
    "overlap_ratio",
    "published",
    "read_tracker_results",
    "repair_predictions",
    "run_evaluate",
]
