"""Scoring results folders on a dataset: loading, OPE per tracker, the printed table, JSON and plots.

A results folder is named after its tracker and holds one ``<sequence>.txt`` per video (x, y, w, h per line,
separated by commas, tabs or spaces), as the LaSOT toolkit and pytracking write them; other files in it (other splits,
``<sequence>_time.txt``) are ignored. Everything is read and scored before anything is written: bad input raises an
error naming the file (and line), and then no JSON or plot exists from this run.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES
from vlt_mini.data.textio import DataFormatError, map_in_order, read_boxes
from vlt_mini.evaluation.ope import (
    NORM_PRECISION_THRESHOLDS,
    PRECISION_THRESHOLDS,
    SUCCESS_THRESHOLDS,
    evaluate_ope,
    got10k_scores,
)

DATASET_TITLES = {"lasot": "LaSOT", "mini-lasot": "mini-LaSOT", "tnl2k": "TNL2K", "otb": "OTB",
                  "otb99-lang": "OTB99-LANG", "got10k": "GOT-10k"}
SPLIT_TITLES = {"test": "Testing Set", "train": "Training Set", "val": "Validation Set", "all": "(all videos)"}


def dataset_title(name: str, split: str) -> str:
    """``"LaSOT Testing Set"`` -- the wording of the LaSOT toolkit's plot titles."""
    return f"{DATASET_TITLES.get(name, name)} {SPLIT_TITLES.get(split, split + ' split')}"


def read_tracker_results(results_dir: str | Path, dataset: Dataset) -> list[np.ndarray]:
    """Every sequence's predicted boxes from ``results_dir/<sequence>.txt``, checked against the ground truth.

    A missing file, a non-numeric line or fewer boxes than ground-truth frames is an error naming the file; extra
    boxes are allowed (the toolkit truncates them).
    """
    from vlt_mini.tracking.provenance import check_results_provenance

    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise FileNotFoundError(f"results folder not found: {results_dir}")
    check_results_provenance(results_dir, dataset.name)  # tracked on another dataset: refused
    missing = [s.name for s in dataset if not (results_dir / f"{s.name}.txt").is_file()]
    if missing:
        raise FileNotFoundError(
            f"results file not found: {results_dir / (missing[0] + '.txt')} "
            f"({len(missing)} of the {len(dataset)} {dataset.name} {dataset.split} sequences have no results in "
            f"{results_dir}; expected one <sequence>.txt per video)"
        )
    predictions = []
    paths = [results_dir / f"{sequence.name}.txt" for sequence in dataset]
    for sequence, path, boxes in zip(dataset, paths, map_in_order(lambda path: read_boxes(path, "results"), paths)):
        if len(boxes) < len(sequence):
            raise DataFormatError(
                f"{path}: {len(boxes)} boxes but sequence {sequence.name} has {len(sequence)} frames "
                "(a results file needs one box per frame)"
            )
        predictions.append(boxes)
    return predictions


def score_tracker(dataset: Dataset, predictions: list[np.ndarray]) -> dict:
    """The JSON-ready scores (percent) of one tracker's predictions on ``dataset``."""
    sequences = list(dataset)
    result = evaluate_ope(predictions, [s.ground_truth for s in sequences], [s.visible for s in sequences],
                          [s.name for s in sequences], [s.attributes for s in sequences])
    got10k = got10k_scores(predictions, [s.ground_truth for s in sequences],
                           [s.cover if s.cover is not None else s.visible.astype(np.int64) for s in sequences])
    attribute_names = [name for name in LASOT_ATTRIBUTES if any(name in s.attributes for s in sequences)]
    per_sequence = {
        name: {"suc": float(suc), "prec": float(prec), "norm_prec": float(norm_prec)}
        for name, suc, prec, norm_prec in zip(result.names, result.sequence_suc, result.sequence_prec,
                                              result.sequence_norm_prec)
    }
    return {
        "suc": result.suc,
        "prec": result.prec,
        "norm_prec": result.norm_prec,
        "ao": got10k.ao,
        "sr_50": got10k.sr_50,
        "sr_75": got10k.sr_75,
        "num_sequences": len(sequences),
        "num_frames": int(result.lengths.sum()),
        "success_curve": (result.success.mean(axis=0) * 100).tolist(),
        "precision_curve": (result.precision.mean(axis=0) * 100).tolist(),
        "norm_precision_curve": (result.norm_precision.mean(axis=0) * 100).tolist(),
        "per_sequence": per_sequence,
        "per_attribute": result.attribute_suc(attribute_names),
    }


