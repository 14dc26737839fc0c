"""The evolutionary search (Eq. 3): gene operators, budget and duplicates, the SUC fitness with BN recalibration,
the log and an exact resume, the top-k files and ``vlt-mini search``; on a tiny supernet trained for 2 iterations."""
from __future__ import annotations

import copy
import dataclasses
import json
import random

import pytest
import torch

from vlt_mini.cli import main as cli_main
from vlt_mini.models.candidate import NUM_GENES, VLT_SCAR_CANDIDATE, Candidate
from vlt_mini.search.evolution import (BEST_NAME, LOG_NAME, TOP_DIR, EvolutionarySearch, SearchConfig, crossover, mutate,
                             read_evaluations)

SMALL = dict(population=2, top_k=2, generations=2, mutation_children=1, crossover_children=1)  # 4 evaluations


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def encoder():
    from vlt_mini.models.text_encoder import TextEncoder

    return TextEncoder()


@pytest.fixture(scope="module")
def supernet(tiny_mini_lasot, tmp_path_factory, encoder):
    from vlt_mini.data import open_dataset
    from vlt_mini.training import PairSource, Trainer, TrainingSetup

    setup = TrainingSetup.for_profile("tiny")
    out = tmp_path_factory.mktemp("supernet")
    Trainer("supernet", setup.model, dataclasses.replace(setup.train, epochs=1, batch_size=4),
            dataclasses.replace(setup.pairs, samples_per_epoch=8),
            [PairSource(open_dataset("mini-lasot", tiny_mini_lasot, "train"))], out, device="cpu", progress=False,
            text_encoder=encoder).train()
    return out / "model_final.pt"


@pytest.fixture(scope="module")
def setup(supernet, tiny_mini_lasot, encoder):
    from vlt_mini.search.pipeline import prepare_search

    return prepare_search(supernet, "mini-lasot", tiny_mini_lasot, SearchConfig.for_profile("tiny"), "cpu", encoder)


@pytest.fixture(scope="module")
def small_evaluator(setup):
    """The tiny profile's fitness cut down to one 8-frame video and one recalibration batch (a fraction of a second)."""
    from vlt_mini.search.evolution import FitnessEvaluator, truncate

    base = setup.evaluator
    return FitnessEvaluator(setup.model, base.text_encoder, [truncate(base.videos[0], 8)],
                            base.recalibration_batches[:1], "mini-lasot")


def test_profiles_and_the_test_split_refused():
    paper = SearchConfig.for_profile("paper")
    assert (paper.population, paper.top_k, paper.generations, paper.mutation_children, paper.crossover_children,
            paper.mutation_probability) == (50, 10, 20, 25, 25, 0.1)
    assert SearchConfig.for_profile("tiny").population < SearchConfig.for_profile("cpu").population < 50
    for split in ("test", "all"):
        with pytest.raises(ValueError, match="never see the test split"):
            SearchConfig.for_profile("tiny", split=split)
    with pytest.raises(ValueError, match="top_k"):
        SearchConfig(population=4, top_k=5).check()


def test_mutation_probability_zero_keeps_one_resamples_every_gene():
    rng = random.Random(0)
    parents = [Candidate.sample(rng) for _ in range(5)]
    assert all(mutate(p, 0.0, rng) == p for p in parents)
    parent = parents[0]
    children = [mutate(parent, 1.0, rng).genes for _ in range(300)]
    for position in range(NUM_GENES):  # every gene, the search-side mixer genes included, is redrawn uniformly
        values = [child[position] for child in children]
        assert set(values) == {0, 1, 2, 3}
        assert 0.15 < sum(v == parent.genes[position] for v in values) / len(values) < 0.35
    rarely = [mutate(parent, 0.1, rng) for _ in range(200)]
    assert any(c.search_mixer != parent.search_mixer for c in rarely)  # the official code never mutates these
    assert 0.05 < sum(a != b for c in rarely for a, b in zip(c.genes, parent.genes)) / (200 * NUM_GENES) < 0.1


def test_crossover_takes_every_gene_from_one_parent():
    rng = random.Random(1)
    for _ in range(20):
        first, second = Candidate.sample(rng), Candidate.sample(rng)
        child = crossover(first, second, rng)
        assert all(g in (a, b) for g, a, b in zip(child.genes, first.genes, second.genes))
    zeros, threes = Candidate.from_genes([0] * NUM_GENES), Candidate.from_genes([3] * NUM_GENES)
    mixed = crossover(zeros, threes, rng).genes
    assert 10 < mixed.count(3) < NUM_GENES - 10  # gene-level, not whole sub-lists


