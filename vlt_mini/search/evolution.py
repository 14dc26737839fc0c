"""Evolutionary search of a VLT candidate in the trained supernet (ASS, paper §3.2, Eq. 3, App. A.3 / Alg. 1).

    a* = argmax_a  SUC_val( W_A(a) )                                                             (Eq. 3)

every candidate ``a`` (template path φ_t, search path φ_s, ModaMixer ops φ_m) inherits its weights ``W_A(a)`` from the
supernet trained with uniform paths (Eq. 2), and is scored by the tracker's SUC on validation videos. The algorithm is
SPOS's (``megvii-model/SinglePathOneShot``, ``src/Search/search.py``) with the paper's defaults (docs/official_code.md):

- generation 0: ``population`` random candidates; every later generation: ``mutation_children`` children of random
  top-k parents with every gene resampled with probability ``mutation_probability``, ``crossover_children`` children
  taking each gene from one of two random top-k parents, then random candidates up to ``population``;
- candidates already evaluated, repeated or outside the budget (``CandidateBudget``) are skipped, with at most
  ``tries_per_child`` draws per wanted child as SPOS; the top-k is kept over everything evaluated so far.
- Not copied from the official code (docs/official_code.md): mutation never touching the search-side mixer genes, and
  crossover swapping whole sub-lists. Symmetric mode (Tab. 5a) evolves one path and one set of mixer ops for both.

Fitness (``FitnessEvaluator``): reset the BatchNorm statistics and re-estimate them with the candidate over a few
training batches (SPOS's BN recalibration; the supernet's running averages mix every path), track the validation
videos (truncated to ``max_frames``), score SUC as the LaSOT toolkit does, then put the supernet's statistics back.

Files in ``out_dir``: ``search_config.json``; ``evaluations.jsonl`` (one line per evaluated candidate, rewritten
atomically after each, so a crash loses nothing and ``resume`` replays the search from it: the generator of each
generation is seeded by (seed, generation), so a resumed search equals an uninterrupted one); at the end
``top_candidates/rank_01.json`` ... and ``best_candidate.json`` (``vlt-mini train --candidate FILE``),
``search_summary.json`` and ``fitness.png``. A fitness is reproducible on one machine with one number of threads;
another thread count changes the float rounding of the recalibrated statistics, and tracking can amplify that into a
different SUC (so a search resumed with other threads goes on from the log, but not exactly as it would have).
"""
from __future__ import annotations

import dataclasses
import io
import json
import random
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from vlt_mini.config import check_profile, config_to_dict
from vlt_mini.profiles import profile_settings
from vlt_mini.io import atomic_write_bytes, atomic_write_text
from vlt_mini.models.candidate import NUM_STAGES, Candidate
from vlt_mini.models.choice_blocks import NUM_CHOICES
from vlt_mini.models.supernet import NUM_CHOICE_LAYERS

LOG_NAME, CONFIG_NAME, SUMMARY_NAME = "evaluations.jsonl", "search_config.json", "search_summary.json"
PLOT_NAME, TOP_DIR, BEST_NAME = "fitness.png", "top_candidates", "best_candidate.json"


