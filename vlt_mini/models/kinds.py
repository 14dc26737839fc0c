"""What a model checkpoint is: its kind, and which commands accept which kind (torch-free, for the command line).

``siamcar``: the vision-only baseline; ``vlt``: one VLT candidate with ModaMixer (a tracker); ``supernet``: every
path of the SPOS supernet trained (input of the search, not a tracker).
"""
from __future__ import annotations

MODEL_KINDS = ("siamcar", "vlt", "supernet")
TRACKER_KINDS = ("vlt", "siamcar")
CHECKPOINT_FORMAT = "vlt-mini model"
CHECKPOINT_VERSION = 2  # 1: no "format" / "architecture" fields (still loads; the kind is read or inferred)

_ADVICE = {
    "supernet": "the whole supernet, input of `vlt-mini search`, not a tracker; track with a checkpoint of "
                "`vlt-mini train --model vlt` (e.g. the searched candidate retrained) or `--model siamcar`",
    "vlt": "one trained candidate (a tracker); the search needs the supernet of `vlt-mini train --model supernet`",
    "siamcar": "the vision-only SiamCAR (a tracker); the search needs the supernet of "
               "`vlt-mini train --model supernet`",
}


def checkpoint_kind(data: dict) -> str:
    """The kind a checkpoint records; checkpoints older than the ``kind`` field: ``vlt`` with ModaMixer, else
    ``siamcar``."""
    kind = data.get("kind")
    if kind is None:
        config = data.get("config") if isinstance(data.get("config"), dict) else {}
        return "vlt" if config.get("use_modamixer", True) else "siamcar"
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r} (known: {', '.join(MODEL_KINDS)})")
    return kind


def check_checkpoint_kind(data: dict, wanted, source: str, purpose: str) -> str:
    """Raise a ValueError naming ``source`` unless the checkpoint's kind is one of ``wanted``; returns the kind."""
    try:
        kind = checkpoint_kind(data)
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    if kind not in wanted:
        raise ValueError(f"{source} is a checkpoint of a `--model {kind}` training ({_ADVICE[kind]}); {purpose} "
                         f"needs a {' or '.join(wanted)} checkpoint")
    return kind
