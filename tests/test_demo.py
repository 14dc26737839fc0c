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
