"""Samples of the issue-12 validation checks: two independent reference samples and a distorted one.

``reference`` and ``same`` are two seeds of the reference simulator over the 15 dataset-1
energies (``--events 3000``: 36,300 showers each, the size of issue 12); ``distorted`` is
``same`` with the energies of one layer (EMB2 by default) scaled by 5 %. Used by
``classifier_sensitivity.py`` and ``distance_null_tests.py``; importable, no side effects.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fastcalogan.geometry import Geometry, default_geometry
from fastcalogan.simulate import resolve_energies, simulate_voxels

ETA = (0.20, 0.25)
Samples = dict[str, npt.NDArray[np.float64]]


def make_samples(
    particle: str, events: int, scale: float = 1.05, layer: int = 2, seed: int = 11
) -> tuple[Geometry, npt.NDArray[np.float64], Samples]:
    """``(binning, incident energies (N,), {reference, same, distorted: (N, n_voxels)})``."""
    binning = default_geometry(particle, ETA)
    energies, counts = resolve_energies("ds1", events)
    out: Samples = {}
    for name, s in (("reference", seed), ("same", seed + 1)):
        parts, start = [], 0
        for point, n in enumerate(counts):
            e = energies[start : start + n]
            parts.append(simulate_voxels(particle, e, ETA, binning, s, stream=point))
            start += int(n)
        out[name] = np.concatenate(parts)
    distorted = out["same"].copy()
    distorted[:, binning.layer_slice(layer)] *= scale
    out["distorted"] = distorted
    return binning, energies, out