def test_symmetric_mode_keeps_candidates_symmetric(tmp_path):
    rng = random.Random(2)
    first, second = Candidate.sample(rng, symmetric=True), Candidate.sample(rng, symmetric=True)
    assert mutate(first, 0.5, rng, symmetric=True).is_symmetric
    assert crossover(first, second, rng, symmetric=True).is_symmetric
    config = SearchConfig.for_profile("tiny", symmetric=True, generations=3)
    EvolutionarySearch(config, lambda c: float(sum(c.genes)), tmp_path, progress=False).run()
    logged = [Candidate.from_genes(json.loads(line)["genes"]) for line in (tmp_path / LOG_NAME).read_text().splitlines()]
    assert len(logged) == 12 and all(c.is_symmetric for c in logged)


def test_budget_respected_duplicates_skipped_elitism(setup, tmp_path):
    from vlt_mini.training.budget import CandidateBudget

    rng = random.Random(3)
    sizes = sorted(setup.budget.parameters(Candidate.sample(rng)) for _ in range(30))
    budget = CandidateBudget(setup.model, max_parameters=sizes[len(sizes) // 2])
    # mutation probability 0: every mutation child is an evaluated parent, hence skipped and replaced by random ones
    config = SearchConfig.for_profile("tiny", population=8, top_k=3, generations=5, mutation_children=3,
                                      crossover_children=3, mutation_probability=0.0)
    summary = EvolutionarySearch(config, lambda c: float(c.genes.count(3)), tmp_path, budget, progress=False).run()
    records = read_evaluations(tmp_path)
    assert len({tuple(r["genes"]) for r in records}) == len(records) == 40
    assert all(r["parameters"] <= budget.max_parameters for r in records)
    assert all(budget.fits(Candidate.from_genes(r["genes"])) for r in records)
    assert all(g["origins"]["mutation"] == 0 and g["evaluated"] == 8 for g in summary["generations"])
    best = [g["best_so_far"] for g in summary["generations"]]
    assert best == sorted(best) and best[-1] == max(r["fitness"] for r in records)
    assert [t["fitness"] for t in summary["top_k"]] == sorted((r["fitness"] for r in records), reverse=True)[:3]


def test_fitness_is_suc_of_the_tracker_and_the_supernet_is_left_as_it_was(setup, small_evaluator, tmp_path):
    from vlt_mini.evaluation.ope import evaluate_ope
    from vlt_mini.tracking.runner import run_tracker
    from vlt_mini.tracking.tracker import VLTTracker
    from vlt_mini.training.batchnorm import recalibrate_batch_norm

    assert len(setup.evaluator.videos) == 2 and all(len(v) == 20 for v in setup.evaluator.videos)  # tiny profile
    assert len(setup.evaluator.recalibration_batches) == 1 and setup.info["tracker_preset"] == "mini-lasot"
    model, evaluator = setup.model, small_evaluator
    before = {k: v.clone() for k, v in model.state_dict().items()}
    candidate = Candidate.sample(random.Random(4))
    fitness = evaluator(candidate)
    assert fitness == evaluator(candidate) and fitness["recalibrated"] and fitness["frames"] == 8
    assert model.candidate == VLT_SCAR_CANDIDATE
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # BN buffers put back
    plain = evaluator(candidate, recalibrate=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())

    for recalibrate, expected in ((True, fitness), (False, plain)):  # by hand: a copy, the tracker, the toolkit rules
        net = copy.deepcopy(model)
        if recalibrate:
            recalibrate_batch_norm(net, evaluator.recalibration_batches, candidate)
        net.candidate = candidate
        runs = run_tracker(lambda: VLTTracker(net, evaluator.text_encoder, "mini-lasot"), evaluator.videos,
                           tmp_path / str(recalibrate), progress=False)
        videos = evaluator.videos
        suc = evaluate_ope([r.boxes for r in runs], [v.ground_truth for v in videos], [v.visible for v in videos]).suc
        assert suc == expected["fitness"]


def test_log_is_written_as_it_goes_and_a_resumed_search_equals_a_straight_one(setup, small_evaluator, tmp_path):
    config, evaluator = SearchConfig.for_profile("tiny", **SMALL), small_evaluator
    straight = EvolutionarySearch(config, evaluator, tmp_path / "straight", setup.budget, progress=False).run()

    class Crash(Exception):
        pass

    calls = []

    def crashing(candidate):
        if len(calls) == 3:
            assert len((tmp_path / "resumed" / LOG_NAME).read_text().splitlines()) == 3  # each one saved at once
            raise Crash()
        calls.append(candidate)
        return evaluator(candidate)

    with pytest.raises(Crash):
        EvolutionarySearch(config, crashing, tmp_path / "resumed", setup.budget, progress=False).run()
    with pytest.raises(ValueError, match="resume"):
        EvolutionarySearch(config, evaluator, tmp_path / "resumed", setup.budget, progress=False).run()
    calls.clear()
    counting = lambda c: calls.append(c) or evaluator(c)  # noqa: E731
    resumed = EvolutionarySearch(config, counting, tmp_path / "resumed", setup.budget, progress=False).run(resume=True)
    assert len(calls) == 1 and resumed["reused_from_log"] == 3  # only the missing evaluation is run
    drop = lambda summary: {k: v for k, v in summary.items() if k not in ("reused_from_log", "evaluation_seconds")}  # noqa: E731
    assert drop(resumed) == drop(straight)
    read = lambda d: [{k: v for k, v in json.loads(line).items() if k != "seconds"}  # noqa: E731
                      for line in (tmp_path / d / LOG_NAME).read_text().splitlines()]
    assert read("resumed") == read("straight") and len(read("straight")) == 4
    other = dataclasses.replace(config, seed=1)
    with pytest.raises(ValueError, match="different settings for search"):
        EvolutionarySearch(other, evaluator, tmp_path / "resumed", setup.budget, progress=False).run(resume=True)

    for rank, entry in enumerate(straight["top_k"], start=1):
        assert Candidate.load(tmp_path / "straight" / TOP_DIR / f"rank_{rank:02d}.json").to_dict() == entry["candidate"]
    assert Candidate.load(tmp_path / "straight" / BEST_NAME).to_dict() == straight["best"]["candidate"]
    assert (tmp_path / "straight" / "fitness.png").stat().st_size > 5000


def test_cli_searches_and_reports_bad_input(supernet, tiny_mini_lasot, tmp_path, capsys):
    from vlt_mini.io import atomic_torch_save
    from vlt_mini.models.vlt import VLTConfig, VLTNet, model_checkpoint

    def search(out="search", checkpoint=supernet, *extra):
        return cli_main(["search", "--supernet", str(checkpoint), "--dataset", "mini-lasot", "--root",
                         str(tiny_mini_lasot), "--profile", "tiny", "--out", str(tmp_path / out), "--no-progress",
                         "--device", "cpu", "population=2", "top_k=1", "generations=1", "mutation_children=0",
                         "crossover_children=0", "num_videos=1", "max_frames=5", *extra])

    assert search() == 0 and "best fitness" in capsys.readouterr().out
    best = tmp_path / "search" / BEST_NAME
    assert json.loads((tmp_path / "search" / "search_summary.json").read_text())["evaluations"] == 2
    assert cli_main(["train", "--model", "vlt", "--candidate", str(best), "--dataset", "mini-lasot", "--root",
                     str(tiny_mini_lasot), "--profile", "tiny", "--out", str(tmp_path / "retrain"), "--no-progress",
                     "--stop-after", "1", "train.batch_size=2"]) == 0  # the trainer accepts the found candidate
    vlt = tmp_path / "vlt.pt"
    atomic_torch_save(model_checkpoint(VLTNet(VLTConfig.for_profile("tiny")), kind="vlt", text_model="minilm"), vlt)
    for out, checkpoint, extra, message in (("search", supernet, (), "--resume"),
                                            ("a", tmp_path / "missing.pt", (), "not found"),
                                            ("b", vlt, (), "the search needs a supernet checkpoint"),
                                            ("c", supernet, ("--split", "test"), "never see the test split"),
                                            ("d", supernet, ("population=x",), "population")):
        assert search(out, checkpoint, *extra) == 2
        assert message in capsys.readouterr().err
    assert search("search", supernet, "--resume") == 0  # a finished search resumes to the same result
