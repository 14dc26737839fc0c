"""``train_model``: train one network on a dataset's training split with a profile's recipe, or reuse the run.

The demo, the notebooks, the accuracy study, the search's retraining and the ablations all train this way, so a
folder that already holds ``model_final.pt`` of the same training (its ``config.json`` equals the requested
configuration) is reused, and one holding only ``checkpoint_last.pt`` is resumed exactly (the trainer's resume)
instead of starting over. A folder of another training is refused with the settings that differ.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from vlt_mini.models.candidate import Candidate
from vlt_mini.training.checkpoints import FINAL_MODEL_NAME


def train_model(kind: str, data_root: str | Path, out_dir: str | Path, profile: str = "tiny", seed: int = 0,
                dataset: str = "mini-lasot", candidate: Candidate | None = None, overrides: Sequence[str] = (),
                device: str = "auto", progress: bool = True, text_encoder=None) -> Path:
    """Train ``kind`` ("siamcar", "vlt" or "supernet") on ``dataset``'s train split at ``profile`` with ``seed`` and
    config ``overrides`` (``"train.epochs=2"``, ``"model.mixer_residual=false"``, ...); returns ``model_final.pt``.
    ``out_dir`` may hold only this same training (finished: reused; interrupted: resumed); else a ValueError."""
    from vlt_mini.config import apply_overrides
    from vlt_mini.data import open_dataset
    from vlt_mini.training.pairs import PairSource
    from vlt_mini.training.trainer import Trainer, TrainingSetup

    out_dir = Path(out_dir)
    final = out_dir / FINAL_MODEL_NAME
    setup = apply_overrides(TrainingSetup.for_profile(profile), [*overrides, f"train.seed={seed}"])
    sources = [PairSource(open_dataset(dataset, data_root, "train"))]
    trainer = Trainer(kind, setup.model, setup.train, setup.pairs, sources, out_dir, candidate=candidate,
                      device=device, progress=progress, text_encoder=text_encoder)
    saved = out_dir / "config.json"
    if final.is_file() or saved.is_file():
        try:
            different = trainer.setting_differences(json.loads(saved.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            different = [f"{saved.name} missing or unreadable"]
        if different:
            raise ValueError(f"{out_dir} holds another training ({'; '.join(different[:6])}); choose another folder "
                             "for this one, or delete that folder to retrain")
        if final.is_file():
            return final
    trainer.resume()
    trainer.train()
    return final
