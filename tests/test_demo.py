"""The main job: ``vlt-mini demo`` end to end at a tiny scale (two training iterations per network)."""
import json

import pytest

from vlt_mini.cli import main as cli_main
from vlt_mini.experiments.demo import run_demo, schedule_overrides


def test_schedule_overrides_shorten_the_recipe():
    assert schedule_overrides("cpu", None) == []
    assert schedule_overrides("cpu", 400) == ["train.epochs=4"]  # 100 iterations of 16 pairs per cpu epoch
    assert schedule_overrides("cpu", 30) == ["pairs.samples_per_epoch=480", "train.epochs=1"]


def test_demo_trains_side_by_side_tracks_evaluates_and_reuses(tmp_path, capsys):
    out = tmp_path / "demo"
    scores = run_demo(out, profile="tiny", progress=False, iterations=2, parallel=True)
    assert set(scores["trackers"]) == {"VLT-mini", "SiamCAR", "mil"}
    work = out / "tiny-2it-seed0"
    for name in ("VLT-mini", "SiamCAR"):
        summary = json.loads((work / "train" / name / "train_summary.json").read_text())
        assert summary["finished"] and summary["last"]["iteration"] == 2
    report = (out / "report.md").read_text()
    assert "| VLT-mini |" in report and "| mil |" in report and "2 iterations of 8 pairs" in report
    assert (out / "success.png").is_file() and list(out.glob("*.gif"))
    final = work / "train" / "VLT-mini" / "model_final.pt"
    stamp = final.stat().st_mtime_ns
    capsys.readouterr()
    assert cli_main(["demo", "--out", str(out), "--profile", "tiny", "--iterations", "2", "--sequential",
                     "--no-progress"]) == 0
    assert final.stat().st_mtime_ns == stamp  # finished training runs and tracked videos are reused


def test_demo_rejects_a_bad_iteration_count(tmp_path, capsys):
    assert cli_main(["demo", "--out", str(tmp_path), "--iterations", "0"]) == 2
    assert "--iterations" in capsys.readouterr().err


def test_report_quotes_the_committed_study_headlines(tmp_path, monkeypatch):
    from vlt_mini.experiments.demo import COMMITTED_STUDY, committed_study_lines
    from vlt_mini.evaluation.statistics import format_comparisons_csv

    monkeypatch.chdir(tmp_path)
    assert committed_study_lines() == []  # not in a checkout
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "vlt_mini").mkdir()
    assert committed_study_lines() == []  # a checkout without the committed study
    (tmp_path / COMMITTED_STUDY).parent.mkdir(parents=True)
    row = dict(table="3", comparison="VLT-mini - SiamCAR (vision only, same paths)", paper_delta=13.1, delta=2.25,
               ci_low=-0.5, ci_high=4.75, seeds=5, videos=30, verdict="inconclusive")
    (tmp_path / COMMITTED_STUDY).write_text(format_comparisons_csv([row]))
    text = "\n".join(committed_study_lines())
    assert "5 seeds × 30 test videos" in text and "+2.2 SUC" in text and "[-0.5, +4.8]" in text
    assert "(paper +13.1): inconclusive" in text
