"""Transverse readout in the cells of a Cartesian grid.

The fast path integrates the lateral profile over each cell: the GFlash kernel
``f(r) = 2r R^2/(r^2+R^2)^2`` is the planar density ``R^2 / (pi (x^2+y^2+R^2)^2)``, whose
integral over ``x < X, y < Y`` has the closed form (checked by differentiation)::

    G(X, Y) = [X/a arctan(Y/a) + Y/b arctan(X/b)] / (2 pi),   a = sqrt(X^2+R^2), b = sqrt(Y^2+R^2)

so a cell's share is ``G`` at its four corners (``G(x1,y1) - G(x0,y1) - G(x1,y0) + G(x0,y0)``),
summed over the profile's kernels (core and tail) and over depth sub-slices weighted by the
longitudinal profile. At each sub-slice the shower axis sits where the track crosses that depth
(``Tracks.origin_mm + Tracks.slope * path``), so oblique showers move across the cells with
depth. A multinomial with the spot count of the hit path gives the spots per cell and beyond
the grid; cell energy = spots x (layer energy / layer spots), and the spots beyond the grid are
the layer's overflow.

The spot path (:func:`deposit_cell_spots`) draws every spot's depth, radius and angle as the hit
path does, places it at the axis position of its depth, and bins it with
:func:`~fastcalogan.geometry.cell_slots`.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..geometry import CartesianGeometry, cell_slots
from .deposits import Component
from .detector import Tracks
from .hits import component_spots
from .material import TrackMap
from .voxels import N_SUBSLICES, depth_subslices, lateral_kernels

__all__ = ["deposit_cell_spots", "deposit_cells", "rectangle_shares"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
#: corner evaluations per block of events (bounds the temporaries to a few tens of MB)
_BLOCK_CORNERS = 1 << 20


def rectangle_shares(eta_edges: F64, phi_edges: F64, radius: F64) -> F64:
    """Share of the kernel ``2r R^2/(r^2+R^2)^2`` in each cell of a grid.

    Args:
        eta_edges: cell edges along eta relative to the shower axis, shape ``(..., nx + 1)``.
        phi_edges: cell edges along phi relative to the axis, shape ``(..., ny + 1)``.
        radius: kernel radius R (mm), shape ``(...)``.

    Returns:
        Shares, shape ``(..., nx, ny)``; they sum to 1 over the whole plane.

    >>> edges = np.array([-1e9, 0.0, 1e9])
    >>> rectangle_shares(edges, edges, np.array(10.0)).round(6).tolist()
    [[0.25, 0.25], [0.25, 0.25]]
    """
    x = np.asarray(eta_edges, dtype=np.float64)
    y = np.asarray(phi_edges, dtype=np.float64)
    r2 = np.asarray(radius, dtype=np.float64)[..., None] ** 2
    ax = np.sqrt(x**2 + r2)
    by = np.sqrt(y**2 + r2)
    term_x = (x / ax)[..., :, None] * np.arctan(y[..., None, :] / ax[..., :, None])
    term_y = (y / by)[..., None, :] * np.arctan(x[..., :, None] / by[..., None, :])
    g = (term_x + term_y) / (2.0 * np.pi)
    cells = g[..., 1:, 1:] - g[..., :-1, 1:] - g[..., 1:, :-1] + g[..., :-1, :-1]
    return np.clip(cells, 0.0, None)


def _axis(
    tracks: Tracks,
    track: TrackMap,
    li: int,
    events: I64,
    depth: F64 | None,
    comp: Component,
) -> F64:
    """Shower-axis position (eta, phi) mm in layer ``li``'s frame, shape ``depth.shape + (2,)``.

    ``depth`` is from the component's profile start (its unit), shape ``(m, S)`` for the rows
    ``events``; ``None`` means the layer's mid-depth (tracks), giving shape ``(m, 1, 2)``.
    """
    m = events.shape[0]
    shape = (m, 1) if depth is None else depth.shape
    out = np.zeros((*shape, 2))
    if tracks.origin_mm is not None:
        out += tracks.origin_mm[events, li][:, None, :]
    if tracks.slope is not None:
        if depth is None:
            bounds = track.layer_bounds("mm")[events, li]
            path = (0.5 * (bounds[:, 0] + bounds[:, 1]))[:, None]
        else:
            absolute = comp.start[events][:, None] + depth
            path = track.convert(absolute, comp.depth_unit, "mm", rows=events)
        out += tracks.slope[events][:, None, :] * path[..., None]
    return out


def _cell_shares(
    comp: Component,
    li: int,
    eta_edges: F64,
    phi_edges: F64,
    tracks: Tracks,
    track: TrackMap,
    events: I64,
    n_sub: int,
) -> F64:
    """Share of the component's layer energy in each cell, shape ``(m, nx * ny)``."""
    m = events.shape[0]
    if comp.kind == "track":
        weight = np.ones((m, 1))
        kernels = [(np.ones((m, 1)), np.full((m, 1), comp.radius_mm[li]))]
        axis = _axis(tracks, track, li, events, None, comp)
    else:
        sub = _rows(comp, events)
        weight, mid = depth_subslices(sub, li, n_sub)
        kernels = lateral_kernels(sub, li, mid)
        axis = _axis(tracks, track, li, events, mid, comp)
    x = eta_edges[None, None, :] - axis[..., 0:1]  # (m, S, nx + 1)
    y = phi_edges[None, None, :] - axis[..., 1:2]
    shares = np.zeros((m, eta_edges.size - 1, phi_edges.size - 1))
    for k_weight, radius in kernels:
        shares += np.einsum("ms,msij->mij", weight * k_weight, rectangle_shares(x, y, radius))
    return shares.reshape(m, -1)


