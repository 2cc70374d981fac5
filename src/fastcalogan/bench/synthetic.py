"""Randomly initialised generators and fabricated shower files: speed does not need training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..data import DS1_ENERGIES, write_showers
from ..geometry import load_binning
from ..models import PRESETS, build_models
from ..preprocess import Preprocessor
from ..train import RECIPES, TrainedGenerator

__all__ = ["synthetic_generator"]

_BINNING = {
    "fastcalogan": ("ds1-photons", "photon"),
    "caloshowergan-photon": ("ds1-photons", "photon"),
    "caloshowergan-pion": ("ds1-pions", "pion"),
}


def synthetic_generator(preset: str, seed: int = 0) -> TrainedGenerator:
    """A randomly initialised generator of ``preset`` on its DS1 binning (eval mode, CPU).

    Speed does not depend on the weights' values, so no training is needed to time one.
    """
    binning_name, particle = _BINNING[preset]
    binning = load_binning(binning_name)
    recipe = RECIPES[preset]
    pre = Preprocessor(
        recipe.preprocess,
        float(DS1_ENERGIES[0]),
        float(DS1_ENERGIES[-1]),
        tuple(lay.n_voxels for lay in binning.layers),
    )
    config = PRESETS[preset]
    gen, _ = build_models(config, pre.n_features, pre.layer_sizes if pre.layer_norm else None, seed)
    gen.eval()
    return TrainedGenerator(
        generator=gen,
        preprocessor=pre,
        model_config=config,
        binning=binning,
        particle=particle,
        eta=(0.2, 0.25),
        iteration=0,
        checkpoint=None,
        device=torch.device("cpu"),
    )


def synthetic_showers(preset: str, folder: Path, per_point: int) -> Path:
    binning_name, particle = _BINNING[preset]
    binning = load_binning(binning_name)
    g = np.random.default_rng(0)
    e = np.repeat(np.asarray(DS1_ENERGIES, dtype=np.float64), per_point)
    frac = g.dirichlet(np.ones(binning.n_voxels), size=e.size)
    showers = (frac * e[:, None] * g.uniform(0.5, 1.0, size=(e.size, 1))).astype(np.float32)
    attrs = {"particle": particle, "eta_min": 0.2, "eta_max": 0.25, "binning": binning_name}
    return write_showers(folder / f"{preset}.h5", e, showers, attrs)
