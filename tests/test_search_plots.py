"""The Table-1 drawing of a candidate: one cell per gene, in the colour of its op, with the op's name, in its place."""
from __future__ import annotations

import pytest
from matplotlib.colors import to_rgba

from vlt_mini.models.candidate import NUM_GENES, VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.search.plots import OP_COLOURS, OP_SHORT_NAMES, candidate_cells, candidate_figure


def cells_of(axis) -> dict[int, object]:
    return {int(p.get_gid()[4:]): p for p in axis.patches if (p.get_gid() or "").startswith("gene")}


def test_every_gene_is_a_cell_coloured_and_named_by_its_op():
    candidates = {"official": VLT_SCAR_CANDIDATE, "random": Candidate.sample(7)}
    figure = candidate_figure(candidates)
    axes = [axis for axis in figure.axes if axis.patches]
    assert len(axes) == 2
    for axis, (title, candidate) in zip(axes, candidates.items()):
        assert axis.get_title(loc="left").startswith(title)
        cells = cells_of(axis)
        assert sorted(cells) == list(range(NUM_GENES))
        labels = {(round(t.get_position()[0], 3), round(t.get_position()[1], 3)): t.get_text() for t in axis.texts}
        for index, op in enumerate(candidate.genes):
            cell = cells[index]
            assert cell.get_facecolor() == to_rgba(OP_COLOURS[op])
            centre = (round(cell.get_x() + cell.get_width() / 2, 3), round(cell.get_y() + cell.get_height() / 2, 3))
            assert labels[centre] == OP_SHORT_NAMES[op]


def test_cells_are_in_their_rows_and_the_mixers_span_their_stage():
    cells = candidate_cells(VLT_SCAR_CANDIDATE)
    assert [row for row, *_ in cells] == [0] * 20 + [1] * 20 + [2] * 4 + [3] * 4
    assert [(x, width) for row, x, width, _ in cells if row == 2] == [(0, 4), (4, 4), (8, 8), (16, 4)]
    assert [op for *_, op in cells] == list(VLT_SCAR_CANDIDATE.genes)
    # the summary counts the asymmetry: the official paths differ in 16 layers, the mixers in none
    title = candidate_figure(VLT_SCAR_CANDIDATE).axes[0].get_title(loc="left")
    assert "16 of 20 layers" in title and "0 of 4 ModaMixer" in title
    symmetric = candidate_figure(Candidate.symmetric([1] * 20, [2, 2, 2, 2])).axes[0].get_title(loc="left")
    assert "0 of 20 layers" in symmetric


def test_png_written_and_bad_input_refused(tmp_path):
    out = tmp_path / "plots" / "candidate.png"
    candidate_figure(VLT_SCAR_CANDIDATE, out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="non-empty"):
        candidate_figure({})
    with pytest.raises(TypeError, match="not a Candidate.*'mine'"):
        candidate_figure({"mine": [0] * NUM_GENES})
