"""Detector descriptions: what the reference simulator's physics models are run in.

A :class:`Detector` is

* an ordered stack of :class:`~fastcalogan.simulate.material.Slab` (front to back), each of
  one :class:`~fastcalogan.simulate.material.Medium`, each a readout layer (a geometry layer
  id) or dead material;
* the GFlash quantities of its e.m. showers (:class:`~fastcalogan.simulate.em.SamplingMedium`);
* how the signal is read (:data:`Signal`): at the e.m. scale (the ATLAS barrel's calibrated
  cells), the active medium's deposited energy, or the energy deposited in absorber and
  active material alike;
* its readout geometry (a built-in :class:`~fastcalogan.geometry.Geometry` name: polar
  binnings or Cartesian cell grids);
* its incidence (:class:`Incidence`): an |eta| slice of the barrel, normal incidence on a
  test-beam face, per-event momentum direction and impact point, or a detector's own (the
  ATLAS cell windows).

The same e.m. and hadronic models run in every detector; the description supplies their
constants. Built-in detectors are in :mod:`fastcalogan.simulate.detectors`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Literal, Self

import numpy as np
import numpy.typing as npt

from ..data import LHCB_CONDITION_NAMES
from ..errors import SimulationError
from .em import SamplingMedium
from .material import Medium, Slab

__all__ = [
    "Beam",
    "Detector",
    "EtaRange",
    "EtaSlice",
    "FaceIncidence",
    "GivenTracks",
    "Incidence",
    "LayerResponse",
    "NormalIncidence",
    "Signal",
    "Tracks",
    "layer_response",
]

F64 = npt.NDArray[np.float64]

#: How the signal is read: ``em-scale`` (the active medium's signal calibrated to the e.m.
#: scale, with its sampling fluctuation; the ATLAS barrel), ``active`` (the energy deposited in
#: the active medium: the e.m.-scale signal times the sampling fraction; a scintillator
#: shashlik), ``total`` (the energy deposited in absorber and active material alike: no
#: sampling fluctuation, ionisation read one to one; CaloGAN).
Signal = Literal["em-scale", "active", "total"]

#: the ATLAS barrel's validity in |eta|
BARREL_ETA_MAX = 1.4


@dataclass(frozen=True)
class LayerResponse:
    """What each readout layer records, per layer (arrays of shape ``(n_layers,)``).

    Attributes:
        c_em, c_had: stochastic terms applied to e.m. and visible non-e.m. energy (0: none).
        h_over_e: visible non-e.m. energy per GeV of it.
        mip_scale: reading of 1 MeV of ionisation.
        scale: factor on everything at the end (the sampling fraction for ``active``).
    """

    c_em: F64
    c_had: F64
    h_over_e: F64
    mip_scale: F64
    scale: F64


def layer_response(media: list[Medium], signal: Signal) -> LayerResponse:
    """The response constants of the readout layers' media under a signal reading."""
    if signal == "total":
        zero = np.zeros(len(media))
        return LayerResponse(
            zero,
            zero.copy(),
            np.array([m.h_over_e_total for m in media]),
            np.ones(len(media)),
            np.ones(len(media)),
        )
    scale = (
        np.array([m.sampling_fraction for m in media])
        if signal == "active"
        else np.ones(len(media))
    )
    return LayerResponse(
        np.array([m.c_em for m in media]),
        np.array([m.c_had for m in media]),
        np.array([m.h_over_e for m in media]),
        np.array([m.mip_scale for m in media]),
        scale,
    )


@dataclass(frozen=True)
class Tracks:
    """Where a batch's particles enter and how they run.

    Attributes:
        path_scale: path length per unit depth, shape ``(n,)`` (cosh eta in the barrel,
            1/cos theta for an oblique track on a flat face).
        origin_mm: the shower axis in each readout layer's cell frame where the track crosses
            the front face, shape ``(n, n_layers, 2)`` (eta, phi) mm, or ``None``: the axis
            runs through every layer's origin (what a polar binning around the axis needs).
        slope: transverse displacement of the axis per mm of path, shape ``(n, 2)``, or
            ``None`` for a track normal to the layers (or projective ones).
        conditions: per-event conditions to store with the showers, shape ``(n, k)``.
    """

    path_scale: F64
    origin_mm: F64 | None = None
    slope: F64 | None = None
    conditions: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def centred(self) -> bool:
        """True when the shower axis runs through every layer's origin at every depth."""
        return self.origin_mm is None and self.slope is None


