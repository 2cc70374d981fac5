"""Energy points and event counts of the FastCaloGAN / CaloChallenge dataset-1 samples."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = [
    "DS1_ENERGIES",
    "ENERGY_POINT_TOLERANCE",
    "ds1_event_counts",
    "energy_point_mask",
    "eta_slices",
]

#: The 15 dataset-1 energy points in MeV: 2^8 (256 MeV) to 2^22 (4.2 TeV), powers of two.
DS1_ENERGIES: npt.NDArray[np.float64] = np.exp2(np.arange(8, 23, dtype=np.float64))


#: Events within this relative distance of an energy point belong to that point.
ENERGY_POINT_TOLERANCE = 0.01


def energy_point_mask(
    incident_energies: npt.ArrayLike,
    energy_mev: float | None,
    tolerance: float = ENERGY_POINT_TOLERANCE,
) -> npt.NDArray[np.bool_]:
    """Events within ``tolerance`` (relative, 1 %) of ``energy_mev``; every event when ``None``.

    >>> energy_point_mask([1000.0, 1005.0, 2000.0], 1000.0).tolist()
    [True, True, False]
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    if energy_mev is None:
        return np.ones(inc.shape, dtype=bool)
    return np.asarray(np.abs(inc / energy_mev - 1.0) <= tolerance)


def ds1_event_counts(scale: float = 1.0) -> npt.NDArray[np.int64]:
    """Events per dataset-1 energy point, times ``scale`` (at least 1 each).

    10k events up to 262 GeV, then 5k, 3k, 2k and 1k at 0.5, 1, 2 and 4 TeV.

    >>> ds1_event_counts(0.01).tolist()[-5:]
    [100, 50, 30, 20, 10]
    """
    counts = np.array([10_000] * 11 + [5_000, 3_000, 2_000, 1_000], dtype=float)
    return np.maximum(1, np.round(counts * scale)).astype(np.int64)


def eta_slices(
    eta_min: float = 0.0, eta_max: float = 5.0, step: float = 0.05
) -> list[tuple[float, float]]:
    """|eta| slices of width ``step``; the FastCaloGAN default is 100 slices from 0 to 5.

    >>> eta_slices(0.2, 0.3)
    [(0.2, 0.25), (0.25, 0.3)]
    """
    n = round((eta_max - eta_min) / step)
    return [(round(eta_min + i * step, 6), round(eta_min + (i + 1) * step, 6)) for i in range(n)]
