"""Shower observables computed from voxel energies; shared by selection and evaluation.

All functions take ``showers`` of shape ``(n_events, n_voxels)`` in MeV in CaloChallenge
voxel order and a :class:`~fastcalogan.geometry.Geometry` of any kind, and are vectorised
over events. Positions are in mm in the plane transverse to the particle at voxel centres
(:attr:`Geometry.voxel_eta`, ``voxel_phi``): ``eta = r cos(alpha)`` and ``phi = r sin(alpha)``
for polar binnings (CaloChallenge ``HighLevelFeatures.py``), the cell centres for Cartesian
grids. Centroids
and widths follow CaloChallenge: ``centroid = sum(E x) / sum(E)`` and
``width = sqrt(sum(E x^2) / sum(E) - centroid^2)``; an empty layer (or shower) gives 0
instead of NaN. The shower-shape set follows CaloGAN (Paganini et al., PRD 97 (2018) 014021):
E_ratio of the two hottest cells, deepest layer with energy, depth-weighted energy, shower
depth and its width, lateral width per layer; layer "depth" there is the layer's position
among the used layers (0, 1, ...), not its id.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ..geometry import Geometry

__all__ = [
    "alpha_binned_layers",
    "centroid_eta",
    "centroid_phi",
    "centroid_r",
    "deepest_layer",
    "depth_weighted_energy",
    "energy_ratio_hottest",
    "lateral_width",
    "layer_energies",
    "layer_fractions",
    "layer_moments",
    "response",
    "shower_depth",
    "shower_depth_width",
    "sparsity",
    "total_energy",
    "voxel_spectrum",
    "width_eta",
    "width_phi",
    "width_r",
]


def _check(showers: npt.NDArray[Any], binning: Geometry) -> None:
    if showers.ndim != 2 or showers.shape[1] != binning.n_voxels:
        raise DataFormatError(
            f"showers of shape {showers.shape} do not fit binning {binning.name} "
            f"({binning.n_voxels} voxels)"
        )


def total_energy(showers: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """Deposited energy per shower in MeV, shape ``(n_events,)``."""
    return np.asarray(showers).sum(axis=1, dtype=np.float64)


def layer_energies(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
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


def layer_fractions(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy per layer over the shower's total, shape ``(n_events, n_layers)``; 0 for empty."""
    e = layer_energies(showers, binning)
    tot = e.sum(axis=1, keepdims=True)
    return np.divide(e, tot, out=np.zeros_like(e), where=tot > 0)


