"""Networks of VLT: the SPOS supernet backbone, ModaMixer, the VLT network and the SiamCAR head."""
# Names are imported on first use, so that importing a light sub-module (e.g. ``kinds``) does not import torch.

from __future__ import annotations

import importlib

_EXPORTS = {
    "CHOICE_NAMES": "vlt_mini.models.choice_blocks",
    "NUM_CHOICES": "vlt_mini.models.choice_blocks",
    "ShuffleBlock": "vlt_mini.models.choice_blocks",
    "XceptionBlock": "vlt_mini.models.choice_blocks",
    "channel_split": "vlt_mini.models.choice_blocks",
    "make_choice_block": "vlt_mini.models.choice_blocks",
    "NUM_CHOICE_LAYERS": "vlt_mini.models.supernet",
    "SPOS_IMAGENET_PATH": "vlt_mini.models.supernet",
    "SPOS_INPUT_CONVENTION": "vlt_mini.models.supernet",
    "STAGE_LAYER_RANGES": "vlt_mini.models.supernet",
    "STAGE_REPEATS": "vlt_mini.models.supernet",
    "SPOSSupernet": "vlt_mini.models.supernet",
    "SupernetConfig": "vlt_mini.models.supernet",
    "load_spos_checkpoint": "vlt_mini.models.supernet",
    "spos_preprocess": "vlt_mini.models.supernet",
    "check_path": "vlt_mini.models.supernet",
    "count_macs": "vlt_mini.models.supernet",
    "count_parameters": "vlt_mini.models.supernet",
    "parse_path": "vlt_mini.models.supernet",
    "path_to_str": "vlt_mini.models.supernet",
    "sample_path": "vlt_mini.models.supernet",
    "HeadConfig": "vlt_mini.models.head",
    "HeadOutput": "vlt_mini.models.head",
    "SiamCARHead": "vlt_mini.models.head",
    "SiamCARNeck": "vlt_mini.models.head",
    "xcorr_depthwise": "vlt_mini.models.head",
    "feature_map_size": "vlt_mini.models.head",
    "LANGUAGE_MODES": "vlt_mini.models.modamixer",
    "ModaMixer": "vlt_mini.models.modamixer",
    "TemplateToken": "vlt_mini.models.modamixer",
    "roi_align": "vlt_mini.models.modamixer",
    "NUM_GENES": "vlt_mini.models.candidate",
    "VLT_SCAR_CANDIDATE": "vlt_mini.models.candidate",
    "Candidate": "vlt_mini.models.candidate",
    "TemplateState": "vlt_mini.models.vlt",
    "VLTConfig": "vlt_mini.models.vlt",
    "VLTNet": "vlt_mini.models.vlt",
    "count_vlt_macs": "vlt_mini.models.vlt",
    "count_vlt_parameters": "vlt_mini.models.vlt",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