@dataclass(frozen=True)
class Beam:
    """A batch's particles as an incidence sees them.

    Attributes:
        energies: shape ``(n,)``, MeV (kinetic energy for hadrons).
        layer_ids: the detector's readout layer ids (``Tracks.origin_mm``'s layer axis).
        mass_mev: the particle's mass (momenta of massive particles).
        first_event: index of the batch's first event among the call's events.
    """

    energies: F64
    layer_ids: tuple[int, ...]
    mass_mev: float
    first_event: int = 0

    @property
    def n(self) -> int:
        """Number of particles."""
        return int(self.energies.shape[0])

    @property
    def n_layers(self) -> int:
        """Number of readout layers."""
        return len(self.layer_ids)

    @property
    def momentum(self) -> F64:
        """|p| of each particle, shape ``(n,)``, MeV; e.m. particles: |p| = E."""
        if self.mass_mev <= 1.0:
            return self.energies
        return np.sqrt(self.energies * (self.energies + 2.0 * self.mass_mev))


class Incidence(ABC):
    """How particles enter a detector; draws the :class:`Tracks` of a batch.

    A subclass implements :meth:`_tracks`; one that overrides :meth:`draw` itself works too.
    """

    #: names of the per-event conditions the incidence stores (``Tracks.conditions`` columns)
    condition_names: tuple[str, ...] = ()

    def draw(
        self,
        rng: np.random.Generator,
        energies: F64,
        layer_ids: tuple[int, ...],
        mass_mev: float,
        first_event: int = 0,
    ) -> Tracks:
        """The tracks of a batch.

        Args:
            rng: the batch's generator (drawn from first, before any shower quantity).
            energies: shape ``(n,)``, MeV (kinetic energy for hadrons).
            layer_ids: the detector's readout layer ids (``Tracks.origin_mm``'s layer axis).
            mass_mev: the particle's mass (momenta of massive particles).
            first_event: index of the batch's first event among the call's events.
        """
        return self._tracks(rng, Beam(energies, layer_ids, mass_mev, first_event))

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """The tracks of ``beam`` (draw from ``rng`` first, in a fixed order)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _tracks nor draw")

    @abstractmethod
    def describe(self) -> str:
        """One line for people."""

    @property
    def centred(self) -> bool:
        """Whether every track runs along the axis of every layer (polar binnings need it)."""
        return False

    @property
    def eta(self) -> tuple[float, float] | None:
        """The |eta| slice the particles enter in, or ``None`` (a test-beam face)."""
        lo, hi = getattr(self, "eta_min", None), getattr(self, "eta_max", None)
        return None if lo is None or hi is None else (float(lo), float(hi))

    def with_eta(self, eta_min: float, eta_max: float) -> Incidence:
        """The same incidence in another |eta| slice; refused where there is none."""
        raise SimulationError(
            f"eta: particles enter by {self.describe()}, which has no |eta| slice"
        )


@dataclass(frozen=True)
class EtaRange(Incidence):
    """Particles from the interaction point into an |eta| slice of the ATLAS barrel.

    |eta| is uniform in ``[eta_min, eta_max]`` (fixed when equal): one draw per event, first.
    The common part of :class:`EtaSlice` and
    :class:`~fastcalogan.simulate.AtlasCellsIncidence` (their validity, draw and messages).
    """

    eta_min: float
    eta_max: float

    def __post_init__(self) -> None:
        lo, hi = float(self.eta_min), float(self.eta_max)
        if lo > hi:
            raise SimulationError(
                f"eta: expected |eta| or (eta_min, eta_max), found {(self.eta_min, self.eta_max)!r}"
            )
        for x in (lo, hi):
            if not 0.0 <= x <= BARREL_ETA_MAX:
                raise SimulationError(
                    f"eta: |eta| = {x:g} is outside the barrel validity 0..{BARREL_ETA_MAX:g}"
                )

    def _abs_eta(self, rng: np.random.Generator, n: int) -> F64:
        """|eta| of ``n`` events, shape ``(n,)`` (one uniform draw each unless fixed)."""
        lo, hi = self.eta_min, self.eta_max
        return np.asarray(rng.uniform(lo, hi, n) if lo < hi else np.full(n, lo), dtype=np.float64)

    def describe(self) -> str:
        """``|eta| 0.20-0.25``."""
        return f"|eta| {self.eta_min:.2f}-{self.eta_max:.2f}"

    def with_eta(self, eta_min: float, eta_max: float) -> Self:
        """The same incidence in another slice."""
        return type(self)(eta_min, eta_max)


@dataclass(frozen=True)
class EtaSlice(EtaRange):
    """The ATLAS barrel: |eta| uniform in ``[eta_min, eta_max]`` (fixed when equal).

    Depths scale with cosh eta; the readout is centred on the particle direction.
    """

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """|eta| per event (one uniform draw per event unless the slice is one value)."""
        return Tracks(np.cosh(self._abs_eta(rng, beam.n)))

    @property
    def centred(self) -> bool:
        """The barrel's readout is centred on the particle direction."""
        return True


