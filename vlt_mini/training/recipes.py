"""``train_model``: train one network on a dataset's training split with a profile's recipe, or reuse the run.

The demo, the notebooks, the accuracy study, the search's retraining and the ablations all train this way, so a
folder that already holds ``model_final.pt`` is reused, and one holding only ``checkpoint_last.pt`` is resumed
exactly (the trainer's resume) instead of starting over.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from vlt_mini.models.candidate import Candidate
from vlt_mini.training.checkpoints import FINAL_MODEL_NAME


def train_model(kind: str, data_root: str | Path, out_dir: str | Path, profile: str = "tiny", seed: int = 0,
                dataset: str = "mini-lasot", candidate: Candidate | None = None, overrides: Sequence[str] = (),
                device: str = "auto", progress: bool = True, text_encoder=None) -> Path:
    """Train ``kind`` ("siamcar", "vlt" or "supernet") on ``dataset``'s train split at ``profile`` with ``seed`` and
    config ``overrides`` (``"train.epochs=2"``, ``"model.mixer_residual=false"``, ...); returns ``model_final.pt``."""
    from vlt_mini.config import apply_overrides
    from vlt_mini.data import open_dataset
    from vlt_mini.training.pairs import PairSource
    from vlt_mini.training.trainer import Trainer, TrainingSetup

    out_dir = Path(out_dir)
    final = out_dir / FINAL_MODEL_NAME
    if final.is_file():
        return final
    setup = apply_overrides(TrainingSetup.for_profile(profile), [*overrides, f"train.seed={seed}"])
    sources = [PairSource(open_dataset(dataset, data_root, "train"))]
    trainer = Trainer(kind, setup.model, setup.train, setup.pairs, sources, out_dir, candidate=candidate,
                      device=device, progress=progress, text_encoder=text_encoder)
    trainer.resume()
    trainer.train()
    return final
