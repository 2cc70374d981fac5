"""Shared fixtures: a tiny 3-layer geometry, seeded showers, tiny shower files and training
configs for the GAN stages, and the optional ../shared folder."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastcalogan.data import write_showers
from fastcalogan.geometry import Binning, write_geometry_yaml
from fastcalogan.models import get_preset
from fastcalogan.train import TrainConfig

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


@pytest.fixture(scope="session", autouse=True)
def _no_fsync() -> Iterator[None]:
    """Test files need no flush to disk (about 10 ms each); tests of the flush turn it back on."""
    old = os.environ.get("FASTCALOGAN_FSYNC")
    os.environ["FASTCALOGAN_FSYNC"] = "0"
    yield
    if old is None:
        os.environ.pop("FASTCALOGAN_FSYNC", None)
    else:
        os.environ["FASTCALOGAN_FSYNC"] = old


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


#: A small architecture so that a training iteration takes milliseconds.
TINY_MODEL = {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]}
#: Tiny settings of each model family (architecture and family-only training settings).
TINY_FAMILY_SETTINGS: dict[str, dict[str, Any]] = {
    "wgan-gp-mlp": {"model": TINY_MODEL, "n_critic": 2},
    "vae-mlp": {"model": {"latent_dim": 3, "encoder_hidden": [8], "decoder_hidden": [8]}},
}
#: A preset of each family, for tests parametrised over families.
FAMILY_PRESETS = {"wgan-gp-mlp": "fastcalogan", "vae-mlp": "vae-mlp"}


def fabricate_showers(
    binning: Binning,
    n_per_point: int,
    seed: int,
    energies: tuple[float, ...] = (1024.0, 2048.0, 4096.0, 8192.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet voxel fractions times E_inc times U(0.8, 1.0): (energies (N,), showers (N, n_vox))."""
    g = np.random.default_rng(seed)
    e = np.repeat(np.asarray(energies), n_per_point)
    frac = g.dirichlet(np.ones(binning.n_voxels), size=e.size)
    return e, (frac * e[:, None] * g.uniform(0.8, 1.0, size=(e.size, 1))).astype(np.float32)


@pytest.fixture
def fabricate() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``fabricate(binning, n_per_point, seed, energies)``: see :func:`fabricate_showers`."""
    return fabricate_showers


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_binning: Binning) -> Path:
    """A CaloChallenge file with 4 energy points x 32 events on the tiny binning."""
    binning_path = tmp_path / "tiny-binning.yaml"
    write_geometry_yaml(tiny_binning, binning_path)
    e, s = fabricate_showers(tiny_binning, 32, seed=3)
    attrs = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": str(binning_path)}
    return write_showers(tmp_path / "tiny.h5", e, s, attrs)


@pytest.fixture
def tiny_config() -> Callable[..., TrainConfig]:
    """``tiny_config(**fields)``: a fast CPU training config (tiny sizes of the preset's family)."""

    def make(**fields: Any) -> TrainConfig:
        family = fields.get("family") or get_preset(fields.get("preset", "fastcalogan")).family
        base: dict[str, Any] = {
            **TINY_FAMILY_SETTINGS[family],
            "iterations": 4,
            "batch_size": 16,
            "checkpoint_every": 2,
            "log_every": 1,
            "injection_every": 2,
            "device": "cpu",
            "seed": 5,
        }
        base.update(fields)
        return TrainConfig.model_validate(base)

    return make
