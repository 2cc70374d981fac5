"""Which voxel a point falls in: the one binning rule shared by simulation and voxelisation.

Polar binnings (:func:`hit_slots`) place ``(r, alpha)`` hits; Cartesian geometries
(:func:`cell_slots`) place ``(eta, phi)`` points in mm.

Bins are half-open: radial bin k holds ``r_edges[k] <= r < r_edges[k + 1]``, so a point exactly
on an inner edge goes outwards and a point at or beyond the last edge is *leakage* of its
layer. Alpha bins cover (-pi, pi]: bin j holds ``alpha_edges[j] < alpha <= alpha_edges[j + 1]``,
with alpha = -pi counted in the first bin and alpha = +pi in the last.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from ..errors import BinningError
from .binning import require_polar
from .cartesian import CartesianGeometry
from .protocol import Geometry

__all__ = ["cell_slots", "hit_slots"]

#: Alpha values further than this outside [-pi, pi] are wrapped (rad); closer ones are float
#: rounding (float32 pi is larger than float64 pi) and are clipped into the edge bins.
_ALPHA_WRAP_TOLERANCE = 1e-5


def hit_slots(
    layer: npt.ArrayLike, r: npt.ArrayLike, alpha: npt.ArrayLike, binning: Geometry
) -> npt.NDArray[np.int64]:
    """Where each hit's energy goes, shape ``(n_hits,)``.

    Slots ``0..n_voxels-1`` are voxels, ``n_voxels + i`` is the leakage of the i-th used layer
    and ``n_voxels + n_layers`` collects hits in unused layers.

    >>> from fastcalogan.geometry import Binning
    >>> b = Binning.from_layers("t", "photon", (0, 1), [(1, [0, 5, 10], 2)])
    >>> r = [0.0, 5.0, 10.0, 3.0, 1.0]
    >>> hit_slots([1, 1, 1, 1, 2], r, [-math.pi, 0.1, 0.0, math.pi, 0.0], b)
    array([0, 3, 4, 2, 5])
    """
    binning = require_polar(binning, "placing (r, alpha) hits in voxels")
    lay = np.asarray(layer, dtype=np.int64).reshape(-1)
    rr = np.asarray(r, dtype=np.float64).reshape(-1)
    aa = np.asarray(alpha, dtype=np.float64).reshape(-1)
    n_vox, n_layers = binning.n_voxels, binning.n_layers
    lut = np.full(max(64, max(binning.layer_ids) + 1), -1, dtype=np.int64)
    lut[list(binning.layer_ids)] = np.arange(n_layers)
    in_range = (lay >= 0) & (lay < lut.size)
    pos = np.full(lay.shape, -1, dtype=np.int64)
    pos[in_range] = lut[lay[in_range]]
    far = np.abs(aa) > math.pi + _ALPHA_WRAP_TOLERANCE
    if far.any():
        # alpha is an angle: bring stray values into (-pi, pi]
        aa = aa.copy()
        aa[far] = math.pi - np.mod(math.pi - aa[far], 2 * math.pi)
    slots = np.full(lay.shape, n_vox + n_layers, dtype=np.int64)
    for i, lb in enumerate(binning.layers):
        idx = np.flatnonzero(pos == i)
        if idx.size == 0:
            continue
        r_bin = np.searchsorted(np.asarray(lb.r_edges), rr[idx], side="right") - 1
        if lb.n_alpha == 1:
            a_bin = np.zeros_like(r_bin)
        else:
            a_bin = np.searchsorted(lb.alpha_edges(), aa[idx], side="left") - 1
            np.clip(a_bin, 0, lb.n_alpha - 1, out=a_bin)
        leaked = r_bin >= lb.n_r
        voxel = binning.layer_offsets[i] + a_bin * lb.n_r + np.minimum(r_bin, lb.n_r - 1)
        slots[idx] = np.where(leaked, n_vox + i, voxel)
    return slots


def cell_slots(
    layer: npt.ArrayLike, eta: npt.ArrayLike, phi: npt.ArrayLike, geometry: Geometry
) -> npt.NDArray[np.int64]:
    """Where each point's energy goes in a Cartesian geometry, shape ``(n_points,)``.

    Points are positions ``(eta, phi)`` in mm in their layer's cell frame (the frame of
    :meth:`CartesianLayer.eta_edges` / :meth:`CartesianLayer.phi_edges`). Cells are half-open,
    ``edges[k] <= x < edges[k + 1]``. Slots ``0..n_voxels-1`` are cells, ``n_voxels + i`` is
    the leakage of the i-th used layer (outside its grid) and ``n_voxels + n_layers`` collects
    points in unused layers: the same slots as :func:`hit_slots`.

    >>> from fastcalogan.geometry import CartesianGeometry
    >>> g = CartesianGeometry.from_layers("t", "photon", None, [(0, (2, 3), (10, 10))])
    >>> cell_slots([0, 0, 0, 0, 5], [-5.0, 5.0, 0.0, 10.0, 0.0], [-15.0, 14.9, 15.0, 0.0, 0.0], g)
    array([0, 5, 6, 6, 7])
    """
    if not isinstance(geometry, CartesianGeometry):
        raise BinningError(
            f"geometry {geometry.name} is {geometry.kind}; placing points in cells needs a "
            "cartesian geometry"
        )
    lay = np.asarray(layer, dtype=np.int64).reshape(-1)
    x = np.asarray(eta, dtype=np.float64).reshape(-1)
    y = np.asarray(phi, dtype=np.float64).reshape(-1)
    n_vox, n_layers = geometry.n_voxels, geometry.n_layers
    slots = np.full(lay.shape, n_vox + n_layers, dtype=np.int64)
    for i, cl in enumerate(geometry.layers):
        idx = np.flatnonzero(lay == cl.layer_id)
        if idx.size == 0:
            continue
        ie = np.searchsorted(cl.eta_edges(), x[idx], side="right") - 1
        ip = np.searchsorted(cl.phi_edges(), y[idx], side="right") - 1
        inside = (ie >= 0) & (ie < cl.cells[0]) & (ip >= 0) & (ip < cl.cells[1])
        cell = geometry.layer_offsets[i] + ie * cl.cells[1] + ip
        slots[idx] = np.where(inside, cell, n_vox + i)
    return slots
