"""`vlt-mini evaluate` end to end: the published SiamRPN++ results on real LaSOT, both LaSOT layouts, the JSON and
plots, bad input (an error naming the file, nothing written), and the paper's tables typed into the package."""
import csv
import json

import numpy as np
import pytest

from vlt_mini.data import open_dataset
from vlt_mini.data.sequence import LASOT_ATTRIBUTES
from vlt_mini.data.textio import DataFormatError
from vlt_mini.evaluation.ope import evaluate_ope
from vlt_mini.evaluation.published import ABLATIONS, TABLE2, format_leaderboard
from vlt_mini.evaluation.report import evaluate_trackers, run_evaluate

# --------------------------------------------------------------------------- real LaSOT (../shared)


def test_published_siamrpnpp_results_give_the_toolkit_scores(shared_dir):
    dataset = open_dataset("lasot", shared_dir / "data" / "lasot_test_annos", "test")
    assert len(dataset) == 280 and sum(len(s) for s in dataset) == 685360
    scores = evaluate_trackers(dataset, [shared_dir / "data" / "lasot_results" / "SiamRPN++"])
    result = scores["trackers"]["SiamRPN++"]
    assert result["suc"] == pytest.approx(49.56, abs=0.01)
    assert result["prec"] == pytest.approx(49.14, abs=0.01)
    assert result["norm_prec"] == pytest.approx(56.94, abs=0.01)
    assert result["num_sequences"] == 280
    assert set(result["per_attribute"]) == set(LASOT_ATTRIBUTES)
    # SUC is the mean of the per-sequence scores and the area under the averaged curve
    assert np.mean([s["suc"] for s in result["per_sequence"].values()]) == pytest.approx(result["suc"])
    assert np.mean(result["success_curve"]) == pytest.approx(result["suc"])


def test_ground_truth_as_result_on_real_lasot(shared_dir):
    dataset = open_dataset("lasot", shared_dir / "data" / "lasot_test_annos", "test")
    gts = [s.ground_truth for s in dataset]
    result = evaluate_ope(gts, gts, [s.visible for s in dataset])
    visible_fraction = np.mean([s.visible.mean() for s in dataset])
    # a handful of visible LaSOT frames have degenerate boxes (w or h = 0); they count as failures, hence the rest
    scorable = np.mean([(s.visible & (s.ground_truth > 0).all(axis=1)).mean() for s in dataset])
    assert result.suc == pytest.approx(100 * 20 / 21 * scorable, abs=1e-9)
    assert result.suc == pytest.approx(100 * 20 / 21 * visible_fraction, abs=0.001)