def _rows(comp: Component, events: I64) -> Component:
    """The component restricted to some events (only what the lateral profile reads)."""
    return Component(
        comp.kind,
        comp.energy[events],
        comp.counts[events],
        start=comp.start[events],
        shape=comp.shape[events],
        rate=comp.rate[events],
        bounds=comp.bounds[events],
        cdf=comp.cdf[events],
        t_max=comp.t_max[events] if comp.t_max.size else comp.t_max,
        energy_gev=comp.energy_gev[events] if comp.energy_gev.size else comp.energy_gev,
        radius_scale=comp.radius_scale[events] if comp.radius_scale.size else comp.radius_scale,
        radius_mm=comp.radius_mm,
        medium=comp.medium,
    )


def deposit_cells(
    rng: np.random.Generator,
    components: list[Component],
    geometry: CartesianGeometry,
    tracks: Tracks,
    track: TrackMap,
    n_sub: tuple[int, ...] | None = None,
) -> tuple[F64, F64]:
    """Cell energies of a batch by integrating the lateral profile over the cells.

    Args:
        rng: the batch's generator.
        components: the batch's components (layer axis ``track.layer_ids``).
        geometry: the cells; layers the track does not cross stay empty, readout layers the
            geometry lacks are dropped.
        tracks: where the batch's particles run (the shower axis per layer and depth).
        track: the material map of the batch's tracks.
        n_sub: depth sub-slices of each readout layer (default :data:`N_SUBSLICES` each).

    Returns:
        ``(cells, overflow)``: shape ``(n, geometry.n_voxels)`` and ``(n, geometry.n_layers)``
        (energy outside each layer's grid), MeV.
    """
    n = components[0].energy.shape[0]
    layer_ids = track.layer_ids
    out = np.zeros((n, geometry.n_voxels))
    overflow = np.zeros((n, geometry.n_layers))
    for pos, layer in enumerate(geometry.layers):
        if layer.layer_id not in layer_ids:
            continue
        li = layer_ids.index(layer.layer_id)
        off, end = int(geometry.layer_offsets[pos]), int(geometry.layer_offsets[pos + 1])
        eta_edges, phi_edges = layer.eta_edges(), layer.phi_edges()
        slices = N_SUBSLICES if n_sub is None else n_sub[li]
        corners = (eta_edges.size * phi_edges.size) * slices
        block = max(1, _BLOCK_CORNERS // corners)
        for comp in components:
            counts = comp.counts[:, li]
            events = np.flatnonzero(counts > 0)
            if events.size == 0:
                continue
            shares = np.concatenate(
                [
                    _cell_shares(
                        comp, li, eta_edges, phi_edges, tracks, track, events[i : i + block], slices
                    )
                    for i in range(0, events.size, block)
                ]
            )
            p_out = np.clip(1.0 - shares.sum(axis=1, keepdims=True), 0.0, None)
            pvals = np.concatenate([shares, p_out], axis=1)
            pvals /= pvals.sum(axis=1, keepdims=True)
            drawn = rng.multinomial(counts[events], pvals)
            per_spot = comp.energy[events, li] / counts[events]
            out[events, off:end] += drawn[:, :-1] * per_spot[:, None]
            overflow[events, pos] += drawn[:, -1] * per_spot
    return out, overflow


def deposit_cell_spots(
    rng: np.random.Generator,
    components: list[Component],
    geometry: CartesianGeometry,
    tracks: Tracks,
    track: TrackMap,
) -> tuple[F64, F64]:
    """Cell energies of a batch from sampled spots (the hit path's draws), binned in cells.

    Arguments and returns as :func:`deposit_cells`.
    """
    n = components[0].energy.shape[0]
    n_vox, n_layers = geometry.n_voxels, geometry.n_layers
    n_slots = n_vox + n_layers + 1
    sums = np.zeros(n * n_slots)
    for li, layer_id in enumerate(track.layer_ids):
        for comp in components:
            got = component_spots(rng, comp, li)
            if got is None:
                continue
            event, r, alpha, energy, depth = got
            if depth is None:
                axis = _axis(tracks, track, li, event, None, comp)[:, 0]
            else:
                axis = _axis(tracks, track, li, event, depth[:, None], comp)[:, 0]
            x = axis[:, 0] + r * np.cos(alpha)
            y = axis[:, 1] + r * np.sin(alpha)
            slots = cell_slots(np.full(event.shape, layer_id), x, y, geometry)
            sums += np.bincount(event * n_slots + slots, weights=energy, minlength=n * n_slots)
    table = sums.reshape(n, n_slots)
    return np.ascontiguousarray(table[:, :n_vox]), np.ascontiguousarray(
        table[:, n_vox : n_vox + n_layers]
    )
