"""FastCaloGAN's relevant-layer rule and restricting showers to the kept layers.

FastCaloGAN (ATL-SOFT-PUB-2020-006; AtlFast3, Comput. Softw. Big Sci. 6 (2022) 7,
arXiv:2109.02551) keeps a layer if it holds at least 0.1 % of the energy of the 1 TeV sample,
or lies in front of a layer that is kept. Layers are "in front" in the binning's order
(increasing sampling id, which is front to back in the barrel), so the rule keeps every layer
up to the deepest one passing the threshold.

The rule is evaluated on one energy point: the events within 1 % of ``energy_mev`` (1 TeV by
default). When no event is at that energy, the nearest energy point of the sample (in log E)
is used instead and a warning names the file, the energy asked for, the one used and the
energies present. Shower depth grows with log E, so the nearest point is the sample whose
layer profile is closest to the one asked for; with ATLAS-style inputs that stop below 1 TeV
it is the highest energy available, whose showers reach deepest. The voxeliser and the
campaign's layer step both go through :func:`choose_energy_point`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import ENERGY_POINT_TOLERANCE, energy_point_mask
from ..errors import BinningError, ConfigError, DataFormatError
from ..geometry import Geometry
from .config import DS1_TEV_POINT_MEV

__all__ = [
    "RelevantLayers",
    "choose_energy_point",
    "layers_from_energies",
    "relevant_layers",
    "relevant_layers_at",
    "restrict_to_layers",
]

logger = logging.getLogger(__name__)

#: Distinct energies listed one by one in messages; more are given as a range.
_LISTED_ENERGIES = 16


@dataclass(frozen=True)
class RelevantLayers:
    """The outcome of the relevant-layer rule on a sample.

    Attributes:
        layers: sampling ids of the kept layers.
        energy_mev: the energy point the rule was evaluated at (``None``: every event).
        n_events: events of that point.
    """

    layers: tuple[int, ...]
    energy_mev: float | None
    n_events: int


def _describe_energies(values: npt.NDArray[np.float64]) -> str:
    points = np.unique(values)
    if points.size <= _LISTED_ENERGIES:
        return ", ".join(f"{e:g}" for e in points) + " MeV"
    return f"{points.size} distinct values from {points[0]:g} to {points[-1]:g} MeV"


def choose_energy_point(
    incident_energies: npt.ArrayLike, energy_mev: float | None, source: str
) -> float | None:
    """The energy point the relevant-layer rule is evaluated at.

    Args:
        incident_energies: shape ``(n_events,)``, MeV, the whole sample.
        energy_mev: the point asked for (FastCaloGAN: the 1 TeV sample); ``None`` means
            every event.
        source: the sample's file, for the messages.

    Returns:
        ``energy_mev`` when some event lies within 1 % of it; otherwise the incident energy
        nearest to it in log E (a tie goes to the higher energy, whose showers reach deeper),
        with a warning naming ``source``, both energies and the energies present; ``None``
        when ``energy_mev`` is ``None``.

    Raises:
        DataFormatError: the sample has no events.

    >>> choose_energy_point([65536.0, 262144.0], 2.0**20, "a.h5")
    262144.0
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    if inc.size == 0:
        raise DataFormatError(f"{source}: no events to choose relevant layers from")
    if energy_mev is None or energy_point_mask(inc, energy_mev).any():
        return energy_mev
    positive = np.unique(inc[inc > 0])
    if positive.size == 0:
        raise DataFormatError(f"{source}: no event has a positive incident energy")
    distance = np.abs(np.log(positive / energy_mev))
    nearest = float(positive[np.flatnonzero(distance <= distance.min() * (1 + 1e-12))[-1]])
    logger.warning(
        "%s: no event within %.0f%% of %g MeV for the relevant-layer rule; using the nearest "
        "energy point, %g MeV (energies present: %s)",
        source,
        100 * ENERGY_POINT_TOLERANCE,
        energy_mev,
        nearest,
        _describe_energies(inc),
    )
    return nearest


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


def relevant_layers_at(
    showers: npt.NDArray[Any],
    incident_energies: npt.ArrayLike,
    binning: Geometry,
    energy_mev: float | None = DS1_TEV_POINT_MEV,
    threshold: float = 1e-3,
    source: str = "showers",
) -> RelevantLayers:
    """FastCaloGAN's relevant layers of a sample, evaluated at one energy point.

    Args:
        showers: shape ``(n_events, n_voxels)``, MeV.
        incident_energies: shape ``(n_events,)``, MeV.
        binning: the showers' binning.
        energy_mev: the energy point (default the 1 TeV one); absent from the sample, the
            nearest point is used (see :func:`choose_energy_point`); ``None``: every event.
        threshold: energy fraction a layer needs (0.1 % by default).
        source: the sample's file, for the messages.

    Returns:
        :class:`RelevantLayers` with the kept layers and the energy point used.
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    s = np.asarray(showers)
    if s.ndim != 2 or s.shape[0] != inc.size:
        raise DataFormatError(
            f"{source}: showers of shape {s.shape} do not match {inc.size} incident energies"
        )
    point = choose_energy_point(inc, energy_mev, source)
    mask = energy_point_mask(inc, point)
    layers = relevant_layers(s[mask], binning, threshold=threshold)
    return RelevantLayers(layers, point, int(mask.sum()))
