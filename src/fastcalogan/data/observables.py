"""Shower observables computed from voxel energies; shared by selection and evaluation.

All functions take ``showers`` of shape ``(n_events, n_voxels)`` in MeV in CaloChallenge
voxel order and a :class:`~fastcalogan.geometry.Binning`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ..geometry import Binning

__all__ = ["layer_energies", "layer_fractions", "total_energy"]


def _check(showers: npt.NDArray[Any], binning: Binning) -> None:
    if showers.ndim != 2 or showers.shape[1] != binning.n_voxels:
        raise DataFormatError(
            f"showers of shape {showers.shape} do not fit binning {binning.name} "
            f"({binning.n_voxels} voxels)"
        )


def total_energy(showers: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Deposited energy per shower in MeV, shape ``(n_events,)``."""
    return np.asarray(showers).sum(axis=1, dtype=np.float64)


def layer_energies(showers: npt.NDArray[Any], binning: Binning) -> npt.NDArray[np.float64]:
    """Energy per used layer in MeV, shape ``(n_events, n_layers)``.

    >>> from fastcalogan.geometry import Binning
    >>> b = Binning.from_layers("t", "photon", (0, 1), [(0, [0, 1, 2], 1), (1, [0, 1], 2)])
    >>> layer_energies(np.array([[1.0, 2.0, 3.0, 4.0]]), b).tolist()
    [[3.0, 7.0]]
    """
    s = np.asarray(showers)
    _check(s, binning)
    if s.shape[0] == 0:
        return np.zeros((0, binning.n_layers))
    return np.add.reduceat(s.astype(np.float64, copy=False), binning.layer_offsets[:-1], axis=1)


def layer_fractions(showers: npt.NDArray[Any], binning: Binning) -> npt.NDArray[np.float64]:
    """Energy per layer over the shower's total, shape ``(n_events, n_layers)``; 0 for empty."""
    e = layer_energies(showers, binning)
    tot = e.sum(axis=1, keepdims=True)
    return np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)
