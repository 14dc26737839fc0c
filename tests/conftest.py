"""Shared test fixtures. Tests that need ``../shared`` (real LaSOT annotations, published results) skip without it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("VLT_MINI_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the project; the test is skipped with a reason where it is absent."""
    if not (SHARED_DIR / "data").is_dir():
        pytest.skip(f"../shared not found at {SHARED_DIR} (real LaSOT annotations are only beside the CI checkout)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def tiny_mini_lasot(tmp_path_factory) -> Path:
    """A freshly generated mini-LaSOT at the ``tiny`` profile (seconds), shared by the whole test session."""
    from vlt_mini.data.mini_lasot import generate_mini_lasot

    root = tmp_path_factory.mktemp("mini-lasot-tiny")
    generate_mini_lasot(root, profile="tiny", seed=0, progress=False)
    return root
