"""The paper's ablations (Tables 3, 4, 5a–c, 8a) and the search check as declarative rows, and their results tables.

Every row names a training (model kind, where its candidate comes from, config overrides) and a test-time setting
(the sentence given, withheld, or replaced), and the paper's row it stands for. Every training uses the profile's
recipe (``train_model``): no row overrides a ``train.*`` field, so every row has the same budget. Rows that share a
training (Table 4's test-time variants) share one trained model. ``vlt-mini ablate`` (``vlt_mini.experiments.ablation_runs``,
``run_ablation``) trains, tracks and scores them; ``OUT/table<T>/table.csv`` and ``table.md`` give mean ± sample std
over seeds of SUC / P_norm / P (percent) beside the paper's LaSOT numbers (``vlt_mini.evaluation.published``, typed
from the paper), ``runs.csv`` every run's scores, ``per_video.csv`` every run's SUC per test video. ``directions.md``
and ``comparisons.csv`` compare the rows whose difference is the paper's claim, paired per seed and video, with a
95 % interval from a hierarchical bootstrap (``vlt_mini.evaluation.statistics``).

Stand-ins where mini-LaSOT or this project differ from the paper (also printed under each table):
- Table 3: the paper's rows without ASS use SiamCAR's hand-designed ResNet-50. Here "fixed" = the SPOS ImageNet path
  (searched for classification, not for tracking) for both branches, with a fixed Shuffle 3×3 ModaMixer block.
  The searched candidate is ``--candidate`` (a ``vlt-mini search`` result), else the official VLT_SCAR candidate (the
  paper's search result; a note says so). The paper searched its "+ASS (vision only)" row without language; here it
  reuses the searched candidate's backbone paths.
- Table 4: every mini-LaSOT video has a sentence, so the two trainings drop the sentence of half of the pairs
  (``pairs.language_fraction=0.5``, standing in for the paper's sentence-less COCO / VID / DET / YouTube-BB) to let
  the 0-tensor or template token matter. The paper's "pseudo language" comes from an image-caption model; there is
  none here, so two stand-ins are tested: another test video's sentence (wrong) and a generic one ("an object").
- Table 5a: the symmetric candidate is ``--symmetric-candidate`` (``vlt-mini search --symmetric``), else the searched
  candidate's template path and mixer ops used for both branches (a stand-in, not a symmetric search's result).
- Tables 5 use the 0-tensor network (the paper: its template setting): with every training pair carrying a sentence
  the no-sentence token is never used, and the reference row is then the same training as Table 3's last row.
- "search" is not a table of the paper but the check its Sec. 3.2 rests on: the candidate found by ``vlt-mini search``
  (``--candidate``, required), the official VLT_SCAR candidate and a random candidate (``Candidate.sample`` with seed
  ``RANDOM_CANDIDATE_SEED``), each trained from scratch with the same recipe. The paper reports no such difference;
  the expected direction is that the searched candidate does not lose to either.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

TABLES = ("3", "4", "5a", "5b", "5c", "8a", "search")
PAPER_TABLES = ("3", "4", "5a", "5b", "5c", "8a")  # the rest have no row in the paper (``paper_row`` None)
CANDIDATE_SOURCES = ("fixed", "searched", "symmetric", "official", "random")
RANDOM_CANDIDATE_SEED = 0
SENTENCE_MODES = ("own", "other-video", "generic")
GENERIC_SENTENCE = "an object"
TABLE4_LANGUAGE_FRACTION = 0.5
SETUP_NAME, TABLE_CSV, TABLE_MD, RUNS_CSV = "setup.json", "table.csv", "table.md", "runs.csv"
PER_VIDEO_CSV, COMPARISONS_CSV = "per_video.csv", "comparisons.csv"
METRICS = (("suc", "SUC"), ("norm_prec", "P_norm"), ("prec", "P"))


@dataclass(frozen=True)
class Training:
    """One trained model: its folder name, model kind, candidate source and config overrides (never ``train.*``)."""

    slug: str
    kind: str                        # "siamcar" (vision only) or "vlt"
    candidate: str = "searched"      # one of CANDIDATE_SOURCES (see the module docstring)
    overrides: tuple[str, ...] = ()  # "model.mixer_residual=false", "pairs.language_fraction=0.5", ...


@dataclass(frozen=True)
class Row:
    """One row of a table: a training, a test-time setting, and the paper's row it corresponds to."""

    slug: str
    setting: str
    training: Training
    paper_row: int | None            # row number in ``published.ablation_table(table)``; None: not in the paper
    use_language: bool = True        # False: the tracker gets no sentence (the network's no-sentence token)
    sentence: str = "own"            # "own", "other-video" (another test video's) or "generic" (GENERIC_SENTENCE)


