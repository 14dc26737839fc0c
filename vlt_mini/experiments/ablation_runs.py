"""``run_ablation`` (the library side of ``vlt-mini ablate``): train, track and score the rows of an ablation table.

The rows, their stand-ins for the paper's settings and the table files are described in ``vlt_mini.experiments.ablations``.
Per table ``T``, row and seed ``k``: ``OUT/table<T>/<training>/seed<k>/setup.json`` (what is trained there: configs,
candidate, data; a rerun with another setup into the same folder is refused), ``train/`` (``train_model``: reused
when finished, resumed when interrupted; a training identical to a finished one in another table's folder is reused
from there) and ``results/<row>/`` (resumable tracking of the test split). Trailing ``key=value`` overrides apply to
every row's training (``model.*``, ``train.*``, ``pairs.*``), so the budget stays the same for every row.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Sequence

from vlt_mini.experiments.ablations import (METRICS, SETUP_NAME, TABLE_MD, TABLE_ROWS, TABLES, Row, Training,
                                check_candidate_for_table, check_table, default_root, replace_sentences,
                                resolve_candidates, select_rows, summarize, tracker_preset, training_overrides,
                                training_setup, write_directions, write_tables)


class _Models:
    """Trains (or reuses) models and builds trackers, with one text encoder for everything."""

    def __init__(self, device: str, progress: bool) -> None:
        self.device, self.progress, self.encoders = device, progress, {}

    def encoder(self, name: str = "minilm"):
        if name not in self.encoders:
            from vlt_mini.models.text_encoder import TextEncoder

            self.encoders[name] = TextEncoder(model=name)
        return self.encoders[name]

    def tracker_factory(self, checkpoint: Path, preset: str, use_language: bool):
        from vlt_mini.arguments import resolve_device
        from vlt_mini.models.kinds import TRACKER_KINDS
        from vlt_mini.models.text_encoder import checkpoint_text_model
        from vlt_mini.models.vlt import load_vlt_checkpoint
        from vlt_mini.tracking.provenance import file_digest
        from vlt_mini.tracking.tracker import VLTTracker

        model, data = load_vlt_checkpoint(checkpoint, kinds=TRACKER_KINDS, purpose="tracking")
        encoder = self.encoder(checkpoint_text_model(data, str(checkpoint))) if model.config.use_modamixer else None
        if encoder is not None and encoder.dim != model.config.language_dim:
            raise ValueError(f"{checkpoint}: the network expects {model.config.language_dim}-d language embeddings")
        device = resolve_device(self.device)
        origin = {"path": str(Path(checkpoint).resolve()), "sha256": file_digest(checkpoint)}

        def build():
            tracker = VLTTracker(model, encoder, preset, use_language, device)
            tracker.checkpoint = origin
            return tracker

        return build


def _setup_record(training: Training, candidate, setup, profile: str, seed: int, dataset: str, root) -> dict:
    from vlt_mini.config import config_to_dict
    from vlt_mini.training.trainer import RESUME_FREE_FIELDS

    configs = config_to_dict(setup)
    configs["train"] = {k: v for k, v in configs["train"].items() if k not in RESUME_FREE_FIELDS}
    configs["model"]["use_modamixer"] = training.kind != "siamcar"  # as the trainer sets it
    return {"kind": training.kind, "profile": profile, "seed": seed, "candidate": candidate.to_dict(),
            "configs": configs, "dataset": dataset, "root": str(Path(root).resolve()) if root else None}


def _settled(record: dict) -> dict:
    """A training record read from disk, with the model, head and train settings added since it was written set to
    what that run did (``LEGACY_*_FIELDS``), so that older runs stay reusable (new records have every field)."""
    from vlt_mini.models.vlt import LEGACY_HEAD_FIELDS, LEGACY_MODEL_FIELDS
    from vlt_mini.training.trainer import LEGACY_TRAIN_FIELDS

    configs = record.get("configs", {})
    model = configs.get("model", {})
    model = {**LEGACY_MODEL_FIELDS, **model, "head": {**LEGACY_HEAD_FIELDS, **model.get("head", {})}}
    return {**record, "configs": {**configs, "model": model,
                                  "train": {**LEGACY_TRAIN_FIELDS, **configs.get("train", {})}}}


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        return [difference for key in sorted(set(old) | set(new))
                for difference in _differences(old.get(key), new.get(key), f"{prefix}{key}.")]
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]


def recorded_setup(seed_dir: Path) -> dict | None:
    path = seed_dir / SETUP_NAME
    return _settled(json.loads(path.read_text())["training"]) if path.is_file() else None


def check_setup(seed_dir: Path, record: dict) -> None:
    """Refuse to mix runs: ``seed_dir`` may only continue the same training (same configs, candidate, data)."""
    old = recorded_setup(seed_dir)
    changed = _differences(old, record) if old is not None else []
    if changed:
        raise ValueError(f"{seed_dir} holds a run with another setup ({'; '.join(changed[:4])}); use another --out "
                         "or remove that folder")


def _comparable_training_config(config: dict) -> dict:
    """A trainer's ``config.json`` in the shape of ``_setup_record`` (without profile / seed, kept in ``train``)."""
    from vlt_mini.training.trainer import RESUME_FREE_FIELDS

    sources = config.get("sources", [])
    dataset = sources[0]["dataset"] if len(sources) == 1 and sources[0].get("split") == "train" else None
    root = str(Path(sources[0]["root"]).resolve()) if dataset else None
    train = {k: v for k, v in config["train"].items() if k not in RESUME_FREE_FIELDS}
    return _settled({"kind": config["kind"], "profile": config.get("profile"), "seed": train.get("seed"),
                     "candidate": config.get("candidate"),
                     "configs": {"model": config["model"], "train": train, "pairs": config["pairs"]},
                     "dataset": dataset, "root": root})