@dataclass
class SearchConfig:
    """The evolution (SPOS / VLT defaults) and the fitness settings; ``SearchConfig.for_profile(name)``."""

    profile: str = "paper"
    population: int = 50
    top_k: int = 10
    generations: int = 20
    mutation_children: int = 25
    crossover_children: int = 25
    mutation_probability: float = 0.1
    tries_per_child: int = 10         # SPOS: at most 10 draws per wanted child
    symmetric: bool = False           # one path and one set of mixer ops for both branches (Tab. 5a)
    max_parameters: int = 0           # budget (0: none), as ``CandidateBudget``
    max_macs: int = 0
    split: str = "val"                # fitness videos; never the test split
    num_videos: int = 20              # the first videos of the split (the official code: 20 fixed videos)
    max_frames: int = 100             # frames per video (0: whole videos)
    bn_batches: int = 50              # BN recalibration: training batches in train mode (0: off)
    bn_batch_size: int = 64
    tracker_preset: str = ""          # tracker hyper-parameters ("": the dataset's preset)
    seed: int = 0

    def __post_init__(self) -> None:
        check_profile(self.profile)
        problems = [f"{name} must be >= 1" for name in ("population", "top_k", "generations", "tries_per_child",
                                                         "num_videos", "bn_batch_size") if getattr(self, name) < 1]
        if min(self.mutation_children, self.crossover_children, self.max_frames, self.bn_batches,
               self.max_parameters, self.max_macs) < 0:
            problems.append("children, max_frames, bn_batches and budgets must be >= 0")
        if not 0.0 <= self.mutation_probability <= 1.0:
            problems.append(f"mutation_probability is a probability, got {self.mutation_probability}")
        if self.max_frames == 1:
            problems.append("max_frames must be 0 (whole videos) or >= 2 (frame 1 is the given box)")
        if problems:
            raise ValueError("SearchConfig: " + "; ".join(problems))
        if self.split.strip().lower() in ("test", "all"):
            raise ValueError(f"SearchConfig: split={self.split!r} refused: the search must never see the test split "
                             "(its fitness would select on the numbers it reports); use 'val'")

    def check(self) -> "SearchConfig":
        """The checks between fields (separate, so that command-line overrides may come in any order)."""
        if self.top_k > self.population or self.mutation_children + self.crossover_children > self.population:
            raise ValueError(f"SearchConfig: need top_k <= population and mutation + crossover children <= "
                             f"population, got top_k {self.top_k}, children {self.mutation_children} + "
                             f"{self.crossover_children}, population {self.population}")
        return self

    @classmethod
    def for_profile(cls, profile: str, **overrides) -> "SearchConfig":
        """``paper``: SPOS / VLT's evolution (1000 evaluations) and ~50 recalibration batches (docs/official_code.md;
        the batch
        size is the training one, 64); the official code scores "the first frames" of 20 videos without saying how
        many: 100 frames is our choice, so that 1000 evaluations fit the paper's 15 GPU-hours (~54 s each).
        ``tiny``: seconds (CI); ``cpu``: about 15 minutes on a 2-core laptop (see below)."""
        settings = profile_settings(profile, "search")
        return dataclasses.replace(cls(profile=profile, **settings), **overrides).check()


# ------------------------------------------------------------------------------------------- gene operators
def free_genes(candidate: Candidate, symmetric: bool = False) -> list[int]:
    """The genes evolution changes: all 48, or in symmetric mode the 24 shared ones (path + mixer ops)."""
    return list(candidate.template_path + candidate.template_mixer) if symmetric else list(candidate.genes)


def from_free_genes(genes: Sequence[int], symmetric: bool = False) -> Candidate:
    if symmetric:
        return Candidate.symmetric(genes[:NUM_CHOICE_LAYERS], genes[NUM_CHOICE_LAYERS:NUM_CHOICE_LAYERS + NUM_STAGES])
    return Candidate.from_genes(genes)


def mutate(parent: Candidate, probability: float, rng: random.Random, symmetric: bool = False) -> Candidate:
    """Every gene (both paths and both branches' mixer ops) redrawn uniformly with ``probability`` (SPOS)."""
    return from_free_genes([rng.randrange(NUM_CHOICES) if rng.random() < probability else gene
                            for gene in free_genes(parent, symmetric)], symmetric)


def crossover(first: Candidate, second: Candidate, rng: random.Random, symmetric: bool = False) -> Candidate:
    """Each gene from one of the two parents, chosen independently (SPOS's gene-level crossover)."""
    return from_free_genes([a if rng.random() < 0.5 else b for a, b in
                            zip(free_genes(first, symmetric), free_genes(second, symmetric))], symmetric)