def _reference(slug: str, *overrides: str) -> Training:
    """VLT-mini: the searched candidate with ModaMixer (searched blocks, residual, 0-tensor)."""
    return Training(slug, "vlt", "searched", overrides)


def _table4() -> tuple[Row, ...]:
    rows = []
    for offset, mode in ((0, "0-tensor"), (3, "template")):
        training = Training(f"{mode}-training", "vlt", "searched",
                            (f"model.no_sentence_mode={mode}", f"pairs.language_fraction={TABLE4_LANGUAGE_FRACTION}"))
        rows += [Row(f"{mode}-with-sentence", f"{mode} training, with the sentence", training, offset + 1),
                 Row(f"{mode}-without-sentence", f"{mode} training, without a sentence", training, offset + 2, False),
                 Row(f"{mode}-other-video-sentence", f"{mode} training, another video's sentence (pseudo stand-in)",
                     training, offset + 3, sentence="other-video"),
                 Row(f"{mode}-generic-sentence", f"{mode} training, \"{GENERIC_SENTENCE}\" (pseudo stand-in)",
                     training, offset + 3, sentence="generic")]
    return tuple(rows)


TABLE_ROWS: dict[str, tuple[Row, ...]] = {
    "3": (
        Row("baseline", "baseline: vision only, fixed architecture", Training("baseline", "siamcar", "fixed"), 1),
        Row("modamixer", "+ModaMixer (fixed architecture)",
            Training("modamixer", "vlt", "fixed", ("model.mixer_searched_block=false",)), 2),
        Row("ass-vision-only", "+ASS (vision only: searched paths, no ModaMixer)",
            Training("ass-vision-only", "siamcar", "searched"), 3),
        Row("modamixer-ass", "+ModaMixer +ASS (VLT-mini)", _reference("modamixer-ass"), 4),
    ),
    "4": _table4(),
    "5a": (
        Row("symmetric", "symmetric architecture", Training("symmetric", "vlt", "symmetric"), 1),
        Row("asymmetric", "asymmetric architecture (VLT-mini)", _reference("asymmetric"), 2),
    ),
    "5b": (
        Row("fixed-shuffle-block", "fixed Shuffle 3×3 block in ModaMixer",
            _reference("fixed-shuffle-block", "model.mixer_searched_block=false"), 1),
        Row("searched-block", "searched block in ModaMixer (VLT-mini)",
            _reference("searched-block", "model.mixer_searched_block=true"), 2),
    ),
    "5c": (
        Row("without-residual", "ModaMixer without residual",
            _reference("without-residual", "model.mixer_residual=false"), 1),
        Row("with-residual", "ModaMixer with residual (VLT-mini)",
            _reference("with-residual", "model.mixer_residual=true"), 2),
    ),
    "8a": tuple(
        Row(f"language-{percent}", f"{percent}% of training pairs with their sentence",
            _reference(f"language-{percent}", "model.no_sentence_mode=template",
                       f"pairs.language_fraction={percent / 100}"), index)
        for index, percent in enumerate((50, 75, 100), start=1)),
    "search": (
        Row("searched", "the candidate found by `vlt-mini search`", _reference("searched"), None),
        Row("vlt-scar", "the official VLT_SCAR candidate", Training("vlt-scar", "vlt", "official"), None),
        Row("random", f"a random candidate (seed {RANDOM_CANDIDATE_SEED})", Training("random", "vlt", "random"), None),
    ),
}

