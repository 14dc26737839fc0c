"""The rule for stale results: a results folder records what made it, and nothing else is ever written into it.

``tracker.json`` (written atomically when a run claims the folder) holds the tracker's identity (its name; for the
SiamCAR / VLT tracker the digest of the weights, the checkpoint's content hash, the text model, the hyper-parameters,
language on / off) and the run's settings (dataset, preset, overrides). A later run into the same folder continues
it only when all of these are equal; otherwise it is refused (``overwrite`` tracks again and replaces the old
results). A results file counts as done only when it holds one box per frame and its times file one time per frame,
so a truncated file is tracked again. While a run writes into a folder it holds an exclusive lock on
``.tracker.lock`` there: a second tracker writing into the same folder at the same time is refused.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Iterable, Iterator

from vlt_mini.io import atomic_write_text, check_output_folder  # noqa: F401 (check_output_folder re-exported)

PROVENANCE_NAME = "tracker.json"
LOCK_NAME = ".tracker.lock"
INFORMATIONAL_KEYS = ("checkpoint", "written_by")  # recorded, not compared (a checkpoint may be moved)


def file_digest(path: str | Path) -> str:
    """The SHA-256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_provenance(folder: str | Path) -> dict | None:
    """The ``tracker.json`` of a results folder, or None when there is none; an unreadable one is an error."""
    path = Path(folder) / PROVENANCE_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: unreadable ({error}); choose a new results folder, or delete this file and "
                         "pass --overwrite") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a results record (a JSON object expected)")
    return data


def provenance_differences(old: dict, new: dict) -> list[str]:
    """``key: old -> new`` for every compared key that differs (nested keys dotted)."""
    def walk(a, b, prefix: str) -> list[str]:
        if isinstance(a, dict) and isinstance(b, dict):
            return [item for key in sorted(set(a) | set(b)) if not (not prefix and key in INFORMATIONAL_KEYS)
                    for item in walk(a.get(key), b.get(key), f"{prefix}{key}.")]
        return [] if a == b else [f"{prefix.rstrip('.')}: {_short(a)} -> {_short(b)}"]
    return walk(old, new, "")


def _short(value) -> str:
    text = json.dumps(value)
    return text[:12] + "…" if isinstance(value, str) and len(value) == 64 else text  # digests


def result_files(folder: Path, name: str) -> tuple[Path, Path]:
    return folder / f"{name}.txt", folder / f"{name}_time.txt"


@contextlib.contextmanager
def _exclusive_lock(folder: Path) -> Iterator[None]:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: tracker.json alone guards the folder
        yield
        return
    with (folder / LOCK_NAME).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"another tracker is writing into {folder} right now; wait until it finishes or choose "
                             "another --out") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def claim_results_folder(folder: str | Path, provenance: dict, names: Iterable[str],
                         overwrite: bool = False) -> Iterator[Path]:
    """Hold ``folder`` for a run made by ``provenance`` over the sequences ``names``: refuse (ValueError) a folder of
    another tracker or settings, or one holding results that no ``tracker.json`` accounts for, unless ``overwrite``
    (then the old results are removed first). Locked against other writers while the block runs."""
    folder = check_output_folder(folder)
    names = list(names)
    with _exclusive_lock(folder):
        old = read_provenance(folder)
        if old is not None:
            changed = provenance_differences(old, provenance)
            stale = [path for path in sorted(folder.glob("*.txt"))] if changed else []
            if changed and not overwrite:
                raise ValueError(f"{folder} holds results made by another tracker or settings ({'; '.join(changed[:4])}"
                                 f"); choose a new --out, or pass --overwrite to track again and replace them")
        else:
            stale = [path for name in names for path in result_files(folder, name) if path.is_file()]
            if stale and not overwrite:
                raise ValueError(f"{folder} already holds results ({stale[0].name}, ...) but no {PROVENANCE_NAME} "
                                 "saying which tracker made them; choose a new --out, or pass --overwrite to track "
                                 "again and replace them")
        for path in stale:
            path.unlink()
        if old is None or stale or provenance_differences(old, provenance):
            atomic_write_text(folder / PROVENANCE_NAME, json.dumps(provenance, indent=2, sort_keys=True) + "\n")
        yield folder


def check_results_provenance(folder: str | Path, dataset_name: str) -> dict | None:
    """For readers of results (``evaluate``, the ablations): the folder's record, refused when it was tracked on
    another dataset. Folders without ``tracker.json`` (other toolkits' results) are read as they are."""
    record = read_provenance(folder)
    tracked_on = (record or {}).get("dataset")
    if tracked_on and dataset_name and tracked_on != dataset_name:
        raise ValueError(f"{folder} holds results tracked on {tracked_on!r} ({PROVENANCE_NAME}), not on "
                         f"{dataset_name!r}; evaluate it on {tracked_on}")
    return record
