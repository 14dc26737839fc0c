"""Command-line conventions shared by every ``vlt-mini`` command (torch-free: building the parser stays fast).

One default for ``--profile`` (``cpu``) and one for ``--device`` (``auto``: CUDA where available, else the CPU) across
commands; ``--no-progress`` everywhere.
"""
from __future__ import annotations

import argparse

from vlt_mini.config import PROFILES

DEFAULT_PROFILE = "cpu"
DEFAULT_DEVICE = "auto"


def add_profile_argument(parser: argparse.ArgumentParser, what: str = "sizes") -> None:
    parser.add_argument("--profile", default=DEFAULT_PROFILE, choices=PROFILES,
                        help=f"{what}: tiny (CI, seconds), cpu (a laptop; the default) or paper (a GPU)")


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=DEFAULT_DEVICE,
                        help="auto (CUDA if available, else cpu; the default), cpu, cuda or cuda:N")


def add_progress_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (nor the text model's)")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` where available, else ``cpu``; any other name is checked by torch."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"--device {device!r}: expected auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {device}: CUDA is not available on this machine; use --device cpu (or auto)")
    return device


def quiet_libraries() -> None:
    """``--no-progress``: also silence the progress bars of transformers / huggingface_hub (weights loading)."""
    import os

    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TRANSFORMERS_VERBOSITY"] = "error"
    os.environ["TRANSFORMERS_NO_ADVISORY_WARNINGS"] = "1"
    import sys

    if "transformers" in sys.modules:  # already imported: switch its bars off through its own API
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