TABLE_NOTES: dict[str, tuple[str, ...]] = {
    "3": ("Without ASS the paper uses SiamCAR's ResNet-50; here the 'fixed architecture' is the SPOS ImageNet path "
          "for both branches with a fixed Shuffle 3×3 ModaMixer block. '+ASS (vision only)' reuses the searched "
          "candidate's paths (the paper searched that row without language).",),
    "4": (f"mini-LaSOT videos all have sentences: both trainings drop the sentence of "
          f"{TABLE4_LANGUAGE_FRACTION:.0%} of the pairs (the stand-in for the paper's sentence-less datasets).",
          "The paper's pseudo language comes from an image-caption model; there is none here. Its row is compared "
          f"with two stand-ins: another test video's sentence, and the generic \"{GENERIC_SENTENCE}\".",),
    "5a": ("The paper's rows use its template setting; here the 0-tensor network (every training pair has a sentence, "
           "so the token is unused in training).",),
    "5b": ("The paper's rows use its template setting; here the 0-tensor network (see Table 5a).",),
    "5c": ("The paper's rows use its template setting; here the 0-tensor network (see Table 5a).",),
    "8a": ("Template setting, as the paper. The pairs that lose their sentence get the template token.",),
    "search": ("Not a table of the paper: the check behind its search (Sec. 3.2). Every candidate is VLT-mini's "
               "network with ModaMixer (searched blocks, residual, 0-tensor), trained from scratch with the same "
               "recipe; the paper reports no such difference, so the paper columns are empty.",),
}


def check_table(table: str) -> str:
    if str(table) not in TABLE_ROWS:
        raise ValueError(f"unknown ablation table {table!r}; choose one of {', '.join(TABLES)}")
    return str(table)


def select_rows(table: str, rows: Sequence[str] | None = None) -> list[Row]:
    """The rows of ``table``, or those named in ``rows`` (slugs), in table order."""
    available = TABLE_ROWS[check_table(table)]
    if not rows:
        return list(available)
    unknown = sorted(set(rows) - {row.slug for row in available})
    if unknown:
        raise ValueError(f"table {table} has no row {', '.join(unknown)}; its rows: "
                         f"{', '.join(row.slug for row in available)}")
    return [row for row in available if row.slug in rows]


def override_key(item: str) -> str:
    return item.lstrip("-").partition("=")[0]


def training_overrides(training: Training, overrides: Sequence[str] = ()) -> list[str]:
    """The user's overrides, then the training's own; a user override of a key the training sets is refused."""
    mine = {override_key(item) for item in training.overrides}
    clash = sorted(mine & {override_key(item) for item in overrides})
    if clash:
        raise ValueError(f"override {', '.join(clash)}: the ablation's rows set it (training {training.slug!r})")
    return [*overrides, *training.overrides]


def training_setup(training: Training, profile: str, overrides: Sequence[str] = (), seed: int = 0):
    """The ``TrainingSetup`` ``train_model`` will use for this training (the profile's recipe + overrides)."""
    from vlt_mini.config import apply_overrides
    from vlt_mini.training.trainer import TrainingSetup

    return apply_overrides(TrainingSetup.for_profile(profile),
                           [*training_overrides(training, overrides), f"train.seed={seed}"])


def resolve_candidates(candidate=None, symmetric_candidate=None) -> dict:
    """Candidate source -> (``Candidate``, a note on where it comes from)."""
    import random

    from vlt_mini.models.candidate import VLT_SCAR_CANDIDATE, Candidate
    from vlt_mini.models.supernet import SPOS_IMAGENET_PATH

    if candidate is not None:
        searched = (Candidate.load(candidate), f"searched candidate: {candidate}")
    else:
        searched = (VLT_SCAR_CANDIDATE, "searched candidate: the official VLT_SCAR candidate (the paper's search "
                                        "result, not searched here; pass --candidate best_candidate.json)")
    if symmetric_candidate is not None:
        symmetric = Candidate.load(symmetric_candidate)
        if not symmetric.is_symmetric:
            raise ValueError(f"{symmetric_candidate}: not a symmetric candidate (its two branches differ)")
        symmetric = (symmetric, f"symmetric candidate: {symmetric_candidate}")
    else:
        symmetric = (Candidate.symmetric(searched[0].template_path, searched[0].template_mixer),
                     "symmetric candidate: the searched candidate's template path and mixer ops for both branches "
                     "(a stand-in; pass --symmetric-candidate from `vlt-mini search --symmetric`)")
    fixed = (Candidate.symmetric(SPOS_IMAGENET_PATH, (0, 0, 0, 0)),
             "fixed architecture: the SPOS ImageNet path for both branches, Shuffle 3×3 ModaMixer blocks")
    official = (VLT_SCAR_CANDIDATE, "official candidate: VLT_SCAR (the paper's search result)")
    drawn = (Candidate.sample(random.Random(RANDOM_CANDIDATE_SEED)),
             f"random candidate: Candidate.sample(random.Random({RANDOM_CANDIDATE_SEED}))")
    return {"fixed": fixed, "searched": searched, "symmetric": symmetric, "official": official, "random": drawn}


