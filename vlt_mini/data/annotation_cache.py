"""A cache of parsed annotations for big benchmarks, so that scoring results again does not parse the same text again
(LaSOT's toolkit layout: 280 test videos, 685k boxes, 12 MB of ground truth and absent flags).

One ``.npz`` file per set of annotation files, in ``$VLT_MINI_CACHE`` (default ``$XDG_CACHE_HOME/vlt-mini`` or
``~/.cache/vlt-mini``); ``VLT_MINI_CACHE=off`` turns the cache off. A cache file is used only while every annotation
file it was built from has the same path, size and modification time (``mtime_ns``, taken *before* the files are
read, so a file changed while it is being read is parsed again next time); any change, or a file added to or removed
from the set, rebuilds it. It is written atomically, and a cache that cannot be read or written is ignored: the
annotations are then parsed as usual, with the usual errors naming the file and the line. Sets smaller than
``SMALLEST_CACHED`` bytes are never cached (parsing them is about as fast as loading them).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

CACHE_ENV = "VLT_MINI_CACHE"
CACHE_FORMAT = 1                   # bump when the stored fields or their meaning change
SMALLEST_CACHED = 4 * 2**20        # bytes of annotation files


def cache_folder() -> Path | None:
    """Where cache files go, or None when ``VLT_MINI_CACHE`` is ``off`` (or ``0``, ``no``, ``false``)."""
    value = os.environ.get(CACHE_ENV, "").strip()
    if value.lower() in ("off", "0", "no", "false"):
        return None
    if value:
        return Path(value).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vlt-mini"


def _signature(files: list[str | Path]) -> list[list] | None:
    """[path, size, mtime_ns] of every file, or None if one cannot be stat-ed (parsing then reports it)."""
    signature = []
    for path in files:
        try:
            status = os.stat(path)
        except OSError:
            return None
        signature.append([str(path), status.st_size, status.st_mtime_ns])
    return signature


def cached_annotations(kind: str, files: list[str | Path], parse: Callable[[], dict]) -> dict:
    """``parse()`` (a dict of numpy arrays and JSON-able lists, read from ``files``), or the same dict from the cache
    when none of ``files`` has changed since it was stored."""
    folder = cache_folder()
    signature = _signature(files) if folder is not None else None
    if signature is None or sum(size for _, size, _ in signature) < SMALLEST_CACHED:
        return parse()
    key = hashlib.sha256(json.dumps([kind, CACHE_FORMAT, [path for path, _, _ in signature]]).encode()).hexdigest()
    path = folder / f"{kind}-{key[:24]}.npz"
    stored = _load(path, json.dumps(signature))
    if stored is not None:
        return stored
    data = parse()
    _store(path, json.dumps(signature), data)
    return data


def _load(path: Path, signature: str) -> dict | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["signature"]) != signature:
                return None
            lists = json.loads(str(stored["lists"]))
            return {**{name: stored[name] for name in stored.files if name not in ("signature", "lists")}, **lists}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # missing, being replaced, truncated or from another version: parse again


def _store(path: Path, signature: str, data: dict) -> None:
    from vlt_mini.io import atomic_write_bytes

    arrays = {name: value for name, value in data.items() if isinstance(value, np.ndarray)}
    lists = {name: value for name, value in data.items() if not isinstance(value, np.ndarray)}
    buffer = io.BytesIO()
    np.savez(buffer, signature=np.array(signature), lists=np.array(json.dumps(lists)), **arrays)
    try:
        atomic_write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only or full disk: work without the cache
