"""The material map along a particle's track through the ATLAS-like barrel.

Depths are given at eta = 0 in radiation lengths (X0) and nuclear interaction lengths
(lambda_I) and scale with cosh(eta) for a track at pseudorapidity eta. Dead segments
(upstream material, cryostat) absorb energy that no layer records.

Sources are in ``docs/reference-simulator.md`` (geometry table of the design note, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["ACTIVE_LAYERS", "BARREL", "MATERIALS", "Material", "Segment", "TrackMap"]

Medium = Literal["dead", "presampler", "lar", "tile"]


@dataclass(frozen=True)
class Segment:
    """One slab of material crossed by the track, front to back.

    Attributes:
        name: readable name.
        layer_id: ATLAS sampling id, or -1 for dead material.
        medium: ``dead``, ``presampler``, ``lar`` (accordion) or ``tile``.
        x0: thickness at eta = 0 in radiation lengths.
        lambda_i: thickness at eta = 0 in nuclear interaction lengths.
        mip_mev: true ionisation loss of a minimum-ionising track crossing it at eta = 0 (MeV).
    """

    name: str
    layer_id: int
    medium: Medium
    x0: float
    lambda_i: float
    mip_mev: float


@dataclass(frozen=True)
class Material:
    """Response constants of a medium.

    Attributes:
        c_em: stochastic sampling term of e.m. energy, sqrt(GeV).
        c_had: stochastic sampling term of the visible non-e.m. energy, sqrt(GeV) (the
            invisible-energy fluctuation is drawn per event on top, see ``deposits``).
        h_over_e: visible non-e.m. energy per GeV at the e.m. scale (1 / (e/h)).
        mip_scale: e.m.-scale reading of 1 MeV of ionisation (1 / e-hat).
        moliere_mm: Moliere radius in mm.
    """

    c_em: float
    c_had: float
    h_over_e: float
    mip_scale: float
    moliere_mm: float


#: Response of each medium [design note sections 2-4]. LAr: c = 10 %/sqrt(E), e/h 1.74,
#: e-hat 0.69, R_M 40 mm. Tile: e/h 1.362, e-hat 0.86, R_M 20 mm.
MATERIALS: dict[str, Material] = {
    "dead": Material(0.0, 0.0, 0.0, 0.0, 40.0),
    "presampler": Material(0.10, 0.15, 1.0 / 1.74, 1.0 / 0.69, 40.0),
    "lar": Material(0.10, 0.15, 1.0 / 1.74, 1.0 / 0.69, 40.0),
    "tile": Material(0.30, 0.15, 1.0 / 1.362, 1.0 / 0.86, 20.0),
}

#: The barrel track at eta = 0, front to back [design note section 3]. MIP losses: accordion
#: 5.4 MeV/cm over 2.1 cm per X0, Tile 9.8 MeV/cm over 20 cm per lambda, Al-like dead
#: material about 4.4 MeV/cm.
BARREL: tuple[Segment, ...] = (
    Segment("upstream", -1, "dead", 1.80, 0.35, 60.0),
    Segment("PreSamplerB", 0, "presampler", 0.25, 0.02, 3.5),
    Segment("strip front", -1, "dead", 0.20, 0.02, 8.0),
    Segment("EMB1", 1, "lar", 4.30, 0.24, 49.0),
    Segment("EMB2", 2, "lar", 16.0, 0.88, 181.0),
    Segment("EMB3", 3, "lar", 2.00, 0.11, 23.0),
    Segment("cryostat", -1, "dead", 2.50, 0.45, 80.0),
    Segment("TileBar0", 12, "tile", 13.6, 1.50, 294.0),
    Segment("TileBar1", 13, "tile", 37.3, 4.10, 804.0),
    Segment("TileBar2", 14, "tile", 16.4, 1.80, 353.0),
)

#: Sampling ids of the active segments, front to back (the simulator's layer axis).
ACTIVE_LAYERS: tuple[int, ...] = tuple(s.layer_id for s in BARREL if s.layer_id >= 0)


class TrackMap:
    """Per-event segment boundaries along the track (depths scale with cosh eta).

    Attributes:
        x0_edges: shape ``(n_events, n_segments + 1)``, depth in X0 of each boundary.
        lambda_edges: shape ``(n_events, n_segments + 1)``, depth in lambda_I.
        mip_per_lambda: shape ``(n_events, n_segments)``, true MIP loss per lambda_I (MeV).
    """

    def __init__(self, cosh_eta: npt.NDArray[np.float64], segments: tuple[Segment, ...] = BARREL):
        self.segments = segments
        c = np.asarray(cosh_eta, dtype=np.float64)[:, None]
        x0 = np.array([s.x0 for s in segments])
        lam = np.array([s.lambda_i for s in segments])
        zero = np.zeros((c.shape[0], 1))
        self.x0_edges = np.concatenate([zero, np.cumsum(x0)[None, :] * c], axis=1)
        self.lambda_edges = np.concatenate([zero, np.cumsum(lam)[None, :] * c], axis=1)
        # the MIP loss scales with path length, so per lambda it does not depend on eta
        self.mip_per_lambda = np.broadcast_to(
            np.array([s.mip_mev / s.lambda_i for s in segments])[None, :],
            (c.shape[0], len(segments)),
        )
        self.active = np.array([i for i, s in enumerate(segments) if s.layer_id >= 0])
        self.media = [MATERIALS[segments[i].medium] for i in self.active]

    @property
    def n_events(self) -> int:
        """Number of tracks."""
        return int(self.x0_edges.shape[0])

    def layer_bounds(self, unit: Literal["x0", "lambda"]) -> npt.NDArray[np.float64]:
        """Front and back depth of each active layer, shape ``(n_events, n_layers, 2)``."""
        edges = self.x0_edges if unit == "x0" else self.lambda_edges
        return np.stack([edges[:, self.active], edges[:, self.active + 1]], axis=-1)

    def lambda_to_x0(self, depth: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Convert depths in lambda_I (shape ``(n_events,)``) to X0, segment by segment."""
        n_seg = len(self.segments)
        seg = np.sum(depth[:, None] >= self.lambda_edges[:, 1:], axis=1)
        seg = np.minimum(seg, n_seg - 1)
        rows = np.arange(depth.shape[0])
        l0, l1 = self.lambda_edges[rows, seg], self.lambda_edges[rows, seg + 1]
        x0a, x0b = self.x0_edges[rows, seg], self.x0_edges[rows, seg + 1]
        # beyond the last segment keep the Tile ratio of X0 per lambda
        return x0a + (depth - l0) * (x0b - x0a) / (l1 - l0)
