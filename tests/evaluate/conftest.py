"""A small seeded synthetic shower generator for the evaluation tests.

It stands in for the reference simulator (``fastcalogan.simulate``), which these tests should
switch to once ``simulate_voxels`` exists: layer fractions follow a shower depth growing with
log(E), each layer has an exponential radial profile with a slight azimuthal asymmetry, and
every voxel fluctuates with gamma noise.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from fastcalogan.data import write_showers
from fastcalogan.geometry import Binning, load_binning

ShowerMaker = Callable[..., tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]]


def synthetic_showers(
    binning: Binning,
    energies: npt.ArrayLike,
    seed: int,
    layer2_scale: float = 1.0,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """Showers ``(n, n_voxels)`` MeV for incident ``energies`` (n,) MeV; layer id 2 scaled."""
    g = np.random.default_rng(seed)
    e = np.asarray(energies, dtype=np.float64)
    n = e.size
    gev = e / 1000.0
    resp = 0.9 + g.normal(0.0, 1.0, n) * (0.1 / np.sqrt(gev) + 0.01)
    resp = np.clip(resp, 0.05, 1.5)
    depth = 1.2 + 0.25 * np.log10(gev) + g.normal(0.0, 0.25, n)
    pos = np.arange(binning.n_layers)
    w = np.exp(-0.5 * (pos[None, :] - depth[:, None]) ** 2 / 0.7**2)
    w *= g.gamma(20.0, 1.0 / 20.0, size=w.shape)
    frac = w / w.sum(axis=1, keepdims=True)
    e_layer = resp[:, None] * e[:, None] * frac
    out = np.zeros((n, binning.n_voxels), dtype=np.float64)
    for j, lay in enumerate(binning.layers):
        sl = binning.layer_slice(lay.layer_id)
        r = binning.voxel_r_centre[sl]
        alpha = binning.voxel_alpha_centre[sl]
        widths = np.diff(np.asarray(lay.r_edges))
        dr = np.tile(widths, lay.n_alpha)
        scale = 20.0 + 15.0 * j
        template = r * dr * np.exp(-r / scale) * (1.0 + 0.2 * np.cos(alpha))
        noisy = template[None, :] * g.gamma(4.0, 0.25, size=(n, template.size))
        noisy /= noisy.sum(axis=1, keepdims=True)
        block = noisy * e_layer[:, j : j + 1]
        block[block < 0.05] = 0.0  # readout threshold: sparse outer voxels
        if lay.layer_id == 2:
            block *= layer2_scale
        out[:, sl] = block
    return e, out.astype(np.float32)


@pytest.fixture
def ds1_photons() -> Binning:
    return load_binning("ds1-photons")


@pytest.fixture(scope="session")
def make_showers() -> ShowerMaker:
    return synthetic_showers


@pytest.fixture
def shower_files(tmp_path: Path, ds1_photons: Binning) -> dict[str, Path]:
    """Reference, independent second sample and a layer-2-distorted copy (ds1-photons)."""
    energies = np.repeat(2.0 ** np.array([10, 13, 16, 19]), 1500)
    attrs = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": "ds1-photons"}
    paths = {}
    for name, seed, scale in (("reference", 1, 1.0), ("same", 2, 1.0), ("distorted", 2, 1.05)):
        e, s = synthetic_showers(ds1_photons, energies, seed, layer2_scale=scale)
        paths[name] = write_showers(tmp_path / f"{name}.h5", e, s, attrs)
    return paths
