"""Shower files for the evaluation tests, from the reference simulator (ds1-photons binning).

``reference`` and ``same`` are independent samples (different seeds) of the same simulator;
``distorted`` is ``same`` with the layer-2 (EMB2) energies scaled by 5 %.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from fastcalogan.data import write_showers
from fastcalogan.geometry import Binning, load_geometry
from fastcalogan.simulate import simulate_voxels

ENERGY_POINTS = 2.0 ** np.array([10, 13, 16, 19])
ATTRS = {"particle": "photon", "eta_min": 0.2, "eta_max": 0.25, "binning": "ds1-photons"}


def make_samples(
    binning: Binning, per_point: int
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Incident energies and showers of the three samples, ``per_point`` events per energy."""
    e = np.repeat(ENERGY_POINTS, per_point)
    ref = simulate_voxels("photon", e, (0.2, 0.25), binning, seed=1)
    same = simulate_voxels("photon", e, (0.2, 0.25), binning, seed=2)
    distorted = same.copy()
    distorted[:, binning.layer_slice(2)] *= 1.05
    return {"reference": (e, ref), "same": (e, same), "distorted": (e, distorted)}


def write_samples(
    folder: Path, per_point: int, samples: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
) -> dict[str, Path]:
    """Write the three samples as CaloChallenge files into ``folder``."""
    if samples is None:
        samples = make_samples(load_geometry("ds1-photons"), per_point)
    return {
        name: write_showers(folder / f"{name}.h5", e, s.astype(np.float32), ATTRS)
        for name, (e, s) in samples.items()
    }


@pytest.fixture(scope="session")
def sample_writer() -> Callable[[Path, int], dict[str, Path]]:
    """:func:`write_samples`, for module-scoped fixtures."""
    return write_samples


@pytest.fixture(scope="session")
def samples_750() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three samples with 750 events per energy point (3,000 each), in memory."""
    return make_samples(load_geometry("ds1-photons"), 750)


@pytest.fixture(scope="session")
def shower_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small files: 500 events per energy point, 4 points."""
    return write_samples(tmp_path_factory.mktemp("showers"), 500)


@pytest.fixture(scope="session")
def fast() -> dict:
    """EvaluateConfig settings that keep an evaluation of a few thousand events to seconds."""
    return dict(FAST)


#: Settings that keep an evaluation of a few thousand events to a few seconds.
FAST: dict = {
    "fpd_min_samples": 500,
    "fpd_max_samples": 4000,
    "fpd_points": 4,
    "fpd_batches": 10,
    "kpd_batch_size": 400,
    "kpd_batches": 10,
    "nn_tree_events": 500,
    "nn_query_events": 200,
    "classifier": {"hidden": [64, 64], "folds": 3},
}
