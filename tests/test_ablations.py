"""Ablation tables: row definitions -> configs, candidates, sentence replacement, `vlt-mini ablate` end to end."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from vlt_mini.experiments.ablations import (CANDIDATE_SOURCES, GENERIC_SENTENCE, PAPER_TABLES, TABLE_ROWS, TABLES,
                                compare_rows, comparison_rows, format_directions, override_key,
                                replace_sentences, resolve_candidates, select_rows, training_overrides,
                                training_setup)
from vlt_mini.cli import main
from vlt_mini.evaluation.published import ablation_table

FAST = ["train.epochs=1", "train.batch_size=4", "pairs.samples_per_epoch=8",  # 2 iterations of 4 pairs
        "train.bn_recalibration_batches=0"]


def _row(table, slug):
    return select_rows(table, [slug])[0]


def test_every_row_has_the_same_budget_and_a_paper_row():
    recipes = set()
    for table in TABLES:
        rows = TABLE_ROWS[table]
        if table in PAPER_TABLES:
            assert {row.paper_row for row in rows} == {row.row for row in ablation_table(table)}
        else:
            assert {row.paper_row for row in rows} == {None}
        assert len({row.slug for row in rows}) == len(rows)
        for row in rows:
            assert row.training.kind in ("siamcar", "vlt") and row.training.candidate in CANDIDATE_SOURCES
            assert not any(override_key(item).startswith("train.") for item in row.training.overrides)
            recipes.add(repr(training_setup(row.training, "cpu", seed=1).train))
    assert len(recipes) == 1  # one training recipe for every row of every table


def test_rows_map_to_the_paper_settings():
    setup = lambda table, slug: training_setup(_row(table, slug).training, "tiny")  # noqa: E731
    assert setup("5c", "without-residual").model.mixer_residual is False
    assert setup("5c", "with-residual").model.mixer_residual is True
    assert setup("5b", "fixed-shuffle-block").model.mixer_searched_block is False
    assert setup("5b", "searched-block").model.mixer_searched_block is True
    assert [setup("8a", f"language-{p}").pairs.language_fraction for p in (50, 75, 100)] == [0.5, 0.75, 1.0]
    assert setup("8a", "language-50").model.no_sentence_mode == "template"
    for mode in ("0-tensor", "template"):
        rows = [row for row in TABLE_ROWS["4"] if row.slug.startswith(mode)]
        assert len({row.training for row in rows}) == 1  # the test-time variants share one trained model
        assert training_setup(rows[0].training, "tiny").model.no_sentence_mode == mode
        assert [(row.use_language, row.sentence) for row in rows] == [
            (True, "own"), (False, "own"), (True, "other-video"), (True, "generic")]
    table3 = {row.slug: (row.training.kind, row.training.candidate) for row in TABLE_ROWS["3"]}
    assert table3 == {"baseline": ("siamcar", "fixed"), "modamixer": ("vlt", "fixed"),
                      "ass-vision-only": ("siamcar", "searched"), "modamixer-ass": ("vlt", "searched")}
    assert [row.training.candidate for row in TABLE_ROWS["5a"]] == ["symmetric", "searched"]
    # the reference rows of Tables 3 and 5 are the same training (so `ablate` trains it once)
    references = [_row("3", "modamixer-ass"), _row("5a", "asymmetric"), _row("5b", "searched-block"),
                  _row("5c", "with-residual")]
    assert len({repr(training_setup(row.training, "tiny")) for row in references}) == 1
    with pytest.raises(ValueError, match="model.mixer_residual"):
        training_overrides(_row("5c", "with-residual").training, ["model.mixer_residual=false"])
    with pytest.raises(ValueError, match="no row nope"):
        select_rows("5c", ["nope"])


def test_candidates_fall_back_to_the_official_one(tmp_path):
    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate
    from vlt_mini.models.supernet import SPOS_IMAGENET_PATH

    candidates = resolve_candidates()
    assert candidates["searched"][0] == VLT_SCAR_CANDIDATE and "official" in candidates["searched"][1]
    assert candidates["symmetric"][0].is_symmetric
    assert candidates["symmetric"][0].template_path == VLT_SCAR_CANDIDATE.template_path
    assert candidates["fixed"][0] == Candidate.symmetric(SPOS_IMAGENET_PATH)
    searched = Candidate.sample(3).save(tmp_path / "best.json")
    symmetric = Candidate.sample(4, symmetric=True).save(tmp_path / "sym.json")
    given = resolve_candidates(searched, symmetric)
    assert given["searched"][0] == Candidate.load(searched) and given["symmetric"][0] == Candidate.load(symmetric)
    with pytest.raises(ValueError, match="not a symmetric candidate"):
        resolve_candidates(None, searched)


def test_the_search_check_compares_the_searched_candidate_with_vlt_scar_and_a_random_one(tmp_path):
    import random

    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate

    rows = {row.slug: row for row in TABLE_ROWS["search"]}
    assert {slug: row.training.candidate for slug, row in rows.items()} == {
        "searched": "searched", "vlt-scar": "official", "random": "random"}
    searched = Candidate.sample(7).save(tmp_path / "best.json")
    candidates = resolve_candidates(searched)
    assert candidates["official"][0] == VLT_SCAR_CANDIDATE and candidates["searched"][0] == Candidate.load(searched)
    assert candidates["random"][0] == Candidate.sample(random.Random(0)) == resolve_candidates()["random"][0]
    assert candidates["random"][0] != VLT_SCAR_CANDIDATE
    # the same network and recipe for the three: only the candidate differs
    assert len({repr(training_setup(row.training, "cpu")) for row in rows.values()}) == 1
    assert training_setup(rows["vlt-scar"].training, "cpu") == training_setup(_row("3", "modamixer-ass").training,
                                                                                "cpu")

    # no paper difference: the verdict reads the interval against "the first row does not lose"
    runs = [{"row": row, "seed": seed, "suc": suc} for seed in range(3)
            for row, suc in (("searched", 40 + seed), ("vlt-scar", 30 + seed), ("random", 50 + seed))]
    per_video = {(run["row"], run["seed"], video): run["suc"] + offset for run in runs
                 for video, offset in (("a", -1.0), ("b", 0.0), ("c", 1.5))}
    comparisons = {(c["row"], c["reference"]): c for c in compare_rows("search", runs, per_video, resamples=500)}
    assert set(comparisons) == {("searched", "vlt-scar"), ("searched", "random"), ("vlt-scar", "random")}
    assert comparisons["searched", "vlt-scar"]["paper_delta"] is None
    assert comparisons["searched", "vlt-scar"]["delta_mean"] == pytest.approx(10)
    assert comparisons["searched", "vlt-scar"]["verdict"] == "reproduces"
    assert comparisons["searched", "random"]["verdict"] == "opposite"
    assert "| search | the candidate found by `vlt-mini search` vs the official VLT_SCAR candidate | – | +10.0" in (
        format_directions(list(comparisons.values())))
    assert {row["paper_delta"] for row in comparison_rows(list(comparisons.values()))} == {""}


def test_the_search_check_needs_a_searched_candidate(tmp_path, capsys):
    assert main(["ablate", "--table", "5c,search", "--out", str(tmp_path / "out"), "--profile", "tiny"]) == 2
    assert "--table search needs --candidate" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # refused before any work
    from vlt_mini.experiments.ablation_runs import run_ablation

    with pytest.raises(ValueError, match="needs --candidate"):
        run_ablation("search", tmp_path / "out", "tiny")


def test_ablate_the_search_check_end_to_end(tiny_mini_lasot, tmp_path):
    from vlt_mini.models.candidate import Candidate

    best = Candidate.sample(11).save(tmp_path / "best_candidate.json")
    out = tmp_path / "ablations"
    assert main(["ablate", "--table", "search", "--candidate", str(best), "--profile", "tiny", "--seeds", "1",
                 "--root", str(tiny_mini_lasot), "--out", str(out), "--device", "cpu", "--no-progress", *FAST]) == 0
    trained = {slug: json.loads((out / "tablesearch" / slug / "seed0" / "setup.json").read_text())["training"]
               for slug in ("searched", "vlt-scar", "random")}
    assert trained["searched"]["candidate"] == Candidate.load(best).to_dict()
    assert len({json.dumps(record["candidate"]) for record in trained.values()}) == 3
    markdown = (out / "tablesearch" / "table.md").read_text()
    assert markdown.startswith("# The search check on") and "The paper has no such table" in markdown
    comparisons = list(csv.DictReader((out / "comparisons.csv").open()))
    assert [c["comparison"] for c in comparisons] == ["searched vs vlt-scar", "searched vs random",
                                                      "vlt-scar vs random"]
    assert {c["paper_delta"] for c in comparisons} == {""} and "| search |" in (out / "directions.md").read_text()


def test_replaced_sentences_reach_the_tracker(tiny_mini_lasot, tmp_path):
    from vlt_mini.data import open_dataset
    from vlt_mini.tracking.runner import run_tracker
    from vlt_mini.tracking.base import Tracker

    test = open_dataset("mini-lasot", tiny_mini_lasot, "test")
    seen = {}

    class Recorder(Tracker):
        def initialize(self, frame, box, sentence=None):
            self.box = np.asarray(box, dtype=np.float64)
            seen[len(seen)] = sentence

        def track(self, frame):
            return self.box

    own = [s.sentence for s in test]
    assert replace_sentences(test, "own") == list(test)
    run_tracker(Recorder, replace_sentences(test, "other-video"), tmp_path / "other", progress=False)
    others = list(seen.values())
    assert all(wrong != mine and wrong in own for wrong, mine in zip(others, own))
    assert [s.sentence for s in replace_sentences(test, "generic")] == [GENERIC_SENTENCE] * len(test)
    assert [s.sentence for s in test] == own  # the dataset itself is unchanged
    with pytest.raises(ValueError, match="unknown sentence mode"):
        replace_sentences(test, "caption")


def test_ablate_end_to_end_reuses_finished_rows(tiny_mini_lasot, tmp_path, capsys):
    out = tmp_path / "ablations"
    command = ["ablate", "--table", "5c", "--profile", "tiny", "--seeds", "1", "--root", str(tiny_mini_lasot),
               "--out", str(out), "--device", "cpu", "--no-progress", *FAST]
    assert main(command) == 0
    table_dir = out / "table5c"
    rows = list(csv.DictReader((table_dir / "table.csv").open()))
    assert [row["row"] for row in rows] == ["without-residual", "with-residual"]
    assert [(row["paper_suc"], row["paper_prec"]) for row in rows] == [("61.1", "63.6"), ("63.9", "67.9")]
    for row in rows:
        assert row["seeds"] == "0" and 0 <= float(row["suc_mean"]) <= 100 and row["suc_std"] == ""
    markdown = (table_dir / "table.md").read_text()
    assert "61.1" in markdown and "ablate --table 5c" in markdown and "official VLT_SCAR" in markdown
    runs = list(csv.DictReader((table_dir / "runs.csv").open()))
    assert len(runs) == 2 and {run["dataset_version"] for run in runs} == {"mini-lasot v2"}
    per_video = list(csv.DictReader((table_dir / "per_video.csv").open()))
    assert {row["row"] for row in per_video} == {"without-residual", "with-residual"} and len(per_video) == 2 * len(
        {row["video"] for row in per_video})
    comparisons = list(csv.DictReader((out / "comparisons.csv").open()))
    assert [c["comparison"] for c in comparisons] == ["with-residual vs without-residual"]
    assert comparisons[0]["seeds"] == "1" and int(comparisons[0]["videos"]) >= 2
    assert comparisons[0]["verdict"] in ("reproduces", "opposite", "inconclusive")
    final = table_dir / "with-residual" / "seed0" / "train" / "model_final.pt"
    stamp = final.stat().st_mtime_ns

    # a rerun trains nothing; Table 5b's reference row reuses the identical training of Table 5c
    assert main(command) == 0
    assert main([*command, "--rows", "without-residual"]) == 0  # rows not asked for stay in the table
    assert list(csv.DictReader((table_dir / "table.csv").open())) == rows
    assert main([*command[:2], "5b", *command[3:], "--rows", "searched-block"]) == 0
    assert final.stat().st_mtime_ns == stamp
    assert not (out / "table5b" / "searched-block" / "seed0" / "train").exists()
    assert "reusing the identical training" in capsys.readouterr().out
    rows_5b = {row["row"]: row for row in csv.DictReader((out / "table5b" / "table.csv").open())}
    assert rows_5b["searched-block"]["suc_mean"] == rows[1]["suc_mean"]
    assert rows_5b["fixed-shuffle-block"]["seeds"] == ""  # never run: in the table without numbers

    # the same folder with another recipe is refused, not mixed
    assert main([*command, "train.base_lr=0.02"]) == 2
    assert "another setup" in capsys.readouterr().err


def test_ablate_bad_input_exits_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["ablate", "--table", "9", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "unknown table 9; choose from 3, 4, 5a" in capsys.readouterr().err
    assert main(["ablate", "--table", "5c", "--out", str(tmp_path), "--rows", "nope"]) == 2
    assert "no row nope" in capsys.readouterr().err
    assert main(["ablate", "--table", "5c", "--out", str(tmp_path), "model.mixer_residual=false"]) == 2
    assert "the ablation's rows set it" in capsys.readouterr().err
    from vlt_mini.experiments.ablation_runs import run_ablation

    with pytest.raises(ValueError, match="unknown ablation table '9'"):
        run_ablation("9", tmp_path)


def test_verdicts_and_paired_differences():
    from vlt_mini.experiments.ablations import compare_rows

    runs = [{"row": "with-residual", "seed": 0, "suc": 40.0}, {"row": "without-residual", "seed": 0, "suc": 35.0},
            {"row": "with-residual", "seed": 1, "suc": 30.0}, {"row": "without-residual", "seed": 1, "suc": 29.0},
            {"row": "with-residual", "seed": 2, "suc": 50.0}]  # seed 2 has no pair: left out
    [entry] = compare_rows("5c", runs, resamples=1000)
    assert (entry["row"], entry["reference"], entry["seeds"]) == ("with-residual", "without-residual", [0, 1])
    assert entry["deltas"] == [5.0, 1.0] and entry["delta_mean"] == 3.0 and entry["videos"] == 0
    assert entry["delta_std"] == pytest.approx(np.std([5.0, 1.0], ddof=1))
    assert entry["paper_delta"] == pytest.approx(63.9 - 61.1)
    # seeds only, two of them: the Student-t guard makes the interval wide (t(0.975, 1) = 12.7)
    assert entry["ci_low"] < 0 < entry["ci_high"] and entry["verdict"] == "inconclusive"
    assert compare_rows("5c", runs[:1]) == []
    [single] = compare_rows("5c", runs[:2])
    assert single["ci_low"] is None and single["verdict"] == "inconclusive"  # one seed, no per-video scores
    # with per-video scores: paired per seed and video; a consistent +2 on every video reproduces
    rng = np.random.default_rng(0)
    per_video = {}
    for seed in (0, 1, 2):
        for video in range(12):
            base = rng.uniform(20, 60)
            per_video["without-residual", seed, f"v{video}"] = base
            per_video["with-residual", seed, f"v{video}"] = base + 2 + rng.normal(0, 0.5)
    [paired] = compare_rows("5c", runs, per_video, resamples=1000)
    assert paired["videos"] == 12 and paired["seeds"] == [0, 1, 2] and paired["verdict"] == "reproduces"
    assert 1.0 < paired["ci_low"] < 2.0 < paired["ci_high"] < 3.0
    flipped = {(row, seed, video): -value for (row, seed, video), value in per_video.items()}
    assert compare_rows("5c", runs, flipped, resamples=1000)[0]["verdict"] == "opposite"


def test_read_runs_names_the_bad_line(tmp_path):
    from vlt_mini.experiments.ablations import read_runs

    with pytest.raises(FileNotFoundError, match="no ablation runs"):
        read_runs(tmp_path)
    (tmp_path / "runs.csv").write_text("table,row,seed,suc,norm_prec,prec,results\n5c,with-residual,0,40,41,42,x\n"
                                       "5c,without-residual,zero,1,2,3,y\n")
    with pytest.raises(ValueError, match=r"runs.csv, line 3"):
        read_runs(tmp_path)


def test_ablate_reuses_a_training_from_elsewhere_and_copies_identical_results(tiny_mini_lasot, tmp_path, capsys):
    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE
    from vlt_mini.training import train_model

    elsewhere = tmp_path / "study" / "VLT-mini"  # e.g. a `vlt-mini train` run of the same recipe
    final = train_model("vlt", tiny_mini_lasot, elsewhere, "tiny", 0, candidate=VLT_SCAR_CANDIDATE, overrides=FAST,
                        progress=False)
    stamp = final.stat().st_mtime_ns
    out = tmp_path / "ablations"
    base = ["--profile", "tiny", "--seeds", "1", "--root", str(tiny_mini_lasot), "--out", str(out),
            "--device", "cpu", "--no-progress", *FAST]
    common = [*base, "--reuse", str(tmp_path / "study")]
    assert main(["ablate", "--table", "5c", "--rows", "with-residual", *common]) == 0
    assert "reusing the identical training" in capsys.readouterr().out
    seed_dir = out / "table5c" / "with-residual" / "seed0"
    assert not (seed_dir / "train").exists() and final.stat().st_mtime_ns == stamp
    # Table 5b's reference row: the same training and the same test setting -> the results are copied, not tracked
    assert main(["ablate", "--table", "5b", "--rows", "searched-block", *common]) == 0
    assert "copying its results" in capsys.readouterr().out
    copied = sorted(p.name for p in (out / "table5b" / "searched-block" / "seed0" / "results" / "searched-block").glob("*.txt"))
    original = seed_dir / "results" / "with-residual"
    assert copied == sorted(p.name for p in original.glob("*.txt")) and copied
    for name in copied:
        assert (out / "table5b" / "searched-block" / "seed0" / "results" / "searched-block" / name).read_text() == \
            (original / name).read_text()
    assert (out / "directions.md").is_file() is False  # no pair of rows run yet: nothing to compare
    assert main(["ablate", "--table", "5c", "--reuse", str(tmp_path / "nowhere"), *base]) == 2
    assert "--reuse: no folder" in capsys.readouterr().err


def test_ablate_jobs_in_parallel_train_a_shared_row_once(tiny_mini_lasot, tmp_path, capsys):
    out = tmp_path / "ablations"
    command = ["ablate", "--table", "5b,5c", "--profile", "tiny", "--seeds", "1", "--root", str(tiny_mini_lasot),
               "--out", str(out), "--device", "cpu", "--no-progress", "--jobs", "2", *FAST]
    assert main(command) == 0
    trained = [path.parts[-4] for path in out.glob("table5*/*/seed0/train/model_final.pt")]
    # four rows, three trainings: Table 5b's searched block and Table 5c's residual are the same VLT-mini
    assert sorted(trained) in (["fixed-shuffle-block", "searched-block", "without-residual"],
                               ["fixed-shuffle-block", "with-residual", "without-residual"])
    for table, rows in (("5b", ["fixed-shuffle-block", "searched-block"]), ("5c", ["without-residual", "with-residual"])):
        summary = list(csv.DictReader((out / f"table{table}" / "table.csv").open()))
        assert [row["row"] for row in summary] == rows and all(row["seeds"] == "0" for row in summary)
    assert "--jobs 2" in (out / "table5c" / "table.md").read_text()
    assert main([*command[:-6], "--jobs", "0", *FAST]) == 2
    assert "--jobs must be >= 1" in capsys.readouterr().err
