"""The dataset registry: one name -> one reader, every reader returning ``Sequence`` objects (pytracking style).

Readers are imported only when used. Real-data roots come from the ``root`` argument, else from an environment
variable (``VLT_MINI_LASOT``, ``VLT_MINI_TNL2K``, ``VLT_MINI_OTB``, ``VLT_MINI_GOT10K``), else a clear error.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from vlt_mini.data.sequence import Sequence


@dataclass
class Dataset:
    """The sequences of one split of one dataset."""

    name: str
    split: str
    root: Path
    sequences: list[Sequence]

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self) -> Iterator[Sequence]:
        return iter(self.sequences)

    def __getitem__(self, key: int | str) -> Sequence:
        if isinstance(key, str):
            for sequence in self.sequences:
                if sequence.name == key:
                    return sequence
            raise KeyError(f"no sequence {key!r} in {self.name} {self.split}")
        return self.sequences[key]

    @property
    def names(self) -> list[str]:
        return [sequence.name for sequence in self.sequences]

    def __repr__(self) -> str:
        return f"Dataset({self.name!r}, split={self.split!r}, {len(self)} sequences, root={str(self.root)!r})"


# name -> (module, function, environment variable for the root or None, description)
DATASETS: dict[str, tuple[str, str, str | None, str]] = {
    "mini-lasot": ("vlt_mini.data.lasot", "open_mini_lasot", "VLT_MINI_MINI_LASOT", "the synthetic mini-LaSOT (LaSOT layout)"),
    "lasot": ("vlt_mini.data.lasot", "open_lasot", "VLT_MINI_LASOT", "LaSOT: dataset layout or the toolkit annotation layout"),
    "tnl2k": ("vlt_mini.data.tnl2k", "open_tnl2k", "VLT_MINI_TNL2K", "TNL2K"),
    "otb": ("vlt_mini.data.otb", "open_otb", "VLT_MINI_OTB", "OTB (one folder per video)"),
    "otb99-lang": ("vlt_mini.data.otb", "open_otb99_lang", "VLT_MINI_OTB", "OTB99-LANG (OTB with query sentences)"),
    "got10k": ("vlt_mini.data.got10k", "open_got10k", "VLT_MINI_GOT10K", "GOT-10k"),
}


def resolve_root(name: str, root: str | Path | None) -> Path:
    """The dataset root: ``root`` if given, else the dataset's environment variable, else a clear error."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if root is None:
        variable = DATASETS[name][2]
        value = os.environ.get(variable, "") if variable else ""
        if not value:
            raise ValueError(
                f"no root given for dataset {name!r}: pass --root DIR (or root=...) or set ${variable}"
            )
        root = value
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root for {name!r} not found: {root}")
    return root


def open_dataset(name: str, root: str | Path | None = None, split: str = "test", **options) -> Dataset:
    """Open one split of a registered dataset; every entry gives ``Sequence`` objects.

    >>> dataset = open_dataset("mini-lasot", "data/mini-lasot-tiny", split="test")  # doctest: +SKIP
    """
    root = resolve_root(name, root)
    module_name, function_name, _, _ = DATASETS[name]
    reader = getattr(importlib.import_module(module_name), function_name)
    return reader(root, split=split, **options)
