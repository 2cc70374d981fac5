"""Direct-to-voxel fast path and the histogramming of hits into voxels.

The fast path skips hits: for each layer and component it computes the analytic radial
CDF at the binning's edges (averaged over depth sub-slices of the layer, weighted by the
longitudinal profile), spreads it uniformly in alpha and draws the number of spots in
each voxel from a multinomial with the same spot count the hit path would use. Voxel
energy = spots x (layer energy / layer spots), as for hits; spots beyond the last radial
edge are lost, as hits there are.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import gammainc

from ..data import HitShowers
from ..geometry import Binning, hit_slots
from .deposits import Component, hadron_radius
from .em import radial_parameters
from .material import ACTIVE_LAYERS

__all__ = ["N_SUBSLICES", "deposit_voxels", "radial_cdf", "voxelise_hits"]

F64 = npt.NDArray[np.float64]
#: depth sub-slices per layer over which the radial profile is averaged
N_SUBSLICES = 4


def _two_radius_cdf(r2: F64, r_core: F64, r_tail: F64, p_core: F64) -> F64:
    """``p r^2/(r^2+Rc^2) + (1-p) r^2/(r^2+Rt^2)``; r2 shape ``(k,)``, radii ``(n, s)``."""
    rc2, rt2 = r_core[..., None] ** 2, r_tail[..., None] ** 2
    return p_core[..., None] * r2 / (r2 + rc2) + (1.0 - p_core[..., None]) * r2 / (r2 + rt2)


def radial_cdf(comp: Component, layer: int, r_edges: F64) -> F64:
    """Share of a component's layer energy within each radial edge.

    Args:
        comp: the component.
        layer: position of the layer in ``ACTIVE_LAYERS``.
        r_edges: radial edges in mm, shape ``(k,)``.

    Returns:
        CDF at the edges, shape ``(n, k)``.
    """
    r2 = np.asarray(r_edges, dtype=np.float64) ** 2
    n = comp.energy.shape[0]
    if comp.kind == "track":
        radius = np.full((n, 1), comp.radius_mm[layer])
        return _two_radius_cdf(r2, radius, radius, np.ones((n, 1)))[:, 0, :]
    lo, hi = comp.bounds[:, layer, 0], comp.bounds[:, layer, 1]
    frac = np.linspace(0.0, 1.0, N_SUBSLICES + 1)
    edges = lo[:, None] + (hi - lo)[:, None] * frac[None, :]  # (n, S+1)
    weight = np.diff(gammainc(comp.shape[:, None], comp.rate[:, None] * edges), axis=1)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1.0 / N_SUBSLICES)
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    if comp.kind == "gflash":
        tau = mid / comp.t_max[:, None]
        r_core, r_tail, p_core = radial_parameters(tau, comp.energy_gev[:, None])
        rm = comp.radius_mm[layer]
        cdf = _two_radius_cdf(r2, r_core * rm, r_tail * rm, p_core)
    else:
        radius = hadron_radius(comp, mid, slice(None))
        cdf = _two_radius_cdf(r2, radius, radius, np.ones_like(radius))
    return np.einsum("ns,nsk->nk", weight, cdf)


def deposit_voxels(rng: np.random.Generator, components: list[Component], binning: Binning) -> F64:
    """Voxel energies of a batch, shape ``(n, binning.n_voxels)``, MeV.

    Layers of the binning the barrel track does not cross stay empty; layers the track
    crosses but the binning lacks are dropped.
    """
    n = components[0].energy.shape[0]
    out = np.zeros((n, binning.n_voxels))
    for lay_binning, (off, end) in zip(
        binning.layers,
        zip(binning.layer_offsets[:-1], binning.layer_offsets[1:], strict=True),
        strict=True,
    ):
        if lay_binning.layer_id not in ACTIVE_LAYERS:
            continue
        li = ACTIVE_LAYERS.index(lay_binning.layer_id)
        n_a = lay_binning.n_alpha
        for comp in components:
            counts = comp.counts[:, li]
            if not counts.any():
                continue
            cdf = radial_cdf(comp, li, np.asarray(lay_binning.r_edges))
            p_r = np.clip(np.diff(cdf, axis=1), 0.0, None) / n_a
            p = np.tile(p_r, (1, n_a))
            p_out = np.clip(1.0 - p.sum(axis=1, keepdims=True), 0.0, None)
            pvals = np.concatenate([p, p_out], axis=1)
            pvals /= pvals.sum(axis=1, keepdims=True)
            spots = rng.multinomial(counts, pvals)[:, :-1]
            per_spot = np.divide(comp.energy[:, li], counts, out=np.zeros(n), where=counts > 0)
            out[:, off:end] += spots * per_spot[:, None]
    return out


def voxelise_hits(hits: HitShowers, binning: Binning) -> F64:
    """Histogram hits into the binning's voxels, shape ``(n_events, n_voxels)``, MeV.

    Uses the shared binning rule :func:`fastcalogan.geometry.hit_slots`; energy beyond a
    layer's last radial edge, or in layers the binning lacks, is not in the voxels (the
    voxelise stage reports it as leakage).
    """
    n_vox = binning.n_voxels
    n_slots = n_vox + binning.n_layers + 1
    slots = hit_slots(hits.layer, hits.r, hits.alpha, binning)
    sums = np.bincount(
        hits.event_id * n_slots + slots, weights=hits.energy, minlength=hits.n_events * n_slots
    )
    return np.ascontiguousarray(sums.reshape(hits.n_events, n_slots)[:, :n_vox])