@dataclass(frozen=True)
class NormalIncidence(Incidence):
    """Normal incidence on a test-beam face at ``(x_mm, y_mm)`` of the cell frame."""

    x_mm: float = 0.0
    y_mm: float = 0.0

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """No draw: path scale 1, the axis at ``(x_mm, y_mm)`` in every layer."""
        n = beam.n
        if self.x_mm == 0.0 and self.y_mm == 0.0:
            return Tracks(np.ones(n))
        origin = np.broadcast_to(np.array([self.x_mm, self.y_mm]), (n, beam.n_layers, 2)).copy()
        return Tracks(np.ones(n), origin_mm=origin)

    def describe(self) -> str:
        """``normal incidence at (0, 0) mm``."""
        return f"normal incidence at ({self.x_mm:g}, {self.y_mm:g}) mm"

    @property
    def centred(self) -> bool:
        """Centred when the beam hits the origin."""
        return self.x_mm == 0.0 and self.y_mm == 0.0


#: conditions of a track given by its momentum (MeV) and its impact point on the front face (mm)
MOMENTUM_POINT_NAMES = LHCB_CONDITION_NAMES


def _oblique_tracks(direction: F64, point: F64, beam: Beam) -> Tracks:
    """Tracks of ``beam`` from unit directions ``(n, 3)`` (z along the depth) and points
    ``(n, 2)``."""
    uz = direction[:, 2]
    origin = np.repeat(point[:, None, :], beam.n_layers, axis=1)
    conditions = np.concatenate([direction * beam.momentum[:, None], point], axis=1)
    return Tracks(1.0 / uz, origin_mm=origin, slope=direction[:, :2], conditions=conditions)


@dataclass(frozen=True)
class FaceIncidence(Incidence):
    """Per-event impact point and direction on a flat front face, drawn uniformly.

    The impact point ``(x, y)`` (mm, cell frame) is uniform in ``x_mm`` x ``y_mm``; the
    direction's slopes ``t_x = p_x/p_z`` and ``t_y = p_y/p_z`` are uniform in ``slope_x`` x
    ``slope_y``. Stores the conditions ``px, py, pz`` (MeV) and ``x, y`` (mm).
    """

    x_mm: tuple[float, float] = (0.0, 0.0)
    y_mm: tuple[float, float] = (0.0, 0.0)
    slope_x: tuple[float, float] = (0.0, 0.0)
    slope_y: tuple[float, float] = (0.0, 0.0)
    condition_names: tuple[str, ...] = MOMENTUM_POINT_NAMES

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """Four uniforms per event: x, y, t_x, t_y."""
        n = beam.n
        u = rng.random((4, n))
        lo = np.array([self.x_mm[0], self.y_mm[0], self.slope_x[0], self.slope_y[0]])
        hi = np.array([self.x_mm[1], self.y_mm[1], self.slope_x[1], self.slope_y[1]])
        x, y, tx, ty = lo[:, None] + (hi - lo)[:, None] * u
        direction = np.stack([tx, ty, np.ones(n)], axis=1)
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        point = np.stack([x, y], axis=1)
        return _oblique_tracks(direction, point, beam)

    def describe(self) -> str:
        """The ranges."""
        return (
            f"impact x {self.x_mm[0]:g}..{self.x_mm[1]:g} mm, y {self.y_mm[0]:g}..{self.y_mm[1]:g}"
            f" mm, slopes t_x {self.slope_x[0]:g}..{self.slope_x[1]:g}, "
            f"t_y {self.slope_y[0]:g}..{self.slope_y[1]:g}"
        )


@dataclass(frozen=True, eq=False)
class GivenTracks(Incidence):
    """Per-event momentum directions and impact points given by the caller.

    Attributes:
        momentum: shape ``(n, 3)`` (only the direction is used; p_z > 0 into the detector).
        point: shape ``(n, 2)``, impact point on the front face (mm, cell frame).

    Row ``i`` belongs to event ``i`` of the call (``simulate_showers`` passes each batch's
    first event).
    """

    momentum: F64
    point: F64
    condition_names: tuple[str, ...] = MOMENTUM_POINT_NAMES

    def __post_init__(self) -> None:
        p = np.asarray(self.momentum, dtype=np.float64)
        x = np.asarray(self.point, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3 or x.shape != (p.shape[0], 2):
            raise SimulationError(
                f"tracks: expected momentum (n, 3) and point (n, 2), found {p.shape} and {x.shape}"
            )
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(x)) and np.all(p[:, 2] > 0)):
            raise SimulationError("tracks: momenta and points must be finite, with p_z > 0")
        object.__setattr__(self, "momentum", p)
        object.__setattr__(self, "point", x)

    def _tracks(self, rng: np.random.Generator, beam: Beam) -> Tracks:
        """The given tracks of events ``first_event ...`` (no random draw)."""
        start = int(beam.first_event)
        stop = start + beam.n
        if stop > self.momentum.shape[0]:
            raise SimulationError(
                f"tracks: {self.momentum.shape[0]} given, but event {stop - 1} was asked for"
            )
        p = self.momentum[start:stop]
        direction = p / np.linalg.norm(p, axis=1, keepdims=True)
        return _oblique_tracks(direction, self.point[start:stop], beam)

    def describe(self) -> str:
        """How many tracks are given."""
        return f"{self.momentum.shape[0]} given tracks"


