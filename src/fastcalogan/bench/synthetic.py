"""Randomly initialised generators and fabricated shower files: speed does not need training."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data import DS1_ENERGIES, write_showers
from ..geometry import Geometry, load_geometry
from ..models import get_preset
from ..train import TrainedGenerator

__all__ = ["synthetic_generator", "synthetic_showers"]


def preset_binning(preset: str) -> Geometry:
    """The dataset-1 binning of the particle a preset was made for (pions or photons)."""
    particle = get_preset(preset).particle
    return load_geometry("ds1-pions" if particle == "pion" else "ds1-photons")


def synthetic_generator(preset: str, seed: int = 0) -> TrainedGenerator:
    """A randomly initialised sampling network of ``preset`` on its DS1 binning (eval, CPU).

    Speed does not depend on the weights' values, so no training is needed to time one.
    """
    energy_range = (float(DS1_ENERGIES[0]), float(DS1_ENERGIES[-1]))
    return TrainedGenerator.untrained(preset, preset_binning(preset), energy_range, seed=seed)


def synthetic_showers(preset: str, folder: Path, per_point: int) -> Path:
    """A shower file of Dirichlet voxel fractions at the DS1 energies, on the preset's binning."""
    binning = preset_binning(preset)
    g = np.random.default_rng(0)
    e = np.repeat(np.asarray(DS1_ENERGIES, dtype=np.float64), per_point)
    frac = g.dirichlet(np.ones(binning.n_voxels), size=e.size)
    showers = (frac * e[:, None] * g.uniform(0.5, 1.0, size=(e.size, 1))).astype(np.float32)
    attrs = {
        "particle": get_preset(preset).particle,
        "eta_min": 0.2,
        "eta_max": 0.25,
    }
    return write_showers(folder / f"{preset}.h5", e, showers, attrs, geometry=binning)
