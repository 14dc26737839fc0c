"""A VLT architecture candidate: the template path, the search path and the ModaMixer blocks (ASS, paper §3.2).

One value holds everything the asymmetric search chooses: 20 op indices for the template backbone (φ_t), 20 for the
search backbone (φ_s) and one op per stage for the ModaMixer block of each branch (φ_m: 4 + 4). It prints as a table,
saves to JSON and loads back; ``genes`` flattens it to the 48 integers the evolutionary search mutates.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from vlt_mini.models.choice_blocks import CHOICE_NAMES, NUM_CHOICES
from vlt_mini.models.supernet import NUM_CHOICE_LAYERS, STAGE_LAYER_RANGES, check_path, path_to_str

NUM_STAGES = len(STAGE_LAYER_RANGES)
NUM_GENES = 2 * NUM_CHOICE_LAYERS + 2 * NUM_STAGES  # 48


def _check_mixer(ops: Sequence[int], name: str) -> tuple[int, ...]:
    values = tuple(int(op) for op in ops)
    if len(values) != NUM_STAGES or any(not 0 <= op < NUM_CHOICES for op in values):
        raise ValueError(f"{name} must be {NUM_STAGES} op indices in 0..{NUM_CHOICES - 1}, got {list(ops)}")
    return values


@dataclass(frozen=True)
class Candidate:
    """Ops chosen for the template backbone, the search backbone and the ModaMixer blocks of each branch."""

    template_path: tuple[int, ...]
    search_path: tuple[int, ...]
    template_mixer: tuple[int, ...] = (0, 0, 0, 0)
    search_mixer: tuple[int, ...] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "template_path", check_path(self.template_path, "template_path"))
        object.__setattr__(self, "search_path", check_path(self.search_path, "search_path"))
        object.__setattr__(self, "template_mixer", _check_mixer(self.template_mixer, "template_mixer"))
        object.__setattr__(self, "search_mixer", _check_mixer(self.search_mixer, "search_mixer"))

    # ------------------------------------------------------------------ construction
    @classmethod
    def symmetric(cls, path: Sequence[int], mixer: Sequence[int] = (0, 0, 0, 0)) -> "Candidate":
        """One path and one set of mixer ops shared by both branches (the symmetric search of Tab. 5a)."""
        return cls(tuple(path), tuple(path), tuple(mixer), tuple(mixer))

    @classmethod
    def sample(cls, rng: random.Random | int | None = None, symmetric: bool = False) -> "Candidate":
        """Every gene drawn uniformly and independently (VLT Eq. 2: template, search and mixer choices)."""
        rng = rng if isinstance(rng, random.Random) else random.Random(rng)
        genes = [rng.randrange(NUM_CHOICES) for _ in range(NUM_GENES)]
        candidate = cls.from_genes(genes)
        return cls.symmetric(candidate.template_path, candidate.template_mixer) if symmetric else candidate

    @classmethod
    def from_genes(cls, genes: Sequence[int]) -> "Candidate":
        genes = [int(g) for g in genes]
        if len(genes) != NUM_GENES:
            raise ValueError(f"a candidate has {NUM_GENES} genes, got {len(genes)}")
        n = NUM_CHOICE_LAYERS
        return cls(tuple(genes[:n]), tuple(genes[n:2 * n]), tuple(genes[2 * n:2 * n + NUM_STAGES]),
                   tuple(genes[2 * n + NUM_STAGES:]))

    @property
    def genes(self) -> tuple[int, ...]:
        return self.template_path + self.search_path + self.template_mixer + self.search_mixer

    @property
    def is_symmetric(self) -> bool:
        return self.template_path == self.search_path and self.template_mixer == self.search_mixer

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict:
        return {
            "template_path": list(self.template_path),
            "search_path": list(self.search_path),
            "template_mixer": list(self.template_mixer),
            "search_mixer": list(self.search_mixer),
        }

    @classmethod
    def from_dict(cls, data: dict, source: str = "candidate") -> "Candidate":
        expected = {"template_path", "search_path", "template_mixer", "search_mixer"}
        if not isinstance(data, dict) or not {"template_path", "search_path"} <= set(data):
            raise ValueError(f"{source}: expected a JSON object with keys {sorted(expected)}")
        unknown = set(data) - expected - {"fitness", "note", "name"}
        if unknown:
            raise ValueError(f"{source}: unknown keys {sorted(unknown)}")
        try:
            return cls(data["template_path"], data["search_path"],
                       data.get("template_mixer", (0, 0, 0, 0)), data.get("search_mixer", (0, 0, 0, 0)))
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None

    def save(self, path: str | Path, **extra) -> Path:
        """Write the candidate as JSON (atomically); ``extra`` keys (``fitness``, ``note``) are stored beside it."""
        from vlt_mini.io import atomic_write_text

        atomic_write_text(path, json.dumps({**self.to_dict(), **extra}, indent=2) + "\n")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "Candidate":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"candidate file not found: {path}")
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}:{error.lineno}: not valid JSON ({error.msg})") from None
        return cls.from_dict(data, str(path))

    # ------------------------------------------------------------------ display
    def table(self) -> str:
        """Ops per layer per branch, like the paper's Table 1 (S3/S5/S7 = Shuffle 3×3/5×5/7×7, X = Xception)."""
        short = ("S3", "S5", "S7", "X")
        lines = ["stage | layer | template | search"]
        for stage, (start, stop) in enumerate(STAGE_LAYER_RANGES, start=1):
            for layer in range(start, stop):
                lines.append(f"  {stage}   |  {layer:2d}   |   {short[self.template_path[layer]]:<6} | {short[self.search_path[layer]]}")
            lines.append(f"  {stage}   | mixer |   {short[self.template_mixer[stage - 1]]:<6} | {short[self.search_mixer[stage - 1]]}")
        return "\n".join(lines)

    def __str__(self) -> str:
        mixer = lambda ops: "".join(str(op) for op in ops)  # noqa: E731
        return (f"Candidate(template={path_to_str(self.template_path)}, search={path_to_str(self.search_path)}, "
                f"mixer template={mixer(self.template_mixer)} search={mixer(self.search_mixer)})")


# The searched VLT_SCAR candidate of the official code (docs/official_code.md).
VLT_SCAR_CANDIDATE = Candidate(
    template_path=(2, 2, 2, 0, 3, 1, 3, 3, 3, 0, 2, 3, 0, 2, 2, 2, 2, 3, 2, 1),
    search_path=(1, 3, 0, 2, 1, 2, 2, 3, 1, 2, 3, 0, 3, 1, 2, 3, 3, 3, 2, 0),
    template_mixer=(3, 0, 3, 0),
    search_mixer=(3, 0, 3, 0),
)

__all__ = ["CHOICE_NAMES", "Candidate", "NUM_GENES", "VLT_SCAR_CANDIDATE"]