@dataclass(frozen=True)
class Detector:
    """A detector the reference simulator runs in.

    Attributes:
        name: identifier (``atlas-barrel``, ``calogan``, ...); the ``--detector`` name.
        summary: one line for people.
        slabs: the stack, front to back; readout layers have unique layer ids >= 0.
        shower: GFlash quantities of its e.m. showers (longitudinal and radial fits, spots).
        signal: how the signal is read (:data:`Signal`).
        incidence: how particles enter it (default of a run).
        geometry: name of its built-in readout geometry, or ``None`` for the particle's
            dataset-1 binning (the barrel).
        sampling_names: the names its layers must carry in a polar binning (the barrel: the
            ATLAS sampling names), or ``None``.
        layout: the file layout ``simulate`` writes (``calochallenge``, ``calogan``, ``lhcb``,
            ``atlas-cells``).
        particles: the particles it is meant for (``None``: any); documentation only.
        energy_range_mev: default incident energies of a run, uniform in this range (MeV), or
        energies_mev: default energy points of a run (``events`` each, MeV); with neither,
            the dataset-1 points.
        depth_slices: depth sub-slices over which the lateral profile is integrated, for every
            readout layer or one per readout layer (deep layers need more: the profile widens
            with depth, and an oblique track moves across the cells).
    """

    name: str
    summary: str
    slabs: tuple[Slab, ...]
    shower: SamplingMedium
    signal: Signal
    incidence: Incidence
    geometry: str | None = None
    sampling_names: dict[int, str] | None = None
    layout: str = "calochallenge"
    particles: tuple[str, ...] | None = None
    energy_range_mev: tuple[float, float] | None = None
    energies_mev: tuple[float, ...] | None = None
    depth_slices: int | tuple[int, ...] = 4

    def __post_init__(self) -> None:
        ids = list(self.layer_ids)
        if not ids:
            raise SimulationError(f"detector {self.name}: no slab is a readout layer")
        if len(set(ids)) != len(ids):
            raise SimulationError(
                f"detector {self.name}: each readout layer is one slab, found ids {ids}"
            )
        bad = [s.name for s in self.slabs if not (s.x0 > 0 and s.lambda_i > 0 and s.mip_mev >= 0)]
        if bad:
            raise SimulationError(
                f"detector {self.name}: slabs {bad} need x0 > 0, lambda_i > 0 and mip_mev >= 0"
            )
        slices = self.layer_slices
        if len(slices) != len(ids) or min(slices) < 1:
            raise SimulationError(
                f"detector {self.name}: depth_slices must be one integer >= 1 or one per "
                f"readout layer ({len(ids)}), found {self.depth_slices!r}"
            )

    @property
    def layer_slices(self) -> tuple[int, ...]:
        """Depth sub-slices of each readout layer, front to back."""
        if isinstance(self.depth_slices, int):
            return (int(self.depth_slices),) * len(self.layer_ids)
        return tuple(int(k) for k in self.depth_slices)

    @property
    def layer_ids(self) -> tuple[int, ...]:
        """Readout layer ids, front to back."""
        return tuple(s.layer_id for s in self.slabs if s.is_readout)

    @property
    def x0(self) -> float:
        """Total depth in X0 at normal incidence."""
        return float(sum(s.x0 for s in self.slabs))

    @property
    def lambda_i(self) -> float:
        """Total depth in lambda_I at normal incidence."""
        return float(sum(s.lambda_i for s in self.slabs))

    def describe(self) -> str:
        """A header line, then one line per slab."""
        rows = [
            f"{self.name}: {self.summary}; {self.x0:.1f} X0, {self.lambda_i:.2f} lambda_I; "
            f"signal {self.signal}; {self.incidence.describe()}"
        ]
        for s in self.slabs:
            what = f"layer {s.layer_id}" if s.is_readout else "dead"
            mm = f" {s.thickness_mm:g} mm" if s.thickness_mm is not None else ""
            rows.append(
                f"  {s.name:<12s} {what:<9s} {s.medium.name:<12s}{mm} {s.x0:.2f} X0 "
                f"{s.lambda_i:.3f} lambda_I"
            )
        return "\n".join(rows)
