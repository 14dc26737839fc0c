"""The SiamCAR / VLT tracker's test-time hyper-parameters and their named presets (torch-free, so that the command
line can list them without importing torch). ``vlt_mini.tracking.tracker`` re-exports both.

Values per dataset are those of the official code's test configs (SiamCAR ``experiments/siamcar_r50/config.yaml``
and the VLT_SCAR tracker); mini-LaSOT starts from LaSOT's. ``PRE_ISSUE_13`` holds the three choices vlt-mini made
before it followed the official trackers (``tracker.min_size=4 tracker.size_lr_from=score tracker.center_from=box``),
for the ablation of that change.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Sequence

from vlt_mini.data.crops import CONTEXT_AMOUNT


@dataclass(frozen=True)
class TrackerHyperParameters:
    """SiamCAR's test-time knobs."""

    penalty_k: float = 0.04
    window_influence: float = 0.3
    lr: float = 0.33
    context: float = CONTEXT_AMOUNT
    min_size: float = 10.0  # smallest box side (pixels): pysot / SOTS clip width and height to >= 10
    # the size learning rate lr' = penalty · X · lr at the peak, X = "cls" (the official trackers: the target
    # probability) or "score" (vlt-mini before issue 13: probability × normalised centerness)
    size_lr_from: str = "cls"
    # the new centre: "peak" (official: the peak's crop pixel) or "box" (before issue 13: the centre of the
    # peak's l, t, r, b box, which moves the centre by (r − l) / 2, (b − t) / 2)
    center_from: str = "peak"

    def check(self) -> "TrackerHyperParameters":
        for name in ("penalty_k", "lr", "context", "min_size"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"tracker.{name} must be >= 0, got {getattr(self, name)}")
        for name, choices in (("size_lr_from", ("cls", "score")), ("center_from", ("peak", "box"))):
            if getattr(self, name) not in choices:
                raise ValueError(f"tracker.{name} must be one of {', '.join(choices)}, got {getattr(self, name)!r}")
        if not 0 <= self.window_influence <= 1:
            raise ValueError(f"tracker.window_influence must be in [0, 1], got {self.window_influence}")
        if not self.lr <= 1:
            raise ValueError(f"tracker.lr must be in [0, 1], got {self.lr}")
        return self


PRESETS = {
    "lasot": TrackerHyperParameters(penalty_k=0.04, window_influence=0.3, lr=0.33),
    "tnl2k": TrackerHyperParameters(penalty_k=0.04, window_influence=0.3, lr=0.33),
    "otb": TrackerHyperParameters(penalty_k=0.2, window_influence=0.45, lr=0.35),
    "got10k": TrackerHyperParameters(penalty_k=0.06, window_influence=0.1, lr=0.7),
    "mini-lasot": TrackerHyperParameters(penalty_k=0.04, window_influence=0.3, lr=0.33),
}
PRESETS["otb99-lang"] = PRESETS["otb"]
PRE_ISSUE_13 = ("tracker.min_size=4", "tracker.size_lr_from=score", "tracker.center_from=box")


@dataclass(frozen=True)
class _TrackerSettings:
    tracker: TrackerHyperParameters


def hyper_parameters(preset: str, overrides: Sequence[str] = ()) -> TrackerHyperParameters:
    """``PRESETS[preset]`` with ``tracker.KEY=VALUE`` overrides applied (``tracker.penalty_k=0.1``)."""
    from vlt_mini.config import apply_overrides

    if preset not in PRESETS:
        raise ValueError(f"unknown tracker preset {preset!r}; choose one of {', '.join(PRESETS)}")
    for item in overrides:
        if not item.lstrip("-").startswith("tracker."):
            names = ", ".join(f"tracker.{field.name}" for field in dataclasses.fields(TrackerHyperParameters))
            raise ValueError(f"override {item!r}: only tracker hyper-parameters can be set here ({names})")
    return apply_overrides(_TrackerSettings(PRESETS[preset]), list(overrides)).tracker.check()
