"""Plots in the style of the LaSOT toolkit (``utils/plot_draw_save.m``): success and precision plots of OPE with the
legend sorted by score (labelled ``SiamRPN++ [49.6]``: the score in percent, as the tables; the toolkit writes
``[0.496] SiamRPN++``), a normalised precision plot, a per-attribute chart and the
paper's Table 2 leaderboard as bars.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so they work headless (Agg) and display in
notebooks. Every function takes the ``scores`` dict of ``report.evaluate_trackers``.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from vlt_mini.data.sequence import LASOT_ATTRIBUTE_NAMES, LASOT_ATTRIBUTES
from vlt_mini.evaluation.ope import NORM_PRECISION_THRESHOLDS, PRECISION_THRESHOLDS, SUCCESS_THRESHOLDS
from vlt_mini.evaluation.published import TABLE2, leaderboard

# The toolkit cycles through distinct colours and solid / dashed lines so that many trackers stay readable.
_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f")
_STYLES = ("-", "--", "-.", ":")

PLOT_KINDS = {
    # kind: (curve key, score key, thresholds, title, x label, y label, legend location)
    "success": ("success_curve", "suc", SUCCESS_THRESHOLDS, "Success plots of OPE", "Overlap threshold",
                "Success rate", "lower left"),
    "precision": ("precision_curve", "prec", PRECISION_THRESHOLDS, "Precision plots of OPE",
                  "Location error threshold", "Precision", "lower right"),
    "norm_precision": ("norm_precision_curve", "norm_prec", NORM_PRECISION_THRESHOLDS,
                       "Normalized Precision plots of OPE", "Location error threshold (normalized)",
                       "Normalized Precision", "lower right"),
}


def _style(index: int) -> dict:
    return {"color": _COLORS[index % len(_COLORS)], "linestyle": _STYLES[(index // len(_COLORS)) % len(_STYLES)]}


def _ranked(scores: dict, key: str) -> list[tuple[str, dict]]:
    return sorted(scores["trackers"].items(), key=lambda item: -item[1][key])


def draw_curves(ax, scores: dict, kind: str = "success") -> None:
    """One OPE plot on ``ax``: ``kind`` is ``success``, ``precision`` or ``norm_precision``."""
    curve_key, score_key, thresholds, title, x_label, y_label, legend_location = PLOT_KINDS[kind]
    # Colours follow the tracker order in ``scores`` so that a tracker keeps its colour across the plots.
    colour_index = {name: i for i, name in enumerate(scores["trackers"])}
    for name, result in _ranked(scores, score_key):
        ax.plot(thresholds, np.asarray(result[curve_key]) / 100, linewidth=2, **_style(colour_index[name]),
                label=f"{name} [{result[score_key]:.1f}]")
    ax.set_title(f"{title} on {scores.get('title', '')}".strip(), fontsize=11)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_xlim(thresholds[0], thresholds[-1])
    ax.set_ylim(0, 1)
    ax.grid(True, linestyle=":", alpha=0.6)
    ax.legend(loc=legend_location, fontsize=8, framealpha=0.9)


def ope_figure(scores: dict, kinds=("success", "precision", "norm_precision")) -> Figure:
    """Side-by-side OPE plots (success, precision and normalised precision by default)."""
    figure = Figure(figsize=(5.2 * len(kinds), 4.6), layout="constrained")
    for ax, kind in zip(figure.subplots(1, len(kinds), squeeze=False)[0], kinds):
        draw_curves(ax, scores, kind)
    return figure


def attribute_figure(scores: dict) -> Figure:
    """Per-attribute SUC of every tracker as a radar chart (one axis per attribute, ``IV (n)``)."""
    attributes = [name for name in LASOT_ATTRIBUTES
                  if any(name in result["per_attribute"] for result in scores["trackers"].values())]
    figure = Figure(figsize=(10, 8.5))
    ax = figure.add_axes((0.17, 0.08, 0.66, 0.78), projection="polar")  # room for the spoke labels
    if len(attributes) < 3:
        ax.set_axis_off()
        figure.suptitle(f"Too few attributes for an attribute chart on {scores.get('title', '')}")
        return figure
    angles = np.linspace(0, 2 * np.pi, len(attributes), endpoint=False)
    closed = np.append(angles, angles[:1])
    colour_index = {name: i for i, name in enumerate(scores["trackers"])}
    top = 0.0
    for name, result in _ranked(scores, "suc"):
        values = np.array([result["per_attribute"].get(a, np.nan) for a in attributes])
        top = max(top, np.nanmax(values) if np.isfinite(values).any() else 0.0)
        ax.plot(closed, np.append(values, values[:1]), linewidth=2, **_style(colour_index[name]),
                label=f"{name} [SUC {result['suc']:.1f}]")
    counts = _attribute_counts(scores, attributes)
    ax.set_xticks(angles)
    ax.set_xticklabels([f"{LASOT_ATTRIBUTE_NAMES.get(a, a)}\n{a} ({counts[a]})" if counts[a] else a
                        for a in attributes], fontsize=8)
    ax.set_ylim(0, max(10.0, np.ceil(top / 10) * 10))
    ax.set_rlabel_position(180 / len(attributes))  # radial labels between the first two spokes
    ax.set_title(f"SUC per attribute on {scores.get('title', '')}\n"
                 "(number of videos with the attribute in brackets)", fontsize=11, pad=28)
    ax.tick_params(axis="x", pad=10)
    figure.legend(loc="upper left", bbox_to_anchor=(0.01, 0.99), fontsize=8)
    return figure


def _attribute_counts(scores: dict, attributes: list[str]) -> dict[str, int]:
    """How many videos carry each attribute, if the scores say (they hold per-attribute means only)."""
    counts = scores.get("attribute_counts", {})
    return {a: int(counts.get(a, 0)) for a in attributes}


def leaderboard_figure(scores: dict) -> Figure:
    """Table 2's LaSOT SUC as horizontal bars with the trackers evaluated here highlighted."""
    entries = leaderboard(scores, TABLE2)
    type_colours = {"CNN": "#d9d9d9", "CNN-VL": "#9ecae1", "Transformer": "#969696", "Transformer-VL": "#3182bd"}
    figure = Figure(figsize=(7.5, 0.32 * len(entries) + 1.5), layout="constrained")
    ax = figure.add_subplot()
    positions = np.arange(len(entries))[::-1]
    colours = ["#d62728" if e.ours else type_colours.get(e.type, "#bdbdbd") for e in entries]
    ax.barh(positions, [e.suc for e in entries], color=colours, edgecolor="black", linewidth=0.4)
    for position, entry in zip(positions, entries):
        ax.text(entry.suc + 0.4, position, f"{entry.suc:.1f}", va="center", fontsize=8,
                fontweight="bold" if entry.ours else "normal")
    ax.set_yticks(positions)
    ax.set_yticklabels([f"{e.method} *" if e.ours else e.method for e in entries], fontsize=8)
    ax.set_xlabel("LaSOT SUC (%)")
    ax.set_xlim(0, max(e.suc for e in entries) + 8)
    ax.set_title("LaSOT: the paper's Table 2 (published) and trackers evaluated here (*, red)", fontsize=10)
    handles = [ax.bar(0, 0, color=c, label=t) for t, c in type_colours.items()]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    return figure


