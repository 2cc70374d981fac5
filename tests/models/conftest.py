"""Tiny shower files and training configs for the GAN stages' tests (train, select, generate)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from fastcalogan.data import write_showers
from fastcalogan.geometry import Binning
from fastcalogan.train import TrainConfig, binning_to_mapping

#: A small architecture so that a training iteration takes milliseconds.
TINY_MODEL = {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]}


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


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tiny networks gain nothing from threads, and lose much when other jobs share the cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fabricate() -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """``fabricate(binning, n_per_point, seed, energies)``: see :func:`fabricate_showers`."""
    return fabricate_showers


@pytest.fixture
def tiny_file(tmp_path: Path, tiny_binning: Binning) -> Path:
    """A CaloChallenge file with 4 energy points x 32 events on the tiny binning."""
    binning_path = tmp_path / "tiny-binning.yaml"
    binning_path.write_text(yaml.safe_dump(binning_to_mapping(tiny_binning)))
    e, s = fabricate_showers(tiny_binning, 32, seed=3)
    attrs = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": str(binning_path)}
    return write_showers(tmp_path / "tiny.h5", e, s, attrs)


@pytest.fixture
def tiny_config() -> Callable[..., TrainConfig]:
    """``tiny_config(**fields)``: a fast CPU training config."""

    def make(**fields: Any) -> TrainConfig:
        base: dict[str, Any] = {
            "model": TINY_MODEL,
            "iterations": 4,
            "batch_size": 16,
            "n_critic": 2,
            "checkpoint_every": 2,
            "log_every": 1,
            "injection_every": 2,
            "device": "cpu",
            "seed": 5,
        }
        base.update(fields)
        return TrainConfig.model_validate(base)

    return make