def evaluate_trackers(dataset: Dataset, results_dirs) -> dict:
    """Score every results folder (named after its tracker) on ``dataset``; see the module docstring for the format.

    Returns ``{"dataset", "split", "title", "attribute_counts", "thresholds", "trackers": {name: scores}}``,
    scores in percent.
    """
    results_dirs = [Path(d) for d in ([results_dirs] if isinstance(results_dirs, (str, Path)) else results_dirs)]
    if not results_dirs:
        raise ValueError("no results folders given")
    trackers: dict[str, dict] = {}
    seen: dict[str, Path] = {}
    for results_dir in results_dirs:
        name = results_dir.resolve().name
        if name in seen:
            raise ValueError(f"two results folders for tracker {name!r}: {seen[name]} and {results_dir} "
                             "(each folder is named after its tracker)")
        seen[name] = results_dir
        trackers[name] = score_tracker(dataset, read_tracker_results(results_dir, dataset))
    return {
        "dataset": dataset.name,
        "split": dataset.split,
        "title": dataset_title(dataset.name, dataset.split),
        "attribute_counts": {name: int(sum(bool(s.attributes.get(name, False)) for s in dataset))
                             for name in LASOT_ATTRIBUTES if any(name in s.attributes for s in dataset)},
        "thresholds": {"success": SUCCESS_THRESHOLDS.tolist(), "precision": PRECISION_THRESHOLDS.tolist(),
                       "norm_precision": NORM_PRECISION_THRESHOLDS.tolist()},
        "trackers": trackers,
    }


def format_table(scores: dict) -> str:
    """The results table: tracker, SUC, P_norm, P, AO, videos; best SUC first."""
    rows = sorted(scores["trackers"].items(), key=lambda item: -item[1]["suc"])
    width = max([len(name) for name, _ in rows] + [7]) + 2
    lines = [
        f"One-pass evaluation on {scores.get('title', scores.get('dataset', ''))} (LaSOT toolkit rules; percent)",
        f"{'tracker':<{width}}{'SUC':>7}{'P_norm':>8}{'P':>7}{'AO':>7}{'#seq':>6}",
    ]
    for name, result in rows:
        lines.append(f"{name:<{width}}{result['suc']:>7.2f}{result['norm_prec']:>8.2f}{result['prec']:>7.2f}"
                     f"{result['ao']:>7.2f}{result['num_sequences']:>6d}")
    return "\n".join(lines)


def _json_safe(value):
    """NaN / inf become null so that the file is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    return value


def run_evaluate(dataset_name: str, root, results_dirs, split: str = "test", json_out=None, plot_out=None,
                 leaderboard: bool = True) -> dict:
    """``vlt-mini evaluate``: open the dataset, score the results folders, print the table (and, for LaSOT, the
    paper's leaderboard), then write the JSON and the plots. ``plot_out=OUT.png`` writes the success / precision /
    normalised-precision figure to OUT.png, the attribute chart to OUT_attributes.png and, for LaSOT, the
    leaderboard chart to OUT_leaderboard.png. Returns the scores."""
    from vlt_mini.data.registry import open_dataset
    from vlt_mini.io import atomic_write_bytes

    if plot_out is not None:
        from vlt_mini.evaluation.plots import plot_paths

        plot_paths(plot_out)  # a bad --plot name fails before the work
    dataset = open_dataset(dataset_name, root, split)
    scores = evaluate_trackers(dataset, results_dirs)
    on_lasot = dataset_name == "lasot"

    # Render everything in memory first: a failure here leaves no file behind.
    outputs: dict[Path, bytes] = {}
    if json_out is not None:
        outputs[Path(json_out)] = json.dumps(_json_safe(scores), indent=1).encode("utf-8")
    if plot_out is not None:
        from vlt_mini.evaluation.plots import render_evaluation_plots

        outputs.update(render_evaluation_plots(scores, plot_out, leaderboard=on_lasot and leaderboard))

    print(format_table(scores))
    if on_lasot and leaderboard:
        from vlt_mini.evaluation.published import format_leaderboard

        print()
        print(format_leaderboard(scores))
    for path, data in outputs.items():
        atomic_write_bytes(path, data)
        print(f"wrote {path}")
    return scores