def figure_png(figure: Figure, dpi: int = 120) -> bytes:
    """The figure as PNG bytes (rendered with Agg, whatever the session's backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_paths(plot_out: str | Path) -> dict[str, Path]:
    """Where ``--plot OUT.png`` puts each figure: OUT.png, OUT_attributes.png, OUT_leaderboard.png."""
    plot_out = Path(plot_out)
    if plot_out.suffix.lower() != ".png":
        raise ValueError(f"--plot needs a .png file name, got {plot_out}")
    stem = plot_out.with_suffix("")
    return {"ope": plot_out, "attributes": Path(f"{stem}_attributes.png"),
            "leaderboard": Path(f"{stem}_leaderboard.png")}


def render_evaluation_plots(scores: dict, plot_out: str | Path, leaderboard: bool = False) -> dict[Path, bytes]:
    """All plots of one evaluation as ``{path: PNG bytes}``, not yet written (the caller writes them atomically)."""
    paths = plot_paths(plot_out)
    rendered = {paths["ope"]: figure_png(ope_figure(scores))}
    if any(result["per_attribute"] for result in scores["trackers"].values()):
        rendered[paths["attributes"]] = figure_png(attribute_figure(scores))
    if leaderboard:
        rendered[paths["leaderboard"]] = figure_png(leaderboard_figure(scores))
    return rendered