def check_candidate_for_table(table: str, candidate) -> None:
    """The search check compares a search's result with VLT_SCAR: without ``--candidate`` it would compare VLT_SCAR
    with itself."""
    if table == "search" and candidate is None:
        raise ValueError("--table search needs --candidate (the best_candidate.json of `vlt-mini search`)")


def replace_sentences(sequences, mode: str) -> list:
    """The test sequences with the sentence a row gives the tracker: ``own`` (unchanged), ``other-video`` (the next
    video's, in split order, that differs) or ``generic`` (``GENERIC_SENTENCE``); stand-ins for a caption model."""
    sequences = list(sequences)
    if mode not in SENTENCE_MODES:
        raise ValueError(f"unknown sentence mode {mode!r}; choose one of {', '.join(SENTENCE_MODES)}")
    if mode == "own":
        return sequences
    if mode == "generic":
        return [dataclasses.replace(s, sentence=GENERIC_SENTENCE) for s in sequences]
    replaced = []
    for index, sequence in enumerate(sequences):
        others = [sequences[(index + step) % len(sequences)].sentence for step in range(1, len(sequences))]
        wrong = next((s for s in others if s and s.strip() and s != sequence.sentence), None)
        if wrong is None:
            raise ValueError("'other-video' sentences need at least two test videos with different sentences")
        replaced.append(dataclasses.replace(sequence, sentence=wrong))
    return replaced


def tracker_preset(dataset: str) -> str:
    from vlt_mini.tracking.tracker import PRESETS

    return dataset if dataset in PRESETS else "lasot"


def default_root(dataset: str, root, profile: str, progress: bool = True) -> Path:
    """The dataset root: ``root``, else the dataset's environment variable; for mini-LaSOT without one,
    ``<data>/mini-lasot-<profile>-seed0`` (generated if missing)."""
    from vlt_mini.data.registry import resolve_root

    if root is None and dataset == "mini-lasot":
        from vlt_mini.data.mini_lasot import default_folder_name, generate_mini_lasot
        from vlt_mini.io import data_dir

        root = generate_mini_lasot(data_dir() / default_folder_name(profile, 0), profile=profile, seed=0,
                                   progress=progress)
    return resolve_root(dataset, root)


# ------------------------------------------------------------------------------------------------------ the tables
def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def paper_rows(table: str) -> dict:
    """The paper's rows of ``table`` (``published.ablation_table``) by row number; none for the search check."""
    from vlt_mini.evaluation.published import ablation_table

    return {row.row: row for row in ablation_table(table)} if table in PAPER_TABLES else {}


def summarize(table: str, runs: list[dict]) -> list[dict]:
    """One dict per row of the table: our mean / std over seeds, and the paper's LaSOT numbers."""
    paper = paper_rows(table)
    summary = []
    for row in TABLE_ROWS[table]:
        mine = sorted((run for run in runs if run["row"] == row.slug), key=lambda run: run["seed"])
        entry = {"table": table, "row": row.slug, "setting": row.setting, "training": row.training.slug,
                 "seeds": " ".join(str(run["seed"]) for run in mine)}
        for key, _ in METRICS:
            entry[f"{key}_mean"], entry[f"{key}_std"] = _mean_std([run[key] for run in mine])
        published = paper.get(row.paper_row)
        entry.update(paper_row=row.paper_row, paper_setting=published and published.setting,
                     paper_suc=published and published.lasot_suc, paper_norm_prec=published and published.lasot_pnorm,
                     paper_prec=published and published.lasot_p)
        summary.append(entry)
    return summary


def _cell(mean, std, signed: bool = False) -> str:
    if mean is None:
        return "–"
    value = f"{mean:+.1f}" if signed else f"{mean:.1f}"
    return value if std is None else f"{value} ± {std:.1f}"


def _csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if v is None else round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                     for row in rows)
    return buffer.getvalue()


