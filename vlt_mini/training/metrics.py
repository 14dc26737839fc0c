"""The training metrics log: one JSON object per line (``metrics.jsonl``), appended as training goes.

Each line averages the iterations since the previous one: ``iteration`` (iterations done), ``epoch`` (fractional),
``lr``, the loss parts ``total``, ``cls``, ``box``, ``cen``, ``grad_norm``, ``pairs_per_s`` and ``wall_time_s``.
On resume the lines after the checkpoint's iteration are dropped, so the log matches an uninterrupted run.
"""
from __future__ import annotations

import json
from pathlib import Path

from vlt_mini.io import atomic_write_text

AVERAGED = ("total", "cls", "box", "cen", "grad_norm")


def read_metrics(path: str | Path) -> list[dict]:
    """The lines of a metrics log as dicts; a malformed line is an error naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"metrics log not found: {path}")
    rows = []
    for number, text in enumerate(path.read_text().splitlines(), start=1):
        if text.strip():
            try:
                rows.append(json.loads(text))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line ({error.msg})") from None
    return rows


class MetricsLog:
    """Appends metrics lines to ``path`` (only where ``enabled``: rank 0 under DDP)."""

    def __init__(self, path: str | Path, enabled: bool = True) -> None:
        self.path, self.enabled, self.last = Path(path), enabled, None

    def truncate_after(self, iteration: int) -> None:
        """Drop lines logged after ``iteration`` (work lost by an interruption and redone after a resume)."""
        if self.enabled and self.path.is_file():
            rows = [row for row in read_metrics(self.path) if row["iteration"] <= iteration]
            atomic_write_text(self.path, "".join(json.dumps(row) + "\n" for row in rows))
            self.last = rows[-1] if rows else None

    def write(self, iteration: int, epoch: float, window: list[dict], pairs_per_s: float, wall_time_s: float) -> dict:
        line = {"iteration": iteration, "epoch": round(epoch, 4), "lr": window[-1]["lr"],
                **{k: sum(r[k] for r in window) / len(window) for k in AVERAGED},
                "pairs_per_s": pairs_per_s, "wall_time_s": wall_time_s}
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as stream:
                stream.write(json.dumps(line) + "\n")
        self.last = line
        return line
