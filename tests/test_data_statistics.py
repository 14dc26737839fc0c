"""Dataset statistics and ``vlt-mini data compare``: numbers checked on hand-made videos, the table, the figure."""
from __future__ import annotations

import numpy as np
import pytest

from vlt_mini.cli import main
from vlt_mini.data.registry import Dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES, Sequence
from vlt_mini.data.statistics import comparison_figure, comparison_table, measure_dataset, parse_reference


def _video(name, steps, absent=(), grow=1.0, sentence="red ball rolling to the right"):
    """A 20 x 10 box moving ``steps`` pixels right per frame, its size times ``grow`` per frame."""
    n = len(steps) + 1
    x = 50 + np.concatenate([[0], np.cumsum(steps)])
    w, h = 20 * grow ** np.arange(n), 10 * grow ** np.arange(n)
    boxes = np.stack([x - w / 2, np.full(n, 40.0) - h / 2, w, h], axis=1)
    visible = np.ones(n, bool)
    visible[list(absent)] = False
    boxes[~visible] = 0
    attributes = {name: name in ("OV", "FM") for name in LASOT_ATTRIBUTES}
    return Sequence(name, [], boxes, visible, sentence=sentence, attributes=attributes, dataset="toy")


def test_statistics_measure_what_the_boxes_say():
    size = np.sqrt(20 * 10)
    still = _video("a", [0.0] * 9)
    moving = _video("b", [size * 0.1] * 19, absent=(5, 6, 12), sentence="blue striped car")
    growing = _video("c", [0.0] * 9, grow=1.05)
    stats = measure_dataset(Dataset("toy", "test", "/nowhere", [still, moving, growing]))
    assert stats.videos == 3 and stats.lengths.tolist() == [10, 20, 10]
    assert np.isclose(np.median(stats.video_motion[1]), 0.1)
    assert np.allclose(np.sort(stats.motion)[-1], 0.1) and np.isclose(np.median(stats.motion), 0.0)
    assert sorted(stats.absent_runs.tolist()) == [1, 2]
    assert np.isclose(stats.absent_fraction[1], 3 / 20)
    assert np.allclose(stats.scale_change[-9:], np.log(1.05))  # the growing video comes last
    assert np.allclose(stats.aspect_change, 0.0)
    assert stats.relative_size is None and any("relative target size skipped" in note for note in stats.notes)
    assert stats.attributes["OV"] == 1.0 and stats.attributes["IV"] == 0.0
    assert stats.sentence_words.tolist() == [6, 3, 6] and "striped" in stats.vocabulary
    table = comparison_table([stats, measure_dataset(Dataset("toy", "test", "/", [moving]), "only b")])
    assert table.splitlines()[0] == "| statistic | toy test | only b |"
    assert "| mean fraction of absent frames | 0.050 | 0.150 |" in table
    assert "| absence runs per 1000 frames | 50.00 | 100.00 |" in table
    text = comparison_table([stats], markdown=False)
    assert "median video length (frames)" in text and "|" not in text.splitlines()[1]
    figure = comparison_figure([stats])
    assert len(figure.axes) == 8


def test_reference_argument_is_checked():
    assert parse_reference("lasot:/data/LaSOT") == ("lasot", "/data/LaSOT")
    assert parse_reference("lasot") == ("lasot", None)
    with pytest.raises(ValueError, match="NAME:ROOT"):
        parse_reference("imagenet:/x")


@pytest.mark.slow
def test_compare_command_on_mini_lasot(tiny_mini_lasot, tmp_path, capsys):
    plot = tmp_path / "compare.png"
    code = main(["data", "compare", "--dataset", "mini-lasot", "--root", str(tiny_mini_lasot), "--split", "train",
                 "--reference", f"mini-lasot:{tiny_mini_lasot}", "--reference-split", "test", "--plot", str(plot)])
    out = capsys.readouterr().out
    assert code == 0 and plot.stat().st_size > 10_000
    assert "| statistic | mini-lasot train | mini-lasot test |" in out
    assert "median relative target size" in out and "n/a (no frames)" not in out  # frames are there
    # mini-LaSOT v2 moves at LaSOT's pace (median motion about 2 % of the size per frame; v1: 13 %)
    stats = measure_dataset(__import__("vlt_mini.data", fromlist=["open_dataset"]).open_dataset(
        "mini-lasot", tiny_mini_lasot, "all"))
    assert 0.005 < np.median(stats.motion) < 0.08
    assert main(["data", "compare", "--dataset", "mini-lasot", "--root", str(tiny_mini_lasot),
                 "--reference", "imagenet:/x"]) == 2


def test_compare_with_real_lasot_annotations(shared_dir, tiny_mini_lasot, capsys):
    """The toolkit layout has no frames: relative size is skipped with a note; the rest is measured."""
    root = shared_dir / "data" / "lasot_test_annos"
    if not root.is_dir():
        pytest.skip(f"{root} not found")
    assert main(["data", "compare", "--dataset", "mini-lasot", "--root", str(tiny_mini_lasot),
                 "--reference", f"lasot:{root}"]) == 0
    out = capsys.readouterr().out
    assert "| videos | 4 | 280 |" in out
    assert "note (lasot test): relative target size skipped" in out
