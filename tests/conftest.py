"""Shared fixtures: a tiny 3-layer geometry, seeded showers, and the optional ../shared folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fastcalogan.geometry import Binning

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--gpu", action="store_true", default=False, help="run tests marked gpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--gpu"):
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; run with --gpu")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tiny test models run fastest on one thread; two oversubscribe a loaded 2-core machine."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def shared_dir() -> Path:
    """The team's ../shared folder; tests using it skip where a clone has none."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent (only the team's checkouts have ../shared)")
    return SHARED


@pytest.fixture
def tiny_binning() -> Binning:
    """Three layers: layer 0 with 4 r bins, layer 1 with 2 alpha x 4 r bins, layer 2 with 4 r."""
    return Binning.from_layers(
        "tiny",
        "photon",
        (0.20, 0.25),
        [
            (0, [0, 10, 20, 50, 100], 1),
            (1, [0, 5, 10, 20, 40], 2),
            (2, [0, 10, 30, 60, 120], 1),
        ],
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def tiny_showers(tiny_binning: Binning) -> tuple[np.ndarray, np.ndarray]:
    """64 seeded showers on ``tiny_binning``: (incident_energies (64,), showers (64, 16)) MeV."""
    g = np.random.default_rng(7)
    energies = np.repeat(2.0 ** np.arange(10, 14), 16)
    frac = g.dirichlet(np.ones(tiny_binning.n_voxels), size=energies.size)
    showers = frac * energies[:, None] * g.uniform(0.8, 1.0, size=(energies.size, 1))
    return energies, showers.astype(np.float32)