def format_markdown(table: str, summary: list[dict], profile: str, dataset: str, test, seeds: Sequence[int],
                    notes: Sequence[str] = (), command: str | None = None, budget: str | None = None) -> str:
    from vlt_mini.evaluation.report import dataset_title

    title = f"Table {table}" if table in PAPER_TABLES else f"The {table} check"
    lines = [f"# {title} on {dataset_title(dataset, test.split)} ({profile} profile)", ""]
    if command:
        lines += [f"Command: `{command}`", ""]
    recipe = f" ({budget})" if budget else ""
    paper = (f"Paper: LaSOT test set (Guo et al., NeurIPS 2022, Table {table})." if table in PAPER_TABLES
             else "The paper has no such table (see the notes).")
    lines += [f"Ours: {len(test)} test videos, mean ± sample std over training seeds {', '.join(map(str, seeds))}, "
              f"percent; every row trained with the {profile} profile's recipe{recipe}. {paper}", "",
              "| row | seeds | SUC | P_norm | P | paper SUC | paper P_norm | paper P | paper row |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for entry in summary:
        ours = [_cell(entry[f"{key}_mean"], entry[f"{key}_std"]) for key, _ in METRICS]
        paper = [_cell(entry[f"paper_{key}"], None) for key, _ in METRICS]
        paper_row = "–" if entry["paper_row"] is None else f"{entry['paper_row']}: {entry['paper_setting']}"
        lines.append(f"| {entry['setting']} | {entry['seeds'] or '–'} | {' | '.join(ours)} | {' | '.join(paper)} | "
                     f"{paper_row} |")
    lines += ["", "Notes:", ""] + [f"- {note}" for note in [*TABLE_NOTES[table], *notes]]
    return "\n".join(lines) + "\n"


def write_tables(table_dir: Path, table: str, runs: list[dict], profile: str, dataset: str, test,
                 seeds: Sequence[int], notes: Sequence[str] = (), command: str | None = None,
                 budget: str | None = None) -> None:
    """``table.csv``, ``table.md``, ``runs.csv`` (every run's scores; results folders relative to ``table_dir``) and
    ``per_video.csv`` (every run's SUC per test video, where the runs carry it), atomically."""
    from vlt_mini.io import atomic_write_text

    summary = summarize(table, runs)
    atomic_write_text(table_dir / RUNS_CSV, _csv([{"table": table, **{k: v for k, v in run.items() if k != "per_video"}}
                                                  for run in runs]))
    per_video = [{"table": table, "row": run["row"], "seed": run["seed"], "video": video, "suc": suc}
                 for run in runs for video, suc in sorted(run.get("per_video", {}).items())]
    if per_video:
        atomic_write_text(table_dir / PER_VIDEO_CSV, _csv(per_video))
    atomic_write_text(table_dir / TABLE_CSV, _csv(summary))
    atomic_write_text(table_dir / TABLE_MD, format_markdown(table, summary, profile, dataset, test, seeds, notes,
                                                            command, budget))


# ------------------------------------------------------------------------------------- which directions reproduce
# Per table, the (row, reference row) pairs whose SUC difference is the paper's claim.
COMPARISONS: dict[str, tuple[tuple[str, str], ...]] = {
    "3": (("modamixer", "baseline"), ("ass-vision-only", "baseline"), ("modamixer-ass", "baseline")),
    "4": tuple((f"{mode}-{variant}", f"{mode}-with-sentence") for mode in ("0-tensor", "template")
               for variant in ("without-sentence", "other-video-sentence", "generic-sentence"))
         + (("template-with-sentence", "0-tensor-with-sentence"),),
    "5a": (("asymmetric", "symmetric"),),
    "5b": (("searched-block", "fixed-shuffle-block"),),
    "5c": (("with-residual", "without-residual"),),
    "8a": (("language-75", "language-50"), ("language-100", "language-50")),
    "search": (("searched", "vlt-scar"), ("searched", "random"), ("vlt-scar", "random")),
}


def compare_rows(table: str, runs: Sequence[dict], per_video: dict | None = None, resamples: int = 10_000) -> list[dict]:
    """The paper's claims of ``table`` against ours: per comparison, the paper's SUC difference and ours, paired by
    seed and, where ``per_video`` (``read_per_video``) has both rows' per-video SUC, by video; with the 95 % interval
    of a hierarchical bootstrap (seeds, then videos within a seed) and its ``verdict`` (``reproduces`` / ``opposite``
    / ``inconclusive``, ``vlt_mini.evaluation.statistics``). Without per-video scores the bootstrap resamples seeds
    only (``videos`` 0), and needs 2 seeds for an interval. Comparisons without a common seed are left out. Where the
    paper has no difference (``paper_delta`` None) the verdict reads the interval against a positive one: the row
    is expected not to lose to its reference."""
    from vlt_mini.evaluation.statistics import hierarchical_bootstrap, paired_differences, verdict

    paper = paper_rows(check_table(table))
    rows = {row.slug: row for row in TABLE_ROWS[table]}
    suc = {(run["row"], int(run["seed"])): float(run["suc"]) for run in runs}
    per_video = per_video or {}
    comparisons = []
    for slug, reference in COMPARISONS[table]:
        seeds = sorted(seed for (row, seed) in suc if row == slug and (reference, seed) in suc)
        if not seeds:
            continue
        deltas = [suc[slug, seed] - suc[reference, seed] for seed in seeds]
        paper_delta = (paper[rows[slug].paper_row].lasot_suc - paper[rows[reference].paper_row].lasot_suc
                       if paper else None)
        videos, low, high = 0, None, None
        ours = {(seed, video): value for (row, seed, video), value in per_video.items() if row == slug}
        theirs = {(seed, video): value for (row, seed, video), value in per_video.items() if row == reference}
        if set(ours) & set(theirs):
            table_of_differences, seeds, names = paired_differences(ours, theirs)
            result = hierarchical_bootstrap(table_of_differences, resamples)
            videos, low, high = len(names), result.ci_low, result.ci_high
            deltas = [float(np.nanmean(row)) for row in table_of_differences]
        elif len(deltas) > 1:
            result = hierarchical_bootstrap(np.array(deltas)[:, None], resamples)
            low, high = result.ci_low, result.ci_high
        comparisons.append({
            "table": table, "row": slug, "reference": reference, "setting": rows[slug].setting,
            "reference_setting": rows[reference].setting, "paper_delta": paper_delta,
            "delta_mean": statistics.mean(deltas), "delta_std": statistics.stdev(deltas) if len(deltas) > 1 else None,
            "deltas": deltas, "seeds": seeds, "videos": videos, "ci_low": low, "ci_high": high,
            "verdict": "inconclusive" if low is None else verdict(1.0 if paper_delta is None else paper_delta, low,
                                                                  high)})
    return comparisons


def read_per_video(table_dir) -> dict:
    """``per_video.csv`` of a table folder as ``{(row, seed, video): SUC}``; empty when the folder has none (runs
    scored before per-video SUC were recorded)."""
    path = Path(table_dir) / PER_VIDEO_CSV
    if not path.is_file():
        return {}
    scores = {}
    with path.open(newline="") as stream:
        for line, entry in enumerate(csv.DictReader(stream), start=2):
            try:
                scores[entry["row"], int(entry["seed"]), entry["video"]] = float(entry["suc"])
            except (KeyError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: not a per-video score ({error})") from None
    return scores


def read_runs(table_dir) -> list[dict]:
    """``runs.csv`` of a table folder (``vlt-mini ablate``'s or the committed ``results/``), numbers as numbers."""
    path = Path(table_dir) / RUNS_CSV
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no ablation runs there (run `vlt-mini ablate --table ... --out ...`)")
    runs = []
    with path.open(newline="") as stream:
        for line, run in enumerate(csv.DictReader(stream), start=2):
            try:
                runs.append({**run, "seed": int(run["seed"]), **{key: float(run[key]) for key, _ in METRICS}})
            except (KeyError, ValueError) as error:
                raise ValueError(f"{path}, line {line}: not an ablation run ({error})") from None
    return runs


def format_directions(comparisons: Sequence[dict]) -> str:
    """A Markdown table of ``compare_rows`` results (several tables at once)."""
    lines = ["| table | comparison | paper ΔSUC | ours ΔSUC (mean ± std over seeds) | 95 % CI | seeds × videos | "
             "per seed | verdict |", "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"]
    for entry in comparisons:
        per_seed = ", ".join(f"{delta:+.1f}" for delta in entry["deltas"])
        interval = "–" if entry["ci_low"] is None else f"[{entry['ci_low']:+.1f}, {entry['ci_high']:+.1f}]"
        lines.append(f"| {entry['table']} | {entry['setting']} vs {entry['reference_setting']} | "
                     f"{_cell(entry['paper_delta'], None, signed=True)} | "
                     f"{_cell(entry['delta_mean'], entry['delta_std'], signed=True)} | "
                     f"{interval} | {len(entry['seeds'])} × {entry['videos'] or '–'} | {per_seed} | "
                     f"{entry['verdict']} |")
    return "\n".join(lines) + "\n"


def comparison_rows(comparisons: Sequence[dict]) -> list[dict]:
    """``compare_rows`` results as rows of ``comparisons.csv`` (``vlt_mini.evaluation.statistics``)."""
    return [{"table": e["table"], "comparison": f"{e['row']} vs {e['reference']}",
             "paper_delta": "" if e["paper_delta"] is None else e["paper_delta"],
             "delta": e["delta_mean"], "ci_low": "" if e["ci_low"] is None else e["ci_low"],
             "ci_high": "" if e["ci_high"] is None else e["ci_high"], "seeds": len(e["seeds"]),
             "videos": e["videos"], "verdict": e["verdict"]} for e in comparisons]


def write_directions(out_dir) -> Path | None:
    """``OUT/directions.md`` (``format_directions``) and ``OUT/comparisons.csv`` over every
    ``OUT/table<T>/runs.csv`` (with its ``per_video.csv`` where present); None when there is none."""
    from vlt_mini.evaluation.statistics import write_comparisons
    from vlt_mini.io import atomic_write_text

    out_dir = Path(out_dir)
    comparisons = [entry for table in TABLES if (out_dir / f"table{table}" / RUNS_CSV).is_file()
                   for entry in compare_rows(table, read_runs(out_dir / f"table{table}"),
                                             read_per_video(out_dir / f"table{table}"))]
    if not comparisons:
        return None
    text = ("# Which of the paper's directions reproduce\n\nΔSUC = SUC of the row minus SUC of the reference, paired "
            "by training seed and test video (paper: LaSOT). 95 % CI: percentile interval of a hierarchical "
            "bootstrap, seeds resampled, then videos within each seed (`vlt_mini.evaluation.statistics`); where "
            "per-video scores were not recorded (× –), seeds only. Verdict: \"reproduces\" when the interval excludes "
            "0 on the paper's side, \"opposite\" when it excludes 0 on the other side, else \"inconclusive\". Where the "
            "paper has no difference (–: the search check), the paper's side is taken to be positive (the first "
            "does not lose to the second).\n\n"
            + format_directions(comparisons))
    atomic_write_text(out_dir / "directions.md", text)
    write_comparisons(out_dir / COMPARISONS_CSV, comparison_rows(comparisons))
    return out_dir / "directions.md"


def directions_figure(comparisons: Sequence[dict]):
    """Paper ΔSUC (grey) next to ours (per seed as dots, mean as a bar) for each comparison."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 0.45 * len(comparisons) + 1.9))
    ax = figure.add_subplot()
    for y, entry in enumerate(comparisons):
        ax.barh(y - 0.2, entry["paper_delta"] or 0.0, height=0.35, color="#9e9e9e",
                label="paper (LaSOT)" if y == 0 else None)
        colour = {"reproduces": "#2ca02c", "opposite": "#d62728"}.get(entry["verdict"], "#ff7f0e")
        ax.barh(y + 0.2, entry["delta_mean"], height=0.35, color=colour, alpha=0.8,
                label="ours (mean, 95 % CI; colour = verdict)" if y == 0 else None)
        if entry.get("ci_low") is not None:
            ax.plot([entry["ci_low"], entry["ci_high"]], [y + 0.2] * 2, color="black", linewidth=1.2)
        ax.plot(entry["deltas"], [y + 0.2] * len(entry["deltas"]), "k.", markersize=5)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(comparisons)))
    ax.set_yticklabels([f"{'T' if e['table'] in PAPER_TABLES else ''}{e['table']}: {e['row']} − {e['reference']}"
                        for e in comparisons], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ΔSUC (points); dots: our seeds")
    # above the plot: inside it the legend covers a comparison's bars
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 1.01), ncol=2, frameon=False)
    figure.tight_layout()
    return figure
