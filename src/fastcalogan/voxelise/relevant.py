"""FastCaloGAN's relevant-layer rule and restricting showers to the kept layers.

FastCaloGAN (ATL-SOFT-PUB-2020-006; AtlFast3, Comput. Softw. Big Sci. 6 (2022) 7,
arXiv:2109.02551) keeps a layer if it holds at least 0.1 % of the energy of the 1 TeV sample,
or lies in front of a layer that is kept. Layers are "in front" in the binning's order
(increasing sampling id, which is front to back in the barrel), so the rule keeps every layer
up to the deepest one passing the threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import BinningError, ConfigError, DataFormatError
from ..geometry import Geometry

__all__ = ["layers_from_energies", "relevant_layers", "restrict_to_layers"]


def layers_from_energies(
    layer_energy: npt.ArrayLike, binning: Geometry, threshold: float = 1e-3
) -> tuple[int, ...]:
    """Relevant layers from the summed energy per layer.

    Args:
        layer_energy: shape ``(n_layers,)``, MeV summed over the sample, binning's layer order.
        binning: gives the layer ids and their order.
        threshold: energy fraction that makes a layer relevant (FastCaloGAN: 1e-3).

    Returns:
        Sampling ids of the kept layers: all layers up to the deepest one holding at least
        ``threshold`` of the sample's energy.

    >>> from fastcalogan.geometry import Binning
    >>> b = Binning.from_layers("t", "photon", (0, 1), [(0, [0, 1], 1), (1, [0, 1], 1),
    ...                                                  (2, [0, 1], 1), (3, [0, 1], 1)])
    >>> layers_from_energies([1e-4, 0.5, 0.4999, 1e-4], b)
    (0, 1, 2)
    """
    if not 0.0 < threshold < 1.0:
        raise ConfigError(f"relevant_threshold: must lie in (0, 1), found {threshold}")
    energy = np.asarray(layer_energy, dtype=np.float64).reshape(-1)
    if energy.shape != (binning.n_layers,):
        raise BinningError(
            f"binning {binning.name}: {energy.size} layer energies for {binning.n_layers} layers"
        )
    total = energy.sum()
    if not total > 0.0:
        raise DataFormatError(
            f"binning {binning.name}: the sample has no energy in any layer; "
            "cannot choose relevant layers"
        )
    passing = np.flatnonzero(energy / total >= threshold)
    return binning.layer_ids[: int(passing[-1]) + 1]


def relevant_layers(
    showers: npt.NDArray[Any], binning: Geometry, threshold: float = 1e-3
) -> tuple[int, ...]:
    """FastCaloGAN's relevant layers of a sample (the 1 TeV sample in FastCaloGAN).

    Args:
        showers: shape ``(n_events, n_voxels)``, MeV.
        binning: the showers' binning.
        threshold: energy fraction of the whole sample a layer needs (0.1 % by default).

    Returns:
        Sampling ids of every layer up to the deepest one holding ``>= threshold`` of the
        sample's energy (a weak layer in front of a kept one is kept; weak trailing layers are
        dropped).
    """
    s = np.asarray(showers)
    if s.ndim != 2 or s.shape[1] != binning.n_voxels:
        raise DataFormatError(
            f"showers of shape {s.shape} do not fit binning {binning.name} (n, {binning.n_voxels})"
        )
    per_voxel = s.sum(axis=0, dtype=np.float64)
    return layers_from_energies(
        np.add.reduceat(per_voxel, binning.layer_offsets[:-1]), binning, threshold
    )


def restrict_to_layers(
    showers: npt.NDArray[Any], binning: Geometry, layer_ids: tuple[int, ...] | list[int]
) -> tuple[npt.NDArray[Any], Geometry]:
    """Keep only the voxels of ``layer_ids``.

    Args:
        showers: shape ``(n_events, binning.n_voxels)``.
        binning: the showers' binning.
        layer_ids: sampling ids to keep (each must be used by ``binning``).

    Returns:
        ``(showers (n_events, n_kept_voxels), binning.with_layers(layer_ids))``; voxel order
        within the kept layers is unchanged.
    """
    s = np.asarray(showers)
    if s.ndim != 2 or s.shape[1] != binning.n_voxels:
        raise DataFormatError(
            f"showers of shape {s.shape} do not fit binning {binning.name} (n, {binning.n_voxels})"
        )
    sub = binning.with_layers(layer_ids)
    columns = np.concatenate(
        [
            np.arange(binning.layer_slice(i).start, binning.layer_slice(i).stop)
            for i in sub.layer_ids
        ]
    )
    return s[:, columns], sub