# ------------------------------------------------------------------------------------------------- fitness
@contextmanager
def preserved_batch_norm(model: nn.Module) -> Iterator[None]:
    """The BatchNorm running statistics of ``model`` are put back on exit: recalibration changes them for one
    candidate, and every candidate must start from the supernet's own (cheaper than copying the whole network)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.running_mean.clone(), m.running_var.clone(), m.num_batches_tracked.clone()) for m in norms]
    try:
        yield
    finally:
        for norm, (mean, var, count) in zip(norms, saved):
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(var)
            norm.num_batches_tracked.copy_(count)


def truncate(sequence, max_frames: int):
    """The first ``max_frames`` frames of a sequence (0: all of it)."""
    if not max_frames or len(sequence) <= max_frames:
        return sequence
    cover = sequence.cover[:max_frames] if sequence.cover is not None else None
    return dataclasses.replace(sequence, frame_paths=sequence.frame_paths[:max_frames],
                               ground_truth=sequence.ground_truth[:max_frames], visible=sequence.visible[:max_frames],
                               cover=cover)


class FitnessEvaluator:
    """``evaluator(candidate)`` -> {"fitness": SUC, "prec", "norm_prec", "frames", "recalibrated"} of the
    ``VLTTracker`` running ``model`` (the supernet) with that candidate on ``videos``."""

    def __init__(self, model, text_encoder, videos: Sequence, recalibration_batches: Iterable[dict] | None = None,
                 preset: str = "lasot", device: str | torch.device = "cpu", fast: bool = True) -> None:
        """``fast``: track with the tracker's fast path (folded BatchNorms, see ``VLTTracker``), every video in one
        batch per frame step (``track_in_lockstep``); False: the reference path, one video after the other."""
        self.model, self.text_encoder, self.videos, self.fast = model, text_encoder, list(videos), fast
        self.recalibration_batches, self.preset, self.device = recalibration_batches, preset, torch.device(device)
        if not self.videos:
            raise ValueError("the fitness needs at least one validation video")

    @torch.no_grad()
    def __call__(self, candidate: Candidate, recalibrate: bool = True) -> dict:
        from vlt_mini.evaluation.ope import evaluate_ope
        from vlt_mini.tracking.runner import track_sequence
        from vlt_mini.tracking.tracker import VLTTracker, track_in_lockstep
        from vlt_mini.training.batchnorm import recalibrate_batch_norm

        recalibrate = recalibrate and self.recalibration_batches is not None
        previous = self.model.candidate
        with preserved_batch_norm(self.model):
            try:
                self.model.candidate = candidate  # the tracker runs the model's candidate
                if recalibrate:
                    recalibrate_batch_norm(self.model, self.recalibration_batches, candidate, self.device)
                # built after the recalibration: the fast path folds this candidate's recalibrated statistics
                tracker = VLTTracker(self.model, self.text_encoder, self.preset, device=self.device, fast=self.fast)
                if self.fast and tracker.folded is not None:  # every video in one batch per frame step
                    boxes = track_in_lockstep([VLTTracker(self.model, self.text_encoder, self.preset, device=self.device,
                                                          folded=tracker.folded) for _ in self.videos], self.videos)
                else:
                    boxes = [track_sequence(tracker, video).boxes for video in self.videos]
            finally:
                self.model.candidate = previous
        result = evaluate_ope(boxes, [v.ground_truth for v in self.videos], [v.visible for v in self.videos],
                              [v.name for v in self.videos])
        return {"fitness": result.suc, "prec": result.prec, "norm_prec": result.norm_prec,
                "frames": int(result.lengths.sum()), "recalibrated": recalibrate}


# -------------------------------------------------------------------------------------------------- search
def read_evaluations(path: str | Path) -> list[dict]:
    """The records of an ``evaluations.jsonl`` log (a search folder or the file itself), checked line by line."""
    path = Path(path)
    path = path / LOG_NAME if path.is_dir() else path
    records = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        try:
            record = json.loads(line)
            Candidate.from_genes(record["genes"])
            float(record["fitness"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: not an evaluation record ({error})") from None
        records.append(record)
    return records


class EvolutionarySearch:
    """The evolution loop; ``run(resume)`` returns the summary and writes the files listed in the module docstring.

    ``evaluate(candidate)`` returns the fitness (a float, or a dict with "fitness" and other numbers to log);
    ``budget`` (a ``CandidateBudget``) limits the candidates and adds their parameters / multiply-adds to the log.
    """

    def __init__(self, config: SearchConfig, evaluate: Callable[[Candidate], float | Mapping], out_dir: str | Path,
                 budget=None, progress: bool = True, info: Mapping | None = None) -> None:
        self.config, self.evaluate, self.out_dir = config.check(), evaluate, Path(out_dir)
        self.budget, self.progress, self.info = budget, progress, dict(info or {})

    # ------------------------------------------------------------------ log
    @property
    def log_path(self) -> Path:
        return self.out_dir / LOG_NAME

    def _settings(self) -> dict:
        return {"search": config_to_dict(self.config), **self.info}

    def _start(self, resume: bool) -> list[dict]:
        config_path = self.out_dir / CONFIG_NAME
        if self.log_path.is_file() and not resume:
            raise ValueError(f"{self.out_dir} already holds a search ({LOG_NAME}); pass --resume (resume=True) to "
                             "continue it or choose another output folder")
        previous = read_evaluations(self.log_path) if resume and self.log_path.is_file() else []
        if previous and config_path.is_file():
            saved, current = json.loads(config_path.read_text()), json.loads(json.dumps(self._settings()))
            different = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            if different:
                raise ValueError(f"{config_path}: cannot resume: the search was started with different settings for "
                                 f"{', '.join(different)}")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(config_path, json.dumps(self._settings(), indent=2) + "\n")
        return previous

    # ------------------------------------------------------------------ evolution
    def _fits(self, candidate: Candidate) -> bool:
        return self.budget is None or self.budget.fits(candidate)

    def _random(self, rng: random.Random) -> Candidate:
        if self.budget is not None:
            return self.budget.sample(rng, symmetric=self.config.symmetric)
        return Candidate.sample(rng, symmetric=self.config.symmetric)

    def _children(self, make: Callable[[], Candidate], wanted: int, seen: set) -> list[Candidate]:
        """Up to ``wanted`` new candidates from ``make``, skipping seen ones and those outside the budget."""
        children = []
        for _ in range(wanted * self.config.tries_per_child):
            if len(children) == wanted:
                break
            child = make()
            if child.genes not in seen and self._fits(child):
                seen.add(child.genes)
                children.append(child)
        return children

    def generation_candidates(self, generation: int, top: list[Candidate], seen: set) -> list[tuple[Candidate, str]]:
        """The new candidates of ``generation`` (with their origin); ``seen`` (genes evaluated so far) is updated."""
        config = self.config
        rng = random.Random(f"search:{config.seed}:{generation}")
        chosen: list[tuple[Candidate, str]] = []
        if generation > 0:
            mutated = self._children(lambda: mutate(rng.choice(top), config.mutation_probability, rng,
                                                    config.symmetric), config.mutation_children, seen)
            crossed = self._children(lambda: crossover(rng.choice(top), rng.choice(top), rng, config.symmetric),
                                     config.crossover_children, seen)
            chosen = [(c, "mutation") for c in mutated] + [(c, "crossover") for c in crossed]
        fill = self._children(lambda: self._random(rng), config.population - len(chosen), seen)
        return chosen + [(c, "random") for c in fill]

    def run(self, resume: bool = False) -> dict:
        from tqdm.auto import tqdm

        config = self.config
        previous = self._start(resume)
        records: list[dict] = []
        seen: set = set()
        top: list[dict] = []
        generations = []
        bar = tqdm(total=config.population * config.generations, unit="candidate", desc="search",
                   disable=not self.progress, dynamic_ncols=True)
        try:
            for generation in range(config.generations):
                scored = []
                for candidate, origin in self.generation_candidates(
                        generation, [Candidate.from_genes(r["genes"]) for r in top], seen):
                    scored.append(self._record(candidate, origin, generation, len(records), previous, records))
                    bar.update(1)
                top = sorted(records, key=lambda r: (-r["fitness"], r["index"]))[:config.top_k]
                fitness = [r["fitness"] for r in scored]
                generations.append({
                    "generation": generation, "evaluated": len(scored),
                    "best": max(fitness, default=None), "mean": float(np.mean(fitness)) if fitness else None,
                    "best_so_far": top[0]["fitness"], "top_k_mean": float(np.mean([r["fitness"] for r in top])),
                    "origins": {o: sum(r["origin"] == o for r in scored) for o in ("mutation", "crossover", "random")}})
                bar.set_postfix(best=f"{top[0]['fitness']:.2f}", generation=generation)
        finally:
            bar.close()
        return self._finish(records, top, generations, reused=min(len(previous), len(records)))

    def _record(self, candidate: Candidate, origin: str, generation: int, index: int, previous: list[dict],
                records: list[dict]) -> dict:
        """The log record of a candidate: read back from the previous log when resuming, else evaluated now."""
        if index < len(previous):
            record = previous[index]
            if record["genes"] != list(candidate.genes) or record["generation"] != generation:
                raise ValueError(f"{self.log_path}:{index + 1}: the log does not follow this search (another seed or "
                                 "setting?); it cannot be resumed")
        else:
            started = time.perf_counter()
            result = self.evaluate(candidate)
            seconds = time.perf_counter() - started
            result = dict(result) if isinstance(result, Mapping) else {"fitness": result}
            record = {"index": index, "generation": generation, "origin": origin, "genes": list(candidate.genes),
                      "fitness": float(result.pop("fitness")), **result, "seconds": seconds}
            if self.budget is not None:
                record.update(parameters=self.budget.parameters(candidate), macs=self.budget.macs(candidate))
        records.append(record)
        if index >= len(previous):  # the whole log rewritten atomically: a crash keeps every finished evaluation
            atomic_write_text(self.log_path, "".join(json.dumps(r) + "\n" for r in records))
        return record

    # ------------------------------------------------------------------ results
    def _finish(self, records: list[dict], top: list[dict], generations: list[dict], reused: int) -> dict:
        top_dir = self.out_dir / TOP_DIR
        for stale in top_dir.glob("rank_*.json") if top_dir.is_dir() else ():
            stale.unlink()
        ranked = []
        for rank, record in enumerate(top, start=1):
            candidate = Candidate.from_genes(record["genes"])
            note = f"rank {rank} of the evolutionary search (generation {record['generation']}, {record['origin']})"
            candidate.save(top_dir / f"rank_{rank:02d}.json", fitness=record["fitness"], note=note)
            ranked.append({"rank": rank, "fitness": record["fitness"], "generation": record["generation"],
                           "index": record["index"], "candidate": candidate.to_dict()})
        best = Candidate.from_genes(top[0]["genes"])
        best.save(self.out_dir / BEST_NAME, fitness=top[0]["fitness"], note="best of the evolutionary search")
        summary = {**self._settings(), "evaluations": len(records), "reused_from_log": reused,
                   "evaluation_seconds": float(sum(r.get("seconds", 0.0) for r in records)),
                   "torch_threads": torch.get_num_threads(),
                   "best": ranked[0], "top_k": ranked, "generations": generations}
        atomic_write_text(self.out_dir / SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")
        plot_fitness(records, generations, self.out_dir / PLOT_NAME)
        return summary


def plot_fitness(records: list[dict], generations: list[dict], out_path: str | Path | None = None):
    """Every candidate's fitness by generation, with the generation's best and mean and the best so far."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 3.6), layout="constrained")
    axis = figure.subplots()
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(records))
    axis.scatter([r["generation"] + j for r, j in zip(records, jitter)], [r["fitness"] for r in records], s=12,
                 alpha=0.4, color="#7f7f7f", label="candidates")
    x = [g["generation"] for g in generations]
    axis.plot(x, [g["best"] for g in generations], "o-", color="#d62728", label="generation best")
    axis.plot(x, [g["mean"] for g in generations], "s--", color="#1f77b4", label="generation mean")
    axis.plot(x, [g["best_so_far"] for g in generations], ":", color="#2ca02c", label="best so far")
    axis.set_xlabel("generation")
    axis.set_ylabel("fitness: validation SUC (%)")
    axis.set_xticks(x)
    axis.legend(fontsize=8)
    if out_path is not None:
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=90)
        atomic_write_bytes(out_path, buffer.getvalue())
    return figure
