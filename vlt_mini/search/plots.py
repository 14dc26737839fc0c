"""A searched VLT candidate drawn like the paper's Table 1: the op of every layer of each branch, colour-coded.

One panel per candidate, four rows: the template path (φ_t, 20 choice layers), the search path (φ_s, 20 layers), and
the ModaMixer block of each stage for the template and the search branch (φ_m, one cell spanning the stage's layers,
since the mixer works on that stage's output). The cells carry the op's short name (S3 / S5 / S7 = Shuffle 3×3 / 5×5 /
7×7, X = Xception, as ``Candidate.table()``); the Shuffle kernels share a blue ramp (darker = larger kernel) and
Xception is orange. Every cell is a ``Rectangle`` with ``gid="gene<i>"``, ``i`` its index in ``Candidate.genes``.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Mapping

from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from vlt_mini.io import atomic_write_bytes
from vlt_mini.models.candidate import Candidate
from vlt_mini.models.choice_blocks import CHOICE_NAMES
from vlt_mini.models.supernet import NUM_CHOICE_LAYERS, STAGE_LAYER_RANGES

OP_SHORT_NAMES = ("S3", "S5", "S7", "X")
OP_COLOURS = ("#c6dbef", "#6baed6", "#08519c", "#fd8d3c")  # Shuffle 3×3 / 5×5 / 7×7 (light -> dark blue), Xception
ROW_NAMES = ("template path", "search path", "template ModaMixer", "search ModaMixer")


def _text_colour(face: str) -> str:
    red, green, blue = to_rgb(face)
    return "white" if 0.299 * red + 0.587 * green + 0.114 * blue < 0.5 else "black"


def candidate_cells(candidate: Candidate) -> list[tuple[int, float, float, int]]:
    """``(row, x, width, op)`` of every cell, in the order of ``candidate.genes`` (x in layers, from 0)."""
    cells = [(0, layer, 1.0, op) for layer, op in enumerate(candidate.template_path)]
    cells += [(1, layer, 1.0, op) for layer, op in enumerate(candidate.search_path)]
    for row, ops in ((2, candidate.template_mixer), (3, candidate.search_mixer)):
        cells += [(row, start, stop - start, op) for (start, stop), op in zip(STAGE_LAYER_RANGES, ops)]
    return cells


def draw_candidate(axis, candidate: Candidate, title: str = "") -> None:
    """One candidate on ``axis``: four rows of coloured cells with op names, stage boundaries, layer numbers."""
    for index, (row, x, width, op) in enumerate(candidate_cells(candidate)):
        axis.add_patch(Rectangle((x, row), width, 1.0, facecolor=OP_COLOURS[op], edgecolor="white", linewidth=1.5,
                                 gid=f"gene{index}"))
        axis.text(x + width / 2, row + 0.5, OP_SHORT_NAMES[op], ha="center", va="center", fontsize=8,
                  color=_text_colour(OP_COLOURS[op]))
    for start, _ in STAGE_LAYER_RANGES[1:]:
        axis.axvline(start, color="black", linewidth=1.2)
    axis.axhline(2, color="black", linewidth=1.2)  # backbone paths above, ModaMixer blocks below
    axis.set_xlim(0, NUM_CHOICE_LAYERS)
    axis.set_ylim(len(ROW_NAMES), 0)  # first row on top
    axis.set_yticks([row + 0.5 for row in range(len(ROW_NAMES))], ROW_NAMES, fontsize=8)
    axis.xaxis.tick_top()
    axis.set_xticks([layer + 0.5 for layer in range(NUM_CHOICE_LAYERS)],
                    [str(layer + 1) for layer in range(NUM_CHOICE_LAYERS)], fontsize=7)
    axis.tick_params(length=0)
    axis.grid(False)
    for spine in axis.spines.values():
        spine.set_visible(False)
    secondary = axis.secondary_xaxis("bottom")
    secondary.set_xticks([(start + stop) / 2 for start, stop in STAGE_LAYER_RANGES],
                         [f"stage {stage}" for stage in range(1, len(STAGE_LAYER_RANGES) + 1)], fontsize=8)
    secondary.tick_params(length=0)
    for spine in secondary.spines.values():
        spine.set_visible(False)
    differ_layers = sum(t != s for t, s in zip(candidate.template_path, candidate.search_path))
    differ_mixers = sum(t != s for t, s in zip(candidate.template_mixer, candidate.search_mixer))
    summary = (f"template and search differ in {differ_layers} of {NUM_CHOICE_LAYERS} layers and "
               f"{differ_mixers} of {len(STAGE_LAYER_RANGES)} ModaMixer blocks")
    axis.set_title(f"{title}\n{summary}" if title else summary, fontsize=9, loc="left")


def candidate_figure(candidates: Candidate | Mapping[str, Candidate], out_path: str | Path | None = None) -> Figure:
    """One panel per candidate (``{title: candidate}``, or a single candidate) and a legend of the four ops; written
    as a PNG (atomically) when ``out_path`` is given."""
    if isinstance(candidates, Candidate):
        candidates = {"": candidates}
    if not isinstance(candidates, Mapping) or not candidates:
        raise ValueError("candidate_figure needs a Candidate or a non-empty {title: Candidate} mapping")
    wrong = [title for title, candidate in candidates.items() if not isinstance(candidate, Candidate)]
    if wrong:
        raise TypeError(f"candidate_figure: not a Candidate: {wrong} (load files with Candidate.load)")
    figure = Figure(figsize=(11.0, 2.3 * len(candidates) + 0.5), layout="constrained")
    axes = figure.subplots(len(candidates), 1, squeeze=False)[:, 0]
    for axis, (title, candidate) in zip(axes, candidates.items()):
        draw_candidate(axis, candidate, title)
    figure.legend(handles=[Patch(facecolor=colour, label=f"{short} = {name}")
                           for short, name, colour in zip(OP_SHORT_NAMES, CHOICE_NAMES, OP_COLOURS)],
                  loc="outside lower center", ncols=len(CHOICE_NAMES), fontsize=8, frameon=False)
    if out_path is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        atomic_write_bytes(out_path, buffer.getvalue())
    return figure
