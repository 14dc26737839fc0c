"""Training: template / search pairs, the SiamCAR / VLT / supernet trainer, checkpoints, DDP and loss curves."""
# Names are imported on first use, so that the command line can import ``training.command`` without torch.

from __future__ import annotations

import importlib

_EXPORTS = {
    "CandidateBudget": "vlt_mini.training.budget",
    "PairConfig": "vlt_mini.training.pairs",
    "PairDataset": "vlt_mini.training.pairs",
    "PairSampler": "vlt_mini.training.pairs",
    "PairSource": "vlt_mini.training.pairs",
    "SentenceTable": "vlt_mini.training.pairs",
    "make_pair_loader": "vlt_mini.training.pairs",
    "train_model": "vlt_mini.training.recipes",
    "MODEL_KINDS": "vlt_mini.training.trainer",
    "Trainer": "vlt_mini.training.trainer",
    "TrainConfig": "vlt_mini.training.trainer",
    "TrainingDiverged": "vlt_mini.training.trainer",
    "TrainingSetup": "vlt_mini.training.trainer",
    "siamcar_learning_rate": "vlt_mini.training.trainer",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
