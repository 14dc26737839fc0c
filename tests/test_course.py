"""The course's promises about its notebooks: a Colab link and one install cell each, a smoke-test banner above
trained results, worked answers under every notebook's exercises, and the Colab profile on a CUDA machine."""
import dataclasses
import json
from pathlib import Path

import pytest

from vlt_mini import notebook
from vlt_mini.profiles import PROFILES

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
WITH_TRAINED_RESULTS = ("04", "05", "06", "07")


def _cells(path):
    return [(cell["cell_type"], "".join(cell["source"]), cell.get("metadata", {}))
            for cell in json.loads(path.read_text())["cells"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebook_opens_anywhere(path):
    cells = _cells(path)
    assert notebook.colab_url(path.name) in cells[0][1], "the title cell links to the notebook on Colab"
    kind, install, _ = cells[1]
    assert kind == "code" and "importlib.util.find_spec('vlt_mini') is None" in install, \
        "the first code cell installs vlt-mini only where it cannot be imported"
    assert f"'{notebook.REPOSITORY_URL}'" in install, "the install cell clones vlt_mini.notebook.REPOSITORY_URL"
    assert sum("find_spec('vlt_mini')" in source for _, source, _ in cells) == 1, "one install cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_exercises_have_worked_answers(path):
    cells = _cells(path)
    exercises = [i for i, (kind, source, _) in enumerate(cells) if kind == "markdown" and "## Exercises" in source]
    answers = [i for i, (kind, source, _) in enumerate(cells) if kind == "markdown" and source.startswith("## Answers")]
    assert exercises and answers and exercises[-1] < answers[-1], "exercises, then their answers"
    kind, source, metadata = cells[answers[-1] + 1]
    assert kind == "code" and source.strip() and metadata.get("jupyter", {}).get("source_hidden") is True, \
        "the worked answers are code (run by nbval) in a collapsed cell"
    numbers = [line.split(".")[0] for line in cells[exercises[-1]][1].split("## Exercises")[1].splitlines()
               if line[:1].isdigit()]
    for number in numbers:
        assert f"# {number}" in source or f"{number}." in source or f"{number} and" in source, \
            f"exercise {number} has no answer"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name[:2] in WITH_TRAINED_RESULTS], ids=lambda p: p.name[:2])
def test_trained_results_carry_the_banner(path):
    assert any(kind == "code" and source.startswith("nb.show_banner()") for kind, source, _ in _cells(path))


def test_banner_says_tiny_is_a_smoke_test(capsys):
    text = notebook.smoke_test_banner("tiny")
    assert "smoke-test" in text and notebook.COMMITTED_RESULTS in text
    assert (NOTEBOOKS[0].parents[1] / notebook.COMMITTED_RESULTS).is_dir(), "the banner points at a real folder"
    assert all(notebook.smoke_test_banner(p) is None for p in PROFILES if p != "tiny")
    notebook.show_smoke_test_banner("tiny")  # plain Python: printed
    assert "NOTE: profile tiny" in capsys.readouterr().out


def test_cuda_machines_get_the_colab_profile(monkeypatch):
    import torch

    monkeypatch.delenv("VLT_MINI_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert notebook.default_notebook_profile() == "colab"
    monkeypatch.setenv("VLT_MINI_PROFILE", "paper")
    assert notebook.default_notebook_profile() == "paper", "paper only on request"
    monkeypatch.delenv("VLT_MINI_PROFILE")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert notebook.default_notebook_profile() == "cpu"


def test_colab_profile_is_cpu_data_with_gpu_batches():
    from vlt_mini.data.mini_lasot import MiniLaSOTConfig
    from vlt_mini.search.evolution import SearchConfig
    from vlt_mini.training import TrainingSetup

    colab, cpu = TrainingSetup.for_profile("colab"), TrainingSetup.for_profile("cpu")
    assert MiniLaSOTConfig.for_profile("colab") == MiniLaSOTConfig.for_profile("cpu"), "a few hundred MB, not 12.8 GB"
    assert dataclasses.replace(colab.model, profile="cpu") == cpu.model
    iterations = lambda s: s.train.epochs * s.pairs.samples_per_epoch // s.train.batch_size
    assert colab.train.batch_size == 4 * cpu.train.batch_size and iterations(colab) == iterations(cpu)
    assert SearchConfig.for_profile("colab").population == SearchConfig.for_profile("cpu").population