def test_typed_tables_equal_the_papers_csv(shared_dir):
    def number(text):
        return float(text) if text.strip() else None

    with open(shared_dir / "data" / "published" / "table2_sota.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["method"] for row in rows] == [entry.method for entry in TABLE2]
    for row, entry in zip(rows, TABLE2):
        assert row["type"] == entry.type
        for key, value in row.items():
            if key not in ("type", "method"):
                assert number(value) == getattr(entry, key), (entry.method, key)
    with open(shared_dir / "data" / "published" / "ablations.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == len(ABLATIONS)
    for row, entry in zip(rows, ABLATIONS):
        assert (row["table"], int(row["row"]), row["setting"]) == (entry.table, entry.row, entry.setting)
        for key in ("lasot_suc", "lasot_pnorm", "lasot_p", "tnl2k_suc", "tnl2k_pnorm", "tnl2k_p"):
            assert number(row[key]) == getattr(entry, key), (entry.table, entry.row, key)


# --------------------------------------------------------------------------- a small LaSOT, both layouts

BOX = [10, 10, 20, 20]
SEQUENCES = {
    # name: (ground truth, absent flags, attribute flags)
    "cat-1": ([BOX] * 6, [0, 0, 0, 1, 0, 0], [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    "cat-2": ([BOX] * 4, [0, 0, 0, 0], [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    "dog-3": ([[30, 30, 10, 10]] * 5, [0, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
}


def rows(boxes, separator=","):
    return "".join(separator.join(f"{v:g}" for v in box) + "\n" for box in boxes)


def make_toolkit_layout(root):
    for folder in ("groundtruth", "absent", "nlp", "att"):
        (root / folder).mkdir(parents=True)
    for name, (gt, absent, attributes) in SEQUENCES.items():
        (root / "groundtruth" / f"{name}.txt").write_text(rows(gt))
        (root / "absent" / f"{name}.txt").write_text("".join(f"{a}\n" for a in absent))
        (root / "nlp" / f"{name}.txt").write_text(f"the {name.split('-')[0]} on the left")
        (root / "att" / f"{name}.txt").write_text(",".join(map(str, attributes)) + "\n")
    (root / "testing_set.txt").write_text("\n".join(SEQUENCES) + "\n")
    return root


def make_dataset_layout(root):
    for name, (gt, absent, attributes) in SEQUENCES.items():
        folder = root / name.split("-")[0] / name
        (folder / "img").mkdir(parents=True)
        for index in range(len(gt)):
            (folder / "img" / f"{index + 1:08d}.jpg").write_bytes(b"")
        (folder / "groundtruth.txt").write_text(rows(gt))
        (folder / "full_occlusion.txt").write_text(",".join(map(str, absent)) + "\n")
        (folder / "out_of_view.txt").write_text(",".join("0" for _ in absent) + "\n")
        (folder / "nlp.txt").write_text(f"the {name.split('-')[0]} on the left")
        (root / "att").mkdir(exist_ok=True)
        (root / "att" / f"{name}.txt").write_text(",".join(map(str, attributes)) + "\n")
    (root / "testing_set.txt").write_text("\n".join(SEQUENCES) + "\n")
    return root


def write_results(folder, shift=0.0, separator=","):
    folder.mkdir(parents=True)
    for name, (gt, _, _) in SEQUENCES.items():
        boxes = np.array(gt, dtype=float)
        boxes[1:, 0] += shift
        (folder / f"{name}.txt").write_text(rows(boxes, separator))
    return folder


@pytest.fixture()
def toolkit_lasot(tmp_path):
    return make_toolkit_layout(tmp_path / "annos")


def test_both_lasot_layouts_give_the_same_scores_and_the_json_has_every_field(tmp_path, toolkit_lasot, capsys):
    dataset_root = make_dataset_layout(tmp_path / "LaSOT")
    perfect = write_results(tmp_path / "results" / "Perfect")
    shifted = write_results(tmp_path / "results" / "Shifted", shift=5.0, separator="\t")
    (perfect / "airplane-1.txt").write_text("not, a, results, file\n")   # other split: ignored
    (perfect / "cat-1_time.txt").write_text("0.01\n0.02\n")                 # timing file: ignored
    json_out, plot_out = tmp_path / "out" / "scores.json", tmp_path / "out" / "plot.png"
    scores = run_evaluate("lasot", toolkit_lasot, [shifted, perfect], json_out=json_out, plot_out=plot_out)
    again = run_evaluate("lasot", dataset_root, [shifted, perfect], leaderboard=False)
    assert again["trackers"] == scores["trackers"]

    perfect_scores, shifted_scores = scores["trackers"]["Perfect"], scores["trackers"]["Shifted"]
    # perfect: every visible frame succeeds below IoU 1; cat-1 has 1 absent frame in 6
    visible_fraction = np.mean([5 / 6, 1.0, 1.0])
    assert perfect_scores["suc"] == pytest.approx(100 * 20 / 21 * visible_fraction)
    assert perfect_scores["prec"] == pytest.approx(100 * visible_fraction)
    assert shifted_scores["suc"] < perfect_scores["suc"]
    # dog-3 shifted 5 px on a 10 px box: centre error 5 px (P at 20 px: all), normalised 0.5 (P_norm at 0.2: frame 1)
    assert shifted_scores["per_sequence"]["dog-3"]["prec"] == pytest.approx(100.0)
    assert shifted_scores["per_sequence"]["dog-3"]["norm_prec"] == pytest.approx(20.0)
    assert perfect_scores["per_attribute"]["IV"] == pytest.approx(
        np.mean([perfect_scores["per_sequence"][n]["suc"] for n in ("cat-1", "dog-3")]))

    saved = json.loads(json_out.read_text())
    assert saved["trackers"].keys() == {"Perfect", "Shifted"}
    for result in saved["trackers"].values():
        assert {"suc", "prec", "norm_prec", "success_curve", "precision_curve", "norm_precision_curve",
                "per_sequence", "per_attribute"} <= result.keys()
        assert len(result["success_curve"]) == 21 and len(result["precision_curve"]) == 51
        assert len(result["norm_precision_curve"]) == 51
        assert result["per_sequence"].keys() == set(SEQUENCES)
        assert all(0 <= value <= 100 for value in result["success_curve"])
    for path in (plot_out, tmp_path / "out" / "plot_attributes.png", tmp_path / "out" / "plot_leaderboard.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path

    printed = capsys.readouterr().out
    table = printed.split("LaSOT leaderboard")[0]
    assert table.index("Perfect") < table.index("Shifted")           # sorted by SUC
    assert "LaSOT leaderboard" in printed and "VLT_SCAR (0-tensor)" in printed
    assert printed.count("LaSOT leaderboard") == 1                   # not printed with leaderboard=False


@pytest.mark.parametrize("problem, message", [
    ("missing", r"results file not found: .*dog-3\.txt"),
    ("short", r"dog-3\.txt: 4 boxes but sequence dog-3 has 5 frames"),
    ("text", r"dog-3\.txt:3: not a number: 'lost'"),
])
def test_bad_results_name_the_file_and_write_nothing(tmp_path, toolkit_lasot, problem, message):
    good = write_results(tmp_path / "results" / "Good")
    bad = write_results(tmp_path / "results" / "Bad")
    path = bad / "dog-3.txt"
    lines = path.read_text().splitlines(keepends=True)
    if problem == "missing":
        path.unlink()
    elif problem == "short":
        path.write_text("".join(lines[:4]))
    else:
        lines[2] = "30,30,lost,10\n"
        path.write_text("".join(lines))
    out = tmp_path / "out"
    with pytest.raises((FileNotFoundError, DataFormatError), match=message):
        run_evaluate("lasot", toolkit_lasot, [good, bad], json_out=out / "s.json", plot_out=out / "p.png")
    assert not out.exists()


def test_longer_results_are_truncated_and_duplicate_tracker_names_rejected(tmp_path, toolkit_lasot):
    dataset = open_dataset("lasot", toolkit_lasot)
    exact = write_results(tmp_path / "a" / "Tracker")
    longer = write_results(tmp_path / "b" / "Longer")
    with open(longer / "cat-2.txt", "a") as stream:
        stream.write("1 2 3 4\n5 6 7 8\n")
    scores = evaluate_trackers(dataset, [exact, longer])
    assert scores["trackers"]["Tracker"]["per_sequence"] == scores["trackers"]["Longer"]["per_sequence"]
    twin = write_results(tmp_path / "c" / "Tracker")
    with pytest.raises(ValueError, match="two results folders for tracker 'Tracker'"):
        evaluate_trackers(dataset, [exact, twin])
    with pytest.raises(FileNotFoundError, match="results folder not found"):
        evaluate_trackers(dataset, [tmp_path / "nowhere"])


def test_leaderboard_places_our_trackers_by_suc():
    text = format_leaderboard({"trackers": {"ours": {"suc": 60.0, "prec": 61.0}}})
    lines = text.splitlines()
    ours = next(i for i, line in enumerate(lines) if "ours" in line)
    assert "*" in lines[ours]
    assert "PrDiMP" in lines[ours + 1] and "TrDiMP" in lines[ours - 1]   # 63.9 > 60.0 > 59.8
