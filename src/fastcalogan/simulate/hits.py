"""The hit path: spots with a depth, a radius and an angle for every layer and component.

Depths follow the component's longitudinal Gamma profile truncated to the layer
(``gammaincinv`` on uniforms between the layer's CDF bounds); radii follow the GFlash
core/tail profile at that depth (or the hadronic / track profile) by inversion,
``r = R sqrt(u / (1 - u))``; angles are uniform.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import gammaincinv

from .deposits import Component, hadron_radius
from .em import radial_parameters

__all__ = ["HitArrays", "component_spots", "deposit_hits"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class HitArrays:
    """Hits of a batch in any order: event index, r (mm), alpha (rad), layer id, energy (MeV)."""

    event: npt.NDArray[np.int64]
    r: npt.NDArray[np.float32]
    alpha: npt.NDArray[np.float32]
    layer: npt.NDArray[np.int16]
    energy: F64


def component_spots(
    rng: np.random.Generator, comp: Component, li: int
) -> tuple[npt.NDArray[np.int64], F64, F64, F64, F64 | None] | None:
    """The spots of one component in one layer, or ``None`` without any.

    Returns:
        ``(event, r, alpha, energy, depth)``: per spot the event index, the distance from the
        shower axis (mm), the angle (rad), the energy (MeV) and the depth from the profile
        start (X0 or lambda_I; ``None`` for tracks, whose depth is not drawn).
    """
    counts = comp.counts[:, li]
    m = int(counts.sum())
    if m == 0:
        return None
    event = np.repeat(np.arange(counts.shape[0]), counts)
    u = rng.random((4, m))
    v = np.minimum(u[2], 1.0 - 1e-12)
    shape = np.sqrt(v / (1.0 - v))
    depth: F64 | None = None
    if comp.kind == "track":
        r = comp.radius_mm[li] * shape
    else:
        lo, hi = comp.cdf[event, li, 0], comp.cdf[event, li, 1]
        q = np.clip(lo + (hi - lo) * u[0], 0.0, 1.0 - 1e-15)
        depth = gammaincinv(comp.shape[event], q) / comp.rate[event]
        if comp.kind == "gflash":
            tau = depth / comp.t_max[event]
            r_core, r_tail, p_core = radial_parameters(tau, comp.energy_gev[event], comp.medium)
            radius = np.where(u[1] < p_core, r_core, r_tail) * comp.radius_mm[li]
        else:
            radius = hadron_radius(comp, depth, event)
        r = radius * shape
    alpha = (2.0 * u[3] - 1.0) * np.pi
    energy = comp.energy[event, li] / counts[event]
    return event, r, alpha, energy, depth


def deposit_hits(
    rng: np.random.Generator, components: list[Component], layer_ids: tuple[int, ...]
) -> HitArrays:
    """Hits of a batch of showers, drawn layer by layer and component by component.

    ``layer_ids`` is the readout layer id of each position of the components' layer axis.
    """
    parts: list[tuple[npt.NDArray[np.int64], F64, F64, F64, int]] = []
    for li, layer_id in enumerate(layer_ids):
        for comp in components:
            got = component_spots(rng, comp, li)
            if got is not None:
                parts.append((*got[:4], layer_id))
    if not parts:
        z = np.zeros(0)
        return HitArrays(
            z.astype(np.int64), z.astype(np.float32), z.astype(np.float32), z.astype(np.int16), z
        )
    return HitArrays(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]).astype(np.float32),
        np.concatenate([p[2] for p in parts]).astype(np.float32),
        np.concatenate([np.full(p[0].shape[0], p[4], dtype=np.int16) for p in parts]),
        np.concatenate([p[3] for p in parts]),
    )
