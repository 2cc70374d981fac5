"""Randomly initialised generators and fabricated shower files: speed does not need training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..data import DS1_ENERGIES, write_showers
from ..geometry import Geometry, load_geometry
from ..models import get_preset
from ..train import TrainedGenerator

__all__ = [
    "preset_binning",
    "preset_energies",
    "synthetic_conditions",
    "synthetic_generator",
    "synthetic_showers",
]


def preset_binning(preset: str) -> Geometry:
    """The geometry a preset was made for (``Preset.geometry``), else the dataset-1 binning
    of its particle (pions or photons)."""
    recipe = get_preset(preset)
    if recipe.geometry is not None:
        return load_geometry(recipe.geometry, particle=recipe.particle)
    return load_geometry("ds1-pions" if recipe.particle == "pion" else "ds1-photons")


def preset_energies(preset: str) -> npt.NDArray[np.float64]:
    """Incident energies (MeV) of the synthetic data: the DS1 points, or 15 log-spaced points
    over the preset's fixed preprocessing range when it has its own geometry."""
    recipe = get_preset(preset)
    lo, hi = recipe.preprocess.e_min, recipe.preprocess.e_max
    if recipe.geometry is not None and lo is not None and hi is not None:
        return np.geomspace(lo, hi, 15)
    return np.asarray(DS1_ENERGIES, dtype=np.float64)


def synthetic_conditions(
    preset: str, n: int, rng: np.random.Generator
) -> dict[str, npt.NDArray[np.float64]]:
    """Conditions of ``n`` events for a conditioned preset (empty for the energy alone).

    Integer codes (``one_hot``) uniform over their ``n`` values; continuous conditions
    standard normal (a synthetic model's fitted transforms have offset 0 and scale 1).
    """
    out: dict[str, npt.NDArray[np.float64]] = {}
    for name, spec in get_preset(preset).preprocess.conditions.items():
        if spec.transform == "one_hot" and spec.n is not None:
            out[name] = rng.integers(0, spec.n, n).astype(np.float64)
        else:
            out[name] = rng.standard_normal(n)
    return out


def synthetic_generator(preset: str, seed: int = 0) -> TrainedGenerator:
    """A randomly initialised sampling network of ``preset`` on its geometry (eval, CPU).

    Speed does not depend on the weights' values, so no training is needed to time one.
    """
    energies = preset_energies(preset)
    energy_range = (float(energies[0]), float(energies[-1]))
    return TrainedGenerator.untrained(preset, preset_binning(preset), energy_range, seed=seed)


def synthetic_showers(preset: str, folder: Path, per_point: int) -> Path:
    """A shower file of Dirichlet voxel fractions at :func:`preset_energies`, on the preset's
    geometry, with the preset's conditions (standard normal values; codes uniform)."""
    binning = preset_binning(preset)
    recipe = get_preset(preset)
    g = np.random.default_rng(0)
    e = np.repeat(preset_energies(preset), per_point)
    frac = g.dirichlet(np.ones(binning.n_voxels), size=e.size)
    showers = (frac * e[:, None] * g.uniform(0.5, 1.0, size=(e.size, 1))).astype(np.float32)
    attrs = {
        "particle": recipe.particle,
        "eta_min": 0.2,
        "eta_max": 0.25,
    }
    conditions = synthetic_conditions(preset, e.size, g)
    return write_showers(
        folder / f"{preset}.h5",
        e,
        showers,
        attrs,
        geometry=binning,
        conditions=np.stack(list(conditions.values()), axis=1) if conditions else None,
        condition_names=tuple(conditions),
    )