def find_finished_training(out_root: Path, record: dict, exclude: Path,
                           reuse_dirs: Sequence[Path] = ()) -> Path | None:
    """A finished ``model_final.pt`` of an identical training: in another table's folder under ``out_root``, else
    in a training folder (``config.json`` beside ``model_final.pt``) anywhere under one of ``reuse_dirs``."""
    from vlt_mini.training.checkpoints import FINAL_MODEL_NAME

    for path in sorted(out_root.glob(f"table*/*/seed*/{SETUP_NAME}")):
        setup = json.loads(path.read_text())
        final = path.parent / "train" / FINAL_MODEL_NAME
        if not final.is_file() and setup.get("reused"):  # that folder reused a training itself
            final = Path(os.path.normpath(path.parent / setup["reused"]))
        if path.parent != exclude and final.is_file() and _settled(setup["training"]) == record:
            return final
    for reuse_dir in reuse_dirs:
        for final in sorted(Path(reuse_dir).rglob(FINAL_MODEL_NAME)):
            config_path = final.parent / "config.json"
            if not config_path.is_file() or Path(exclude) in final.parents:
                continue
            try:
                if _comparable_training_config(json.loads(config_path.read_text())) == record:
                    return final
            except (KeyError, TypeError, IndexError, ValueError):
                continue  # not a trainer's config.json
    return None


def reusable_results(out_root: Path, record: dict, row: Row, test, exclude: Path) -> Path | None:
    """Complete results of a row with the same test-time setting (sentence, language on / off) of an identical
    training in another table's folder under ``out_root``: the tracker is deterministic, tracking again would give the
    same files."""
    for path in sorted(out_root.glob(f"table*/*/seed*/{SETUP_NAME}")):
        if path.parent == exclude or _settled(json.loads(path.read_text())["training"]) != record:
            continue
        for other in TABLE_ROWS.get(path.parents[2].name.removeprefix("table"), ()):
            results = path.parent / "results" / other.slug
            if (other.use_language, other.sentence) == (row.use_language, row.sentence) and \
                    results_complete(results, test):
                return results
    return None


def results_complete(results_dir: Path, test) -> bool:
    """Every test sequence has complete results (one box and one time per frame) in ``results_dir``."""
    from vlt_mini.tracking.runner import results_complete as complete

    return Path(results_dir).is_dir() and complete(results_dir, test)


