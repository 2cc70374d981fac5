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

__all__ = ["N_SUBSLICES", "deposit_voxels", "depth_subslices", "radial_cdf", "voxelise_hits"]

F64 = npt.NDArray[np.float64]
#: depth sub-slices per layer over which the radial profile is averaged
N_SUBSLICES = 4


def _two_radius_cdf(r2: F64, r_core: F64, r_tail: F64, p_core: F64) -> F64:
    """``p r^2/(r^2+Rc^2) + (1-p) r^2/(r^2+Rt^2)``; r2 shape ``(k,)``, radii ``(n, s)``."""
    rc2, rt2 = r_core[..., None] ** 2, r_tail[..., None] ** 2
    return p_core[..., None] * r2 / (r2 + rc2) + (1.0 - p_core[..., None]) * r2 / (r2 + rt2)


def depth_subslices(comp: Component, layer: int, n_sub: int = N_SUBSLICES) -> tuple[F64, F64]:
    """Sub-slices of a layer weighted by the component's longitudinal profile.

    Args:
        comp: a ``gflash`` or ``hadron`` component.
        layer: position of the layer on the component's layer axis.
        n_sub: number of equal sub-slices.

    Returns:
        ``(weight, mid)``: each sub-slice's share of the layer's profile (summing to 1) and
        its mid-depth from the profile start (X0 or lambda_I), each shape ``(n, n_sub)``.
    """
    lo, hi = comp.bounds[:, layer, 0], comp.bounds[:, layer, 1]
    frac = np.linspace(0.0, 1.0, n_sub + 1)
    edges = lo[:, None] + (hi - lo)[:, None] * frac[None, :]  # (n, S+1)
    weight = np.diff(gammainc(comp.shape[:, None], comp.rate[:, None] * edges), axis=1)
    total = weight.sum(axis=1, keepdims=True)
    weight = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1.0 / n_sub)
    mid = 0.5 * (edges[:, 1:] + edges[:, :-1])
    return weight, mid


def lateral_kernels(comp: Component, layer: int, mid: F64) -> list[tuple[F64, F64]]:
    """The lateral profile at depths ``mid`` as ``(weight, radius_mm)`` kernels.

    Each kernel is ``2r R^2/(r^2+R^2)^2`` with radius ``R``; the profile is their weighted
    sum (GFlash: core and tail; hadronic part: one median radius). Shapes are ``mid``'s.
    """
    if comp.kind == "gflash":
        tau = mid / comp.t_max[:, None]
        r_core, r_tail, p_core = radial_parameters(tau, comp.energy_gev[:, None], comp.medium)
        rm = comp.radius_mm[layer]
        return [(p_core, r_core * rm), (1.0 - p_core, r_tail * rm)]
    radius = hadron_radius(comp, mid, slice(None))
    return [(np.ones_like(radius), radius)]


def radial_cdf(comp: Component, layer: int, r_edges: F64, n_sub: int = N_SUBSLICES) -> F64:
    """Share of a component's layer energy within each radial edge.

    Args:
        comp: the component.
        layer: position of the layer on the component's layer axis (``TrackMap.layer_ids``).
        r_edges: radial edges in mm, shape ``(k,)``.
        n_sub: depth sub-slices over which the profile is averaged.

    Returns:
        CDF at the edges, shape ``(n, k)``.
    """
    r2 = np.asarray(r_edges, dtype=np.float64) ** 2
    n = comp.energy.shape[0]
    if comp.kind == "track":
        radius = np.full((n, 1), comp.radius_mm[layer])
        return _two_radius_cdf(r2, radius, radius, np.ones((n, 1)))[:, 0, :]
    weight, mid = depth_subslices(comp, layer, n_sub)
    if comp.kind == "gflash":
        (p_core, r_core), (_, r_tail) = lateral_kernels(comp, layer, mid)
        cdf = _two_radius_cdf(r2, r_core, r_tail, p_core)
    else:
        ((_, radius),) = lateral_kernels(comp, layer, mid)
        cdf = _two_radius_cdf(r2, radius, radius, np.ones_like(radius))
    return np.einsum("ns,nsk->nk", weight, cdf)


def deposit_voxels(
    rng: np.random.Generator,
    components: list[Component],
    binning: Binning,
    layer_ids: tuple[int, ...],
    n_sub: tuple[int, ...] | None = None,
) -> tuple[F64, F64]:
    """Voxel energies of a batch in a polar binning around the shower axis.

    Layers of the binning the track does not cross stay empty; layers the track crosses but
    the binning lacks are dropped.

    Args:
        rng: the batch's generator.
        components: the batch's components (layer axis ``layer_ids``).
        binning: the polar binning.
        layer_ids: the readout layer id of each position of the components' layer axis.
        n_sub: depth sub-slices of each position of the layer axis (default
            :data:`N_SUBSLICES` each).

    Returns:
        ``(voxels, overflow)``: shape ``(n, binning.n_voxels)`` and ``(n, binning.n_layers)``
        (energy beyond each layer's last radial edge), MeV.
    """
    n = components[0].energy.shape[0]
    out = np.zeros((n, binning.n_voxels))
    overflow = np.zeros((n, binning.n_layers))
    for pos, (lay_binning, (off, end)) in enumerate(
        zip(
            binning.layers,
            zip(binning.layer_offsets[:-1], binning.layer_offsets[1:], strict=True),
            strict=True,
        )
    ):
        if lay_binning.layer_id not in layer_ids:
            continue
        li = layer_ids.index(lay_binning.layer_id)
        n_a = lay_binning.n_alpha
        for comp in components:
            counts = comp.counts[:, li]
            if not counts.any():
                continue
            slices = N_SUBSLICES if n_sub is None else n_sub[li]
            cdf = radial_cdf(comp, li, np.asarray(lay_binning.r_edges), slices)
            p_r = np.clip(np.diff(cdf, axis=1), 0.0, None) / n_a
            p = np.tile(p_r, (1, n_a))
            p_out = np.clip(1.0 - p.sum(axis=1, keepdims=True), 0.0, None)
            pvals = np.concatenate([p, p_out], axis=1)
            pvals /= pvals.sum(axis=1, keepdims=True)
            drawn = rng.multinomial(counts, pvals)
            spots = drawn[:, :-1]
            per_spot = np.divide(comp.energy[:, li], counts, out=np.zeros(n), where=counts > 0)
            out[:, off:end] += spots * per_spot[:, None]
            overflow[:, pos] += drawn[:, -1] * per_spot
    return out, overflow


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
