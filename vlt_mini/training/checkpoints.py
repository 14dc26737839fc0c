"""Training checkpoints: everything an exact resume needs, as tensors and plain Python values.

A checkpoint is ``model_checkpoint(model, ...)`` (weights, network config, candidate, text model, kind, profile; what
``load_vlt_checkpoint`` and the tracker read) plus the optimiser, the AMP grad scaler, the iteration, the random
generators and the configs. It is written atomically and loads with ``torch.load(weights_only=True)``: nothing in it
runs code when read. The data position needs no state of its own: pair ``i`` of epoch ``e`` is a function of
(seed, e, i), and the iteration says which pairs come next.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from vlt_mini.io import atomic_torch_save, load_checkpoint

CHECKPOINT_NAME = "checkpoint_last.pt"
FINAL_MODEL_NAME = "model_final.pt"


def capture_rng_state() -> dict:
    """The global generators of Python, NumPy, torch (CPU) and CUDA (where present), weights-only friendly."""
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy = state["numpy"]
    np.random.set_state((numpy["kind"], numpy["keys"].numpy().astype(np.uint32), numpy["position"],
                         numpy["has_gauss"], numpy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: str | Path, model_state: dict, optimizer: torch.optim.Optimizer,
                             scaler_state: dict, iteration: int, epoch: int, wall_time: float, configs: dict) -> None:
    """Write ``model_state`` (a ``model_checkpoint`` dict) and the training state to ``path``, atomically."""
    atomic_torch_save({**model_state, "optimizer": optimizer.state_dict(), "scaler": scaler_state,
                       "iteration": int(iteration), "epoch": int(epoch), "wall_time": float(wall_time),
                       "rng": capture_rng_state(), "configs": configs}, path)


def load_training_checkpoint(path: str | Path) -> dict:
    """Load a checkpoint written by ``save_training_checkpoint`` (weights_only); a clear error for other files."""
    data = load_checkpoint(path)
    needed = {"model", "config", "candidate", "optimizer", "iteration", "rng", "configs"}
    if not isinstance(data, dict) or not needed <= set(data):
        missing = sorted(needed - set(data)) if isinstance(data, dict) else sorted(needed)
        raise ValueError(f"{path}: not a vlt-mini training checkpoint (missing {', '.join(missing)})")
    return data