def response(
    showers: npt.NDArray[Any], incident_energies: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """E_tot / E_inc per shower (dimensionless), shape ``(n_events,)``.

    Args:
        showers: ``(n_events, n_voxels)`` MeV.
        incident_energies: ``(n_events,)`` or ``(n_events, 1)`` MeV, all > 0.

    >>> response(np.array([[1.0, 3.0]]), [8.0]).tolist()
    [0.5]
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    tot = total_energy(showers)
    if inc.shape != tot.shape:
        raise DataFormatError(f"incident_energies has {inc.size} events but showers has {tot.size}")
    return np.divide(tot, inc, out=np.zeros_like(tot), where=inc > 0)


def alpha_binned_layers(binning: Geometry) -> tuple[int, ...]:
    """Ids of the layers that resolve the transverse position (polar: ``n_alpha > 1``).

    Eta/phi centroids and widths are defined on these layers only, as in CaloChallenge
    (:attr:`~fastcalogan.geometry.Geometry.transverse_layer_ids`).
    """
    return binning.transverse_layer_ids


def _layer_blocks(
    showers: npt.NDArray[Any], binning: Geometry, layer_ids: tuple[int, ...] | None = None
) -> list[tuple[int, npt.NDArray[Any], slice]]:
    s = np.asarray(showers)
    _check(s, binning)
    ids = binning.layer_ids if layer_ids is None else layer_ids
    out = []
    for lid in ids:
        sl = binning.layer_slice(lid)
        out.append((lid, s[:, sl], sl))
    return out


def _moments(
    block: npt.NDArray[Any], coordinate: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Energy-weighted mean and width of ``coordinate`` (k,) over ``block`` (n, k)."""
    e = block.astype(np.float64, copy=False)
    w = e.sum(axis=1)
    m1 = np.divide(e @ coordinate, w, out=np.zeros_like(w), where=w > 0)
    m2 = np.divide(e @ (coordinate * coordinate), w, out=np.zeros_like(w), where=w > 0)
    # m2 - m1^2 can go slightly negative by rounding: clip before the square root
    return m1, np.sqrt(np.clip(m2 - m1 * m1, 0.0, None))


def _moment_table(
    showers: npt.NDArray[Any], binning: Geometry, coordinate: str, which: int, alpha_only: bool
) -> npt.NDArray[np.float64]:
    coords = {
        "eta": binning.voxel_eta,
        "phi": binning.voxel_phi,
        "r": binning.voxel_r_centre,
    }[coordinate]
    ids = alpha_binned_layers(binning) if alpha_only else binning.layer_ids
    n = np.asarray(showers).shape[0]
    out = np.zeros((n, len(ids)))
    for j, (_lid, block, sl) in enumerate(_layer_blocks(showers, binning, ids)):
        out[:, j] = _moments(block, coords[sl])[which]
    return out


def centroid_eta(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy centroid along eta in mm per alpha-binned layer, ``(n_events, n_alpha_layers)``.

    ``sum(E * r cos(alpha)) / sum(E)`` over the layer's voxel centres; 0 for an empty layer.
    Columns follow :func:`alpha_binned_layers`.
    """
    return _moment_table(showers, binning, "eta", 0, alpha_only=True)


def centroid_phi(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy centroid along phi in mm per alpha-binned layer, ``(n_events, n_alpha_layers)``.

    ``sum(E * r sin(alpha)) / sum(E)``; 0 for an empty layer.
    """
    return _moment_table(showers, binning, "phi", 0, alpha_only=True)


def width_eta(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy-weighted width along eta in mm per alpha-binned layer, ``(n_events, n_alpha)``.

    ``sqrt(sum(E eta^2) / sum(E) - centroid_eta^2)``; 0 for an empty layer.
    """
    return _moment_table(showers, binning, "eta", 1, alpha_only=True)


def width_phi(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy-weighted width along phi in mm per alpha-binned layer, ``(n_events, n_alpha)``."""
    return _moment_table(showers, binning, "phi", 1, alpha_only=True)


def centroid_r(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy-weighted mean radius in mm per layer, ``(n_events, n_layers)``; 0 if empty."""
    return _moment_table(showers, binning, "r", 0, alpha_only=False)


def width_r(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Energy-weighted radial width in mm per layer, ``(n_events, n_layers)``; 0 if empty."""
    return _moment_table(showers, binning, "r", 1, alpha_only=False)


def sparsity(
    showers: npt.NDArray[Any], binning: Geometry, threshold: float = 0.0
) -> npt.NDArray[np.float64]:
    """Fraction of a layer's voxels with energy above ``threshold`` MeV, ``(n_events, n_layers)``.

    >>> from fastcalogan.geometry import Binning
    >>> b = Binning.from_layers("t", "photon", (0, 1), [(0, [0, 1, 2], 1), (1, [0, 1], 2)])
    >>> sparsity(np.array([[1.0, 0.0, 0.0, 0.0]]), b).tolist()
    [[0.5, 0.0]]
    """
    s = np.asarray(showers)
    _check(s, binning)
    out = np.zeros((s.shape[0], binning.n_layers))
    for j, (_lid, block, _sl) in enumerate(_layer_blocks(s, binning)):
        out[:, j] = np.count_nonzero(block > threshold, axis=1) / block.shape[1]
    return out


def voxel_spectrum(showers: npt.NDArray[Any], threshold: float = 0.0) -> npt.NDArray[np.float64]:
    """Energies of all voxels above ``threshold`` MeV, flattened, shape ``(n_filled,)`` in MeV.

    >>> voxel_spectrum(np.array([[0.0, 2.0], [3.0, 0.0]])).tolist()
    [2.0, 3.0]
    """
    s = np.asarray(showers)
    return s[s > threshold].astype(np.float64)


def energy_ratio_hottest(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """CaloGAN E_ratio per layer: ``(E_1 - E_2) / (E_1 + E_2)`` of the two hottest voxels.

    Shape ``(n_events, n_layers)``; 0 where the layer is empty; 1 for a single filled voxel.
    """
    n = np.asarray(showers).shape[0]
    out = np.zeros((n, binning.n_layers))
    for j, (_lid, block, _sl) in enumerate(_layer_blocks(showers, binning)):
        if block.shape[1] < 2:
            top = np.stack([block[:, 0], np.zeros(n, dtype=block.dtype)], axis=1)
        else:
            top = np.partition(block, block.shape[1] - 2, axis=1)[:, -2:]
        e1 = top.max(axis=1).astype(np.float64)
        e2 = top.min(axis=1).astype(np.float64)
        s = e1 + e2
        out[:, j] = np.divide(e1 - e2, s, out=np.zeros_like(s), where=s > 0)
    return out


def deepest_layer(
    showers: npt.NDArray[Any], binning: Geometry, threshold: float = 0.0
) -> npt.NDArray[np.int64]:
    """Position (0-based, among used layers) of the deepest layer with energy, ``(n_events,)``.

    A layer "has energy" when its sum exceeds ``threshold`` MeV; an empty shower gives 0.

    >>> from fastcalogan.geometry import Binning
    >>> b = Binning.from_layers("t", "photon", (0, 1), [(0, [0, 1, 2], 1), (1, [0, 1], 2)])
    >>> deepest_layer(np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]]), b).tolist()
    [0, 1]
    """
    filled = layer_energies(showers, binning) > threshold
    n_layers = filled.shape[1]
    # index of the last True per row; rows without any give 0
    last = n_layers - 1 - np.argmax(filled[:, ::-1], axis=1)
    return np.where(filled.any(axis=1), last, 0).astype(np.int64)


def depth_weighted_energy(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """CaloGAN depth-weighted total energy ``sum_i i * E_i`` in MeV, ``(n_events,)``.

    ``i`` is the layer's position among the used layers (0, 1, ...).
    """
    e = layer_energies(showers, binning)
    return e @ np.arange(e.shape[1], dtype=np.float64)


def shower_depth(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """CaloGAN shower depth ``sum_i i E_i / sum_i E_i`` (layer positions), ``(n_events,)``.

    0 for an empty shower.
    """
    e = layer_energies(showers, binning)
    depth = np.arange(e.shape[1], dtype=np.float64)
    return _moments(e, depth)[0]


def shower_depth_width(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """CaloGAN shower-depth width ``sqrt(sum i^2 E_i / sum E_i - depth^2)``, ``(n_events,)``."""
    e = layer_energies(showers, binning)
    depth = np.arange(e.shape[1], dtype=np.float64)
    return _moments(e, depth)[1]


def lateral_width(showers: npt.NDArray[Any], binning: Geometry) -> npt.NDArray[np.float64]:
    """Transverse RMS spread around the energy centroid in mm per layer, ``(n_events, n_layers)``.

    ``sqrt(sum(E r^2) / sum(E) - |c|^2)`` with ``c = (centroid_eta, centroid_phi)`` in
    layers that resolve the position and ``c = 0`` in polar layers without alpha bins
    (azimuthal symmetry about the particle axis is all such a layer can show). CaloGAN's
    lateral width; 0 for an empty layer.
    """
    n = np.asarray(showers).shape[0]
    out = np.zeros((n, binning.n_layers))
    r = binning.voxel_r_centre
    eta_all, phi_all = binning.voxel_eta, binning.voxel_phi
    resolved = set(binning.transverse_layer_ids)
    for j, (lid, block, sl) in enumerate(_layer_blocks(showers, binning)):
        e = block.astype(np.float64, copy=False)
        w = e.sum(axis=1)
        m2 = np.divide(e @ (r[sl] ** 2), w, out=np.zeros_like(w), where=w > 0)
        if lid in resolved:
            ce = np.divide(e @ eta_all[sl], w, out=np.zeros_like(w), where=w > 0)
            cp = np.divide(e @ phi_all[sl], w, out=np.zeros_like(w), where=w > 0)
            m2 = m2 - ce * ce - cp * cp
        out[:, j] = np.sqrt(np.clip(m2, 0.0, None))
    return out


def layer_moments(
    showers: npt.NDArray[Any], binning: Geometry
) -> dict[str, npt.NDArray[np.float64]]:
    """All centroids and widths in one pass over the layers (what :func:`centroid_eta` etc. give).

    Returns:
        ``centroid_eta``, ``width_eta``, ``centroid_phi``, ``width_phi`` of shape
        ``(n_events, n_alpha_layers)`` (the layers of :func:`alpha_binned_layers`) and
        ``centroid_r``, ``width_r``, ``lateral_width`` of
        shape ``(n_events, n_layers)``, all in mm.
    """
    n = np.asarray(showers).shape[0]
    alpha_ids = alpha_binned_layers(binning)
    out = {k: np.zeros((n, len(alpha_ids))) for k in ("eta", "phi")}
    out |= {f"w{k}": np.zeros((n, len(alpha_ids))) for k in ("eta", "phi")}
    r_c, r_w, lat = (np.zeros((n, binning.n_layers)) for _ in range(3))
    r, eta, phi = binning.voxel_r_centre, binning.voxel_eta, binning.voxel_phi
    k = 0
    for j, (lid, block, sl) in enumerate(_layer_blocks(showers, binning)):
        e = block.astype(np.float64, copy=False)
        r_c[:, j], r_w[:, j] = _moments(e, r[sl])
        w = e.sum(axis=1)
        m2 = np.divide(e @ (r[sl] ** 2), w, out=np.zeros_like(w), where=w > 0)
        if lid in alpha_ids:
            out["eta"][:, k], out["weta"][:, k] = _moments(e, eta[sl])
            out["phi"][:, k], out["wphi"][:, k] = _moments(e, phi[sl])
            m2 = m2 - out["eta"][:, k] ** 2 - out["phi"][:, k] ** 2
            k += 1
        lat[:, j] = np.sqrt(np.clip(m2, 0.0, None))
    return {
        "centroid_eta": out["eta"],
        "width_eta": out["weta"],
        "centroid_phi": out["phi"],
        "width_phi": out["wphi"],
        "centroid_r": r_c,
        "width_r": r_w,
        "lateral_width": lat,
    }
