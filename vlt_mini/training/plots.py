"""Loss curves from a training metrics log (``metrics.jsonl``): the loss parts and the learning rate per iteration.

Figures are ``matplotlib.figure.Figure`` objects (no pyplot state): they work headless and display in notebooks.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable

from matplotlib.figure import Figure

from vlt_mini.io import atomic_write_bytes
from vlt_mini.training.metrics import read_metrics


def loss_curves_figure(runs: dict[str, list[dict]] | list[dict], parts: Iterable[str] = ("total", "cls", "box", "cen")
                       ) -> Figure:
    """One panel per loss part (and one for the learning rate), one line per run (``{name: rows}``)."""
    runs = {"": runs} if isinstance(runs, list) else runs
    parts = list(parts) + ["lr"]
    figure = Figure(figsize=(3.2 * len(parts), 3.0), layout="constrained")
    axes = figure.subplots(1, len(parts))
    for axis, part in zip(axes, parts):
        for name, rows in runs.items():
            axis.plot([r["iteration"] for r in rows], [r[part] for r in rows], label=name or None)
        axis.set_title("learning rate" if part == "lr" else f"{part} loss")
        axis.set_xlabel("iteration")
        if part == "lr":
            axis.set_yscale("log")
        if len(runs) > 1:
            axis.legend(fontsize=8)
    return figure


def plot_loss_curves(metrics_path: str | Path, out_path: str | Path) -> Path:
    """Write the loss curves of one metrics log as a PNG (atomically)."""
    figure = loss_curves_figure(read_metrics(metrics_path))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    atomic_write_bytes(out_path, buffer.getvalue())
    return Path(out_path)
