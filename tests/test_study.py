"""``vlt-mini study``: arms, paired comparisons with the paper's differences, subsets, the command end to end at tiny."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from vlt_mini.cli import main
from vlt_mini.evaluation.statistics import COMPARISON_COLUMNS
from vlt_mini.experiments.study import ARMS, compare_arms, comparisons, format_study, parse_seeds, video_subsets


def _scores(values: np.ndarray) -> dict:
    return {(seed, f"v{video}"): float(values[seed, video]) for seed in range(values.shape[0])
            for video in range(values.shape[1])}


def test_paper_differences_come_from_the_published_tables():
    by_name = {c.name: c for c in comparisons()}
    assert by_name["VLT-mini - SiamCAR (vision only, same paths)"].paper_delta == pytest.approx(65.2 - 52.1)
    assert by_name["VLT-mini: own sentence - no sentence"].paper_delta == pytest.approx(65.2 - 50.8)
    arm_names = {arm.name for arm in ARMS}
    assert all(c.a in arm_names and c.b in arm_names for c in comparisons())
    assert len({arm.slug for arm in ARMS}) == len(ARMS)


def test_compare_arms_reads_the_interval_and_breaks_down_subsets():
    rng = np.random.default_rng(0)
    base = rng.normal(40, 10, size=(5, 12))
    scores = {"VLT-mini": _scores(base + 6 + rng.normal(0, 1, base.shape)), "SiamCAR": _scores(base),
              "VLT-mini, no sentence": _scores(base + 6 + rng.normal(0, 1, base.shape)), "MIL": _scores(base - 20)}
    subsets = {"poor first frame": ["v0", "v1", "v2"], "near-twin present": ["v3", "v4"], "neither": []}
    rows = compare_arms(scores, subsets, resamples=1000)
    by_name = {row["comparison"]: row for row in rows}
    headline = by_name["VLT-mini - SiamCAR (vision only, same paths)"]
    assert headline["verdict"] == "reproduces" and 4 < headline["delta"] < 8 and headline["videos"] == 12
    assert by_name["VLT-mini - SiamCAR (vision only, same paths) [poor first frame]"]["videos"] == 3
    assert not any("[neither]" in name for name in by_name)                     # an empty subset is left out
    assert by_name["VLT-mini: own sentence - no sentence"]["verdict"] == "inconclusive"
    assert by_name["VLT-mini - MIL"]["paper_delta"] == "" and by_name["VLT-mini - MIL"]["verdict"] == "reproduces"
    assert not any("another video" in name for name in by_name)                # that arm was not scored
    assert set(rows[0]) == set(COMPARISON_COLUMNS)


@pytest.mark.parametrize("text, expected", [("0-4", [0, 1, 2, 3, 4]), ("0,2,5", [0, 2, 5]), ("3", [3])])
def test_parse_seeds(text, expected):
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["", "a", "1,1", "-1", "0-x"])
def test_parse_seeds_refuses_bad_input(text):
    with pytest.raises(ValueError, match="--seeds"):
        parse_seeds(text)


def test_bad_seeds_exit_with_a_message_before_any_work(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["study", "--out", str(out), "--profile", "tiny", "--seeds", "2,2"]) == 2
    assert "--seeds" in capsys.readouterr().err and not out.exists()


@pytest.mark.slow
def test_study_end_to_end_at_tiny(tmp_path, tiny_mini_lasot, capsys):
    from vlt_mini.data import open_dataset

    out = tmp_path / "study"
    arguments = ["study", "--out", str(out), "--profile", "tiny", "--root", str(tiny_mini_lasot), "--seeds", "0",
                 "--no-progress", "--resamples", "200"]
    assert main(arguments) == 0
    summary = json.loads((out / "test" / "study.json").read_text())
    assert {run["arm"] for run in summary["runs"]} == {arm.name for arm in ARMS}
    rows = list(csv.DictReader(io.StringIO((out / "test" / "comparisons.csv").read_text())))
    assert tuple(rows[0]) == COMPARISON_COLUMNS
    assert {row["comparison"] for row in rows} >= {c.name for c in comparisons()}
    assert all(row["seeds"] == "1" for row in rows)
    assert (out / "test" / "study.md").read_text() == format_study(summary)
    assert (out / "test" / "comparisons.png").read_bytes()[:4] == b"\x89PNG"
    subsets = video_subsets(open_dataset("mini-lasot", tiny_mini_lasot, "test"))
    assert sum(map(len, subsets.values())) >= len(open_dataset("mini-lasot", tiny_mini_lasot, "test"))
    # a second call reuses every training and results folder: nothing is trained or tracked again
    stamps = {path: path.stat().st_mtime_ns for path in out.rglob("*.txt")}
    assert main(arguments) == 0
    assert stamps == {path: path.stat().st_mtime_ns for path in out.rglob("*.txt")}


def test_unknown_arm_exits_with_the_choices(tmp_path, capsys):
    assert main(["study", "--out", str(tmp_path / "s"), "--profile", "tiny", "--arms", "vlt-mini,nope"]) == 2
    error = capsys.readouterr().err
    assert "--arms: unknown nope" in error and "vlt-mini-no-sentence" in error and not (tmp_path / "s").exists()
