"""Where supernet training starts (paper §3.2 / App. A.3; issue 5 §1): from scratch, from the official SPOS ImageNet
supernet, or from one of our own checkpoints.

- ``train.backbone_checkpoint``: the official SPOS file fills the backbone (``load_spos_checkpoint``); the paper then
  initialises the ModaMixer blocks "copied from the last block of their stage". That works shape for shape: a mixer
  block of a stage with C channels is ``make_choice_block(op, C // 2, C)``, exactly the stage's last choice layer (a
  stride-1 block without projection that splits its C input channels), so op ``k`` of every mixer (the shared one, or
  each branch's) receives op ``k`` of that layer (as the official ``load_nlp`` deep-copies them). ``copy_stage_blocks_into_mixers`` checks every shape before copying.
- ``train.init_checkpoint``: the whole network from a vlt-mini checkpoint (``model_final.pt`` or ``checkpoint_last.pt``,
  e.g. of a ``--model supernet`` run), whose weights must fit this network key for key and shape for shape.
"""
from __future__ import annotations

from pathlib import Path

import torch

from vlt_mini.models.supernet import STAGE_LAYER_RANGES
from vlt_mini.models.vlt import VLTNet


def copy_stage_blocks_into_mixers(model: VLTNet) -> int:
    """Copy, per stage, the weights of every op of the stage's last choice layer into the same op of the ModaMixer
    blocks (shared by both branches, or each branch's; a fixed, unsearched mixer block gets op 0). Returns the number of
    blocks copied."""
    if not model.config.use_modamixer:
        raise ValueError("this network has no ModaMixer (the vision-only SiamCAR baseline): nothing to copy into")
    copied = 0
    branches = ("template",) if model.config.shared_mixers else ("template", "search")
    for branch in branches:
        for stage, (_, stop) in enumerate(STAGE_LAYER_RANGES):
            mixer = model.mixers_for(branch)[stage]
            for op, block in enumerate(mixer.blocks):  # blocks[k] is op k; a fixed block is op 0 (Shuffle 3×3)
                source = model.backbone.features[stop - 1][op].state_dict()
                target = block.state_dict()
                where = f"{branch} ModaMixer of stage {stage + 1}, op {op}, from choice layer {stop - 1}"
                if source.keys() != target.keys():
                    raise ValueError(f"{where}: the blocks have different layers ({sorted(source)[:3]} ... vs "
                                     f"{sorted(target)[:3]} ...)")
                for key, value in source.items():
                    if value.shape != target[key].shape:
                        raise ValueError(f"{where}: {key} has shape {tuple(value.shape)} in the backbone but "
                                         f"{tuple(target[key].shape)} in the mixer")
                block.load_state_dict(source)
                copied += 1
    return copied


def initialise_from_spos(model: VLTNet, checkpoint: str | Path) -> tuple[list[str], list[str]]:
    """The official SPOS ImageNet supernet into the backbone, then the mixer blocks from the last block of their
    stage (where the network has ModaMixer). Returns ``load_spos_checkpoint``'s (missing, unexpected) keys."""
    from vlt_mini.models.supernet import load_spos_checkpoint

    missing, unexpected = load_spos_checkpoint(model.backbone, checkpoint)
    if missing:
        raise ValueError(f"{checkpoint}: the backbone weights are incomplete; missing {len(missing)} keys such as "
                         f"{missing[:3]}")
    if model.config.use_modamixer:
        copy_stage_blocks_into_mixers(model)
    return missing, unexpected


def initialise_from_checkpoint(model: VLTNet, checkpoint: str | Path) -> dict:
    """Every weight of ``model`` from a vlt-mini checkpoint (a ``--model supernet`` run's ``model_final.pt`` or
    ``checkpoint_last.pt``, or another VLT run's). Keys and shapes must match exactly; returns the checkpoint dict."""
    from vlt_mini.io import load_checkpoint

    data = load_checkpoint(checkpoint)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ValueError(f"{checkpoint}: not a vlt-mini model checkpoint (no 'model' weights)")
    weights, ours = data["model"], model.state_dict()
    origin = f"a {data.get('kind', '?')} checkpoint of profile {data.get('profile', '?')}"
    missing, unexpected = sorted(set(ours) - set(weights)), sorted(set(weights) - set(ours))
    if missing or unexpected:
        raise ValueError(f"{checkpoint} ({origin}) does not fit this network (profile {model.config.profile}, "
                         f"ModaMixer {model.config.use_modamixer}): missing keys {missing[:3]}, unexpected keys "
                         f"{unexpected[:3]}")
    for key, value in weights.items():
        if not isinstance(value, torch.Tensor) or value.shape != ours[key].shape:
            shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(f"{checkpoint} ({origin}): {key} has shape {shape} but this network (profile "
                             f"{model.config.profile}) needs {tuple(ours[key].shape)}")
    model.load_state_dict(weights)
    return data
