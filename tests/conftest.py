"""Shared test fixtures. Tests that need ``../shared`` (real LaSOT annotations, published results) skip without it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("VLT_MINI_SHARED", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session", autouse=True)
def annotation_cache_in_a_temporary_folder(tmp_path_factory):
    """Tests that open the real LaSOT annotations write their parsed-annotation cache here, not in ~/.cache."""
    if "VLT_MINI_CACHE" not in os.environ:
        os.environ["VLT_MINI_CACHE"] = str(tmp_path_factory.mktemp("annotation-cache"))
        yield
        del os.environ["VLT_MINI_CACHE"]
    else:
        yield


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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models run as fast on one thread, and a shared 2-core machine then cannot oversubscribe OpenMP
    (``pytestmark = pytest.mark.usefixtures("one_torch_thread")`` in a test module)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _random_network_inputs(net, batch=2, seed=0):
    """Random template and search crops (0-255) and a random language embedding of ``net``'s sizes."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    config = net.config
    z = torch.rand(batch, 3, config.template_size, config.template_size, generator=generator) * 255
    x = torch.rand(batch, 3, config.search_size, config.search_size, generator=generator) * 255
    f_l = torch.randn(batch, config.language_dim, generator=generator)
    return z, x, f_l


@pytest.fixture
def network_inputs():
    """``network_inputs(net, batch=2, seed=0)`` -> (z, x, f_l): random inputs of ``net``'s sizes."""
    return _random_network_inputs
