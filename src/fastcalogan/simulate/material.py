"""Media, slabs and the material map along a particle's track through a detector's stack.

A detector is an ordered stack of slabs (front to back), each of one medium, each either a
readout layer or dead material. Thicknesses are given at normal incidence in radiation lengths
(X0) and nuclear interaction lengths (lambda_I) and scale with the track's path length per unit
depth (cosh eta in the ATLAS barrel, 1/cos theta for an oblique track on a test-beam face).

The ATLAS barrel's stack (:data:`BARREL`) and media (:data:`BARREL_MEDIA`) are here; other
detectors build theirs from material constants (:mod:`fastcalogan.simulate.materials`).
Sources are in ``docs/reference-simulator.md`` (geometry table of the design note, section 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ..errors import SimulationError

__all__ = ["BARREL", "BARREL_MEDIA", "Medium", "Slab", "TrackMap"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Medium:
    """Response constants of a (possibly effective, sampling) medium.

    The constants are those of the signal read at the e.m. scale (the active medium's signal
    divided by the sampling fraction of electrons); :class:`~fastcalogan.simulate.Signal`
    turns them into what a detector records (the active medium's energy, or the energy
    deposited in absorber and active material alike).

    Attributes:
        name: readable name.
        c_em: stochastic sampling term of e.m. energy, sqrt(GeV).
        c_had: stochastic sampling term of the visible non-e.m. energy, sqrt(GeV) (the
            invisible-energy fluctuation is drawn per event on top, see ``deposits``).
        h_over_e: visible non-e.m. energy per GeV at the e.m. scale (1 / (e/h)).
        mip_scale: e.m.-scale reading of 1 MeV of ionisation (1 / e-hat).
        moliere_mm: Moliere radius in mm.
        sampling_fraction: share of an e.m. shower's energy deposited in the active medium
            (f_e = e-hat x f_mip); 1 for a homogeneous medium.
        h_over_e_total: share of the non-e.m. energy deposited anywhere in the medium
            (absorber and active alike); the rest is nuclear binding energy and recoils.
        x0_mm, lambda_mm, mip_mev_per_mm: X0, lambda_I and the minimum-ionising loss per mm,
            where known (needed to build slabs from thicknesses in mm).
    """

    name: str
    c_em: float
    c_had: float
    h_over_e: float
    mip_scale: float
    moliere_mm: float
    sampling_fraction: float = 1.0
    h_over_e_total: float = 0.70
    x0_mm: float | None = None
    lambda_mm: float | None = None
    mip_mev_per_mm: float | None = None


#: Response of each barrel medium [design note sections 2-4]. LAr: c = 10 %/sqrt(E), e/h 1.74,
#: e-hat 0.69, R_M 40 mm. Tile: e/h 1.362, e-hat 0.86, R_M 20 mm.
BARREL_MEDIA: dict[str, Medium] = {
    "dead": Medium("dead", 0.0, 0.0, 0.0, 0.0, 40.0),
    "presampler": Medium("presampler", 0.10, 0.15, 1.0 / 1.74, 1.0 / 0.69, 40.0),
    "lar": Medium("accordion", 0.10, 0.15, 1.0 / 1.74, 1.0 / 0.69, 40.0),
    "tile": Medium("tile", 0.30, 0.15, 1.0 / 1.362, 1.0 / 0.86, 20.0),
}


@dataclass(frozen=True)
class Slab:
    """One slab of material crossed by the track, front to back.

    Attributes:
        name: readable name.
        layer_id: the readout layer it is (a geometry layer id), or -1 for dead material.
        medium: its medium.
        x0: thickness at normal incidence in radiation lengths.
        lambda_i: thickness at normal incidence in nuclear interaction lengths.
        mip_mev: true ionisation loss of a minimum-ionising track crossing it (MeV).
        thickness_mm: thickness in mm where known (oblique tracks need it to move the shower
            axis with depth).
    """

    name: str
    layer_id: int
    medium: Medium
    x0: float
    lambda_i: float
    mip_mev: float
    thickness_mm: float | None = None

    @property
    def is_readout(self) -> bool:
        """Whether the slab is a readout layer (not dead material)."""
        return self.layer_id >= 0

    @staticmethod
    def of_thickness(name: str, layer_id: int, medium: Medium, thickness_mm: float) -> Slab:
        """A slab of ``thickness_mm`` of ``medium``, with X0, lambda_I and MIP loss derived.

        >>> from fastcalogan.simulate.materials import PB, LAR, SamplingStructure
        >>> m = SamplingStructure(PB, 2.0, LAR, 4.0).medium("Pb/LAr")
        >>> s = Slab.of_thickness("front", 0, m, 90.0)
        >>> round(s.x0, 2), round(s.lambda_i, 3)
        (5.77, 0.241)
        """
        if medium.x0_mm is None or medium.lambda_mm is None or medium.mip_mev_per_mm is None:
            raise SimulationError(
                f"slab {name}: medium {medium.name} has no X0, lambda_I or MIP loss per mm; "
                "give the slab's x0, lambda_i and mip_mev instead"
            )
        t = float(thickness_mm)
        return Slab(
            name,
            layer_id,
            medium,
            t / medium.x0_mm,
            t / medium.lambda_mm,
            t * medium.mip_mev_per_mm,
            thickness_mm=t,
        )


def _barrel(name: str, layer_id: int, medium: str, x0: float, lam: float, mip: float) -> Slab:
    return Slab(name, layer_id, BARREL_MEDIA[medium], x0, lam, mip)


#: The barrel track at eta = 0, front to back [design note section 3]. MIP losses: accordion
#: 5.4 MeV/cm over 2.1 cm per X0, Tile 9.8 MeV/cm over 20 cm per lambda, Al-like dead
#: material about 4.4 MeV/cm.
BARREL: tuple[Slab, ...] = (
    _barrel("upstream", -1, "dead", 1.80, 0.35, 60.0),
    _barrel("PreSamplerB", 0, "presampler", 0.25, 0.02, 3.5),
    _barrel("strip front", -1, "dead", 0.20, 0.02, 8.0),
    _barrel("EMB1", 1, "lar", 4.30, 0.24, 49.0),
    _barrel("EMB2", 2, "lar", 16.0, 0.88, 181.0),
    _barrel("EMB3", 3, "lar", 2.00, 0.11, 23.0),
    _barrel("cryostat", -1, "dead", 2.50, 0.45, 80.0),
    _barrel("TileBar0", 12, "tile", 13.6, 1.50, 294.0),
    _barrel("TileBar1", 13, "tile", 37.3, 4.10, 804.0),
    _barrel("TileBar2", 14, "tile", 16.4, 1.80, 353.0),
)


class TrackMap:
    """Per-event slab boundaries along the track (depths scale with the path length).

    Attributes:
        x0_edges: shape ``(n_events, n_slabs + 1)``, depth in X0 of each boundary.
        lambda_edges: shape ``(n_events, n_slabs + 1)``, depth in lambda_I.
        mm_edges: shape ``(n_events, n_slabs + 1)``, path length in mm of each boundary, or
            ``None`` when a slab has no thickness in mm.
        mip_per_lambda: shape ``(n_events, n_slabs)``, true MIP loss per lambda_I (MeV).
        active: positions of the readout slabs among the slabs.
        media: the medium of each readout slab.
        layer_ids: the layer id of each readout slab (the simulator's layer axis).
    """

    def __init__(self, path_scale: F64, slabs: tuple[Slab, ...] = BARREL):
        self.segments = slabs
        c = np.asarray(path_scale, dtype=np.float64)[:, None]
        x0 = np.array([s.x0 for s in slabs])
        lam = np.array([s.lambda_i for s in slabs])
        zero = np.zeros((c.shape[0], 1))
        self.x0_edges = np.concatenate([zero, np.cumsum(x0)[None, :] * c], axis=1)
        self.lambda_edges = np.concatenate([zero, np.cumsum(lam)[None, :] * c], axis=1)
        thick = [s.thickness_mm for s in slabs]
        self.mm_edges: F64 | None = None
        if all(t is not None for t in thick):
            mm = np.array(thick, dtype=np.float64)
            self.mm_edges = np.concatenate([zero, np.cumsum(mm)[None, :] * c], axis=1)
        # the MIP loss scales with path length, so per lambda it does not depend on the angle
        self.mip_per_lambda = np.broadcast_to(
            np.array([s.mip_mev / s.lambda_i for s in slabs])[None, :],
            (c.shape[0], len(slabs)),
        )
        self.active = np.array([i for i, s in enumerate(slabs) if s.is_readout])
        self.media = [slabs[i].medium for i in self.active]
        self.layer_ids: tuple[int, ...] = tuple(slabs[i].layer_id for i in self.active)

    @property
    def n_events(self) -> int:
        """Number of tracks."""
        return int(self.x0_edges.shape[0])

    def layer_bounds(self, unit: Literal["x0", "lambda", "mm"]) -> F64:
        """Front and back depth of each readout layer, shape ``(n_events, n_layers, 2)``."""
        edges = self._edges(unit)
        return np.stack([edges[:, self.active], edges[:, self.active + 1]], axis=-1)

    def _edges(self, unit: Literal["x0", "lambda", "mm"]) -> F64:
        if unit == "x0":
            return self.x0_edges
        if unit == "lambda":
            return self.lambda_edges
        if self.mm_edges is None:
            raise SimulationError(
                "the detector's slabs have no thickness in mm; an oblique track needs them"
            )
        return self.mm_edges

    def lambda_to_x0(self, depth: F64) -> F64:
        """Convert depths in lambda_I (shape ``(n_events,)``) to X0, segment by segment."""
        return self.convert(depth, "lambda", "x0")

    def convert(
        self,
        depth: F64,
        src: Literal["x0", "lambda", "mm"],
        dst: Literal["x0", "lambda", "mm"],
        rows: npt.NDArray[np.int64] | None = None,
    ) -> F64:
        """Convert depths between units, slab by slab.

        Args:
            depth: shape ``(n_events, ...)``, or ``(m, ...)`` with ``rows``.
            src, dst: units.
            rows: the event of each row of ``depth`` (default: row i is event i).

        Piecewise linear in each slab; beyond the last boundary the last slab's ratio holds.
        """
        a, b = self._edges(src), self._edges(dst)
        if rows is not None:
            a, b = a[rows], b[rows]
        d = np.asarray(depth, dtype=np.float64)
        flat = d.reshape(d.shape[0], -1)
        n_seg = a.shape[1] - 1
        seg = np.minimum(np.sum(flat[..., None] >= a[:, None, 1:], axis=-1), n_seg - 1)
        rows = np.arange(flat.shape[0])[:, None]
        a0, a1 = a[rows, seg], a[rows, seg + 1]
        b0, b1 = b[rows, seg], b[rows, seg + 1]
        width = np.where(a1 > a0, a1 - a0, 1.0)
        out = b0 + (flat - a0) * (b1 - b0) / width
        return out.reshape(d.shape)