@contextlib.contextmanager
def training_lock(out_root: Path, record: dict):
    """An exclusive lock on one training setup under ``out_root`` (``.locks/<hash>.lock``, ``flock``): a second
    process asking for the same training waits, then finds it finished. No lock where ``fcntl`` is missing."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: jobs may then train a shared row twice
        yield
        return
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:20]
    path = Path(out_root) / ".locks" / f"{digest}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def copy_results(source: Path, target: Path, test) -> None:
    """The result files (boxes and times) of ``test`` and the record of what made them (``tracker.json``) from
    ``source`` to ``target``, each written atomically."""
    from vlt_mini.io import atomic_write_text
    from vlt_mini.tracking.provenance import PROVENANCE_NAME

    if (source / PROVENANCE_NAME).is_file():
        atomic_write_text(target / PROVENANCE_NAME, (source / PROVENANCE_NAME).read_text())
    for sequence in test:
        for name in (f"{sequence.name}.txt", f"{sequence.name}_time.txt"):
            if (source / name).is_file():
                atomic_write_text(target / name, (source / name).read_text())


def score_run(test, row: Row, seed: int, results: Path) -> dict:
    from vlt_mini.evaluation.report import evaluate_trackers

    from vlt_mini.data.mini_lasot import dataset_version

    scores = evaluate_trackers(test, [results])["trackers"][results.name]
    return {"row": row.slug, "seed": seed, **{key: scores[key] for key, _ in METRICS},
            "results": results.relative_to(results.parents[3]).as_posix(),
            "dataset_version": dataset_version(test.root) or "",
            "per_video": {name: values["suc"] for name, values in scores["per_sequence"].items()}}


def run_ablation(table: str, out_dir, profile: str = "tiny", seeds: int | Sequence[int] = 1,
                 rows: Sequence[str] | None = None, dataset: str = "mini-lasot", root=None, candidate=None,
                 symmetric_candidate=None, overrides: Sequence[str] = (), device: str = "auto",
                 progress: bool = True, command: str | None = None, reuse: Sequence = ()) -> list[dict]:
    """Train, track and score every (selected) row of ``table`` for each seed; returns the table's rows (as in
    ``table.csv``). ``seeds``: a count (seeds 0..N-1) or a list of seeds. ``reuse``: folders searched for finished
    trainings identical to a row's (e.g. ``vlt-mini train`` or ``vlt-mini study`` runs), used instead of training."""
    from vlt_mini.data import open_dataset
    from vlt_mini.io import atomic_write_text
    from vlt_mini.tracking.runner import run_tracker
    from vlt_mini.training import TrainingDiverged, train_model
    from vlt_mini.training.checkpoints import FINAL_MODEL_NAME

    table, out_dir = check_table(table), Path(out_dir)
    reuse = [Path(path) for path in reuse]
    missing = [str(path) for path in reuse if not path.is_dir()]
    if missing:
        raise ValueError(f"--reuse: no folder {', '.join(missing)}")
    seeds = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seeds or min(seeds) < 0:
        raise ValueError(f"seeds: give a count >= 1 or seeds >= 0, got {seeds}")
    selected = select_rows(table, rows)
    check_candidate_for_table(table, candidate)
    for row in TABLE_ROWS[table]:
        training_setup(row.training, profile, overrides)  # bad overrides fail before any work
    candidates = resolve_candidates(candidate, symmetric_candidate)
    sources = dict.fromkeys(row.training.candidate for row in TABLE_ROWS[table])
    notes = [candidates[source][1] for source in sources if source != "fixed"]  # "fixed" is in the table's notes
    for note in notes:
        print(f"table {table}: {note}")
    root = default_root(dataset, root, profile, progress)
    test = open_dataset(dataset, root, "test")
    preset, models = tracker_preset(dataset), _Models(device, progress)
    table_dir = out_dir / f"table{table}"
    recipe = training_setup(TABLE_ROWS[table][0].training, profile, overrides)
    budget = (f"{recipe.train.epochs * (recipe.pairs.samples_per_epoch // recipe.train.batch_size)} iterations of "
              f"{recipe.train.batch_size} pairs, {recipe.train.optimizer}")
    runs: list[dict] = []
    for seed in seeds:
        for training in dict.fromkeys(row.training for row in TABLE_ROWS[table]):
            members = [row for row in TABLE_ROWS[table] if row.training == training]
            wanted = [row for row in members if row in selected]
            seed_dir = table_dir / training.slug / f"seed{seed}"
            candidate_value = candidates[training.candidate][0]
            record = _setup_record(training, candidate_value, training_setup(training, profile, overrides, seed),
                                   profile, seed, dataset, root)
            if not wanted:  # rows not asked for: in the table if an earlier run of the same setup finished them
                done = recorded_setup(seed_dir) == record
                for row in members:
                    results = seed_dir / "results" / row.slug
                    if done and results_complete(results, test):
                        runs.append(score_run(test, row, seed, results))
                continue
            check_setup(seed_dir, record)
            with training_lock(out_dir, record):  # parallel jobs (--jobs): a shared training is trained once
                checkpoint = None
                if not (seed_dir / "train" / FINAL_MODEL_NAME).is_file():
                    checkpoint = find_finished_training(out_dir, record, seed_dir, reuse)
                if checkpoint is not None:
                    print(f"table {table} · {training.slug} · seed {seed}: reusing the identical training {checkpoint}")
                atomic_write_text(seed_dir / SETUP_NAME, json.dumps(
                    {"training": record, "reused": os.path.relpath(checkpoint, seed_dir) if checkpoint else None},
                    indent=2) + "\n")
                if checkpoint is None:
                    try:
                        checkpoint = train_model(training.kind, root, seed_dir / "train", profile, seed, dataset,
                                                 candidate_value, training_overrides(training, overrides), device,
                                                 progress, models.encoder() if training.kind == "vlt" else None)
                    except TrainingDiverged as error:
                        raise ValueError(f"table {table} · {training.slug} · seed {seed}: {error}") from None
            for row in members:
                results = seed_dir / "results" / row.slug
                copied = reusable_results(out_dir, record, row, test, seed_dir) if row in wanted else None
                if copied is not None and not results_complete(results, test):
                    print(f"table {table} · {row.slug} · seed {seed}: same checkpoint and test setting as {copied}; "
                          "copying its results")
                    copy_results(copied, results, test)
                elif row in wanted:
                    run_tracker(models.tracker_factory(checkpoint, preset, row.use_language),
                                replace_sentences(test, row.sentence), results, progress,
                                use_language=row.use_language, description=f"{row.slug} seed {seed}",
                                settings={"sentence": row.sentence, "preset": preset})
                elif not results_complete(results, test):
                    continue
                runs.append(score_run(test, row, seed, results))
                write_tables(table_dir, table, runs, profile, dataset, test, seeds, notes, command, budget)
    write_tables(table_dir, table, runs, profile, dataset, test, seeds, notes, command, budget)
    return summarize(table, runs)
