"""Public entry points of the reference simulator.

:func:`simulate_showers` runs a particle in any detector description and reads it in the
detector's geometry (polar voxels or Cartesian cells); :func:`simulate_voxels` and
:func:`simulate_hits` are the ATLAS barrel's; :func:`simulate` writes a run in the detector's
file layout.

Randomness: events are processed in fixed-size batches; batch ``b`` of stream ``s`` draws
from ``Generator(PCG64(SeedSequence([seed, pdg mod 2^32, s, b])))``: first the incidence
(|eta|, impact point, direction), then the shower quantities, then the transverse readout.
Output is therefore bit-identical for a given (seed, batch_size) however the work is split,
as long as each piece starts at a whole batch (pass ``first_batch``). :func:`simulate` uses
one stream per energy point, so a point's showers do not depend on the other points; an
energy range draws each batch's energies from a stream of their own (:data:`ENERGY_STREAM`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .. import __version__
from .._fileio import refuse_overwrite
from .._logging import ProgressCallback
from ..data import (
    DS1_ENERGIES,
    HitShowers,
    HitWriter,
    ds1_event_counts,
    open_layout_writer,
)
from ..errors import BinningError, SimulationError
from ..geometry import (
    Binning,
    CartesianGeometry,
    Geometry,
    Particle,
    default_geometry,
    get_particle,
    hit_slots,
    load_geometry,
    require_polar,
)
from .cells import deposit_cell_spots, deposit_cells
from .config import E_MAX_MEV, E_MIN_MEV, READOUT_THRESHOLD_MEV, SimulateConfig
from .deposits import Component, draw_deposits
from .detector import Detector, EtaSlice, Incidence, Tracks
from .detectors import ATLAS_BARREL, get_detector
from .hits import deposit_hits
from .material import TrackMap
from .voxels import deposit_voxels, voxelise_hits

__all__ = [
    "SimulateResult",
    "SimulatedShowers",
    "apply_readout_threshold",
    "detector_geometry",
    "resolve_energies",
    "simulate",
    "simulate_hits",
    "simulate_showers",
    "simulate_voxels",
]

log = logging.getLogger(__name__)

EtaSpec = float | tuple[float, float]


@dataclass(frozen=True)
class SimulateResult:
    """What :func:`simulate` wrote.

    Attributes:
        showers_path: the CaloChallenge shower file.
        hits_path: the hit file, or None.
        n_events: showers written.
        n_points: energy points.
        binning: name of the voxel binning.
        seconds: wall time.
        response: mean E_dep/E_inc per energy point, shape ``(n_points,)`` as a tuple (one
            point for an energy range).
        detector: the detector's name.
        layout: the file layout written.
    """

    showers_path: Path
    hits_path: Path | None
    n_events: int
    n_points: int
    binning: str
    seconds: float
    response: tuple[float, ...]
    detector: str = "atlas-barrel"
    layout: str = "calochallenge"


def resolve_energies(
    spec: Literal["ds1"] | list[float], events: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Incident energies of a run and the events per energy point.

    Args:
        spec: ``"ds1"`` (15 points 2^8..2^22 MeV with dataset-1 counts scaled by
            ``events / 10000``: 10k up to 262 GeV, then 5k/3k/2k/1k) or a list of MeV
            (``events`` each, points sorted ascending).
        events: events per point (list) or the dataset-1 scale.

    Returns:
        ``(energies, counts)``: energies shape ``(N,)`` MeV grouped by point in ascending
        order, counts shape ``(n_points,)``.

    >>> e, c = resolve_energies([2000.0, 1000.0], 2)
    >>> e.tolist(), c.tolist()
    ([1000.0, 1000.0, 2000.0, 2000.0], [2, 2])
    """
    if isinstance(spec, str):
        if spec != "ds1":
            raise SimulationError(f"energies: expected 'ds1' or a list of MeV, found '{spec}'")
        points = DS1_ENERGIES.copy()
        counts = ds1_event_counts(events / 10_000)
    else:
        points = np.sort(np.asarray(spec, dtype=np.float64).reshape(-1))
        counts = np.full(points.shape[0], int(events), dtype=np.int64)
    return np.repeat(points, counts), counts


def _check_energies(energies: npt.ArrayLike) -> npt.NDArray[np.float64]:
    e = np.asarray(energies, dtype=np.float64).reshape(-1)
    if e.size and (not np.all(np.isfinite(e)) or e.min() < E_MIN_MEV or e.max() > E_MAX_MEV):
        bad = e[~np.isfinite(e) | (e < E_MIN_MEV) | (e > E_MAX_MEV)][0]
        raise SimulationError(
            f"energies_mev: {bad:g} MeV is outside the simulator's range "
            f"{E_MIN_MEV:g}..{E_MAX_MEV:g} MeV"
        )
    return e


def _eta_slice(eta: EtaSpec) -> EtaSlice:
    if isinstance(eta, int | float | np.floating):
        lims: tuple[float, ...] = (float(eta), float(eta))
    else:
        lims = tuple(float(x) for x in eta)
    if len(lims) != 2:
        raise SimulationError(f"eta: expected |eta| or (eta_min, eta_max), found {eta!r}")
    return EtaSlice(lims[0], lims[1])


@dataclass(frozen=True)
class _Batch:
    """One batch of showers: its generator, energies, tracks, material map and components."""

    rng: np.random.Generator
    energies: npt.NDArray[np.float64]
    tracks: Tracks
    track: TrackMap
    components: list[Component]


def _batches(
    detector: Detector,
    particle: Particle,
    energies: npt.NDArray[np.float64],
    incidence: Incidence,
    seed: int,
    batch_size: int,
    stream: int,
    first_batch: int,
) -> Iterator[_Batch]:
    if batch_size < 1:
        raise SimulationError(f"batch_size must be >= 1, found {batch_size}")
    for b, start in enumerate(range(0, energies.shape[0], batch_size)):
        e = energies[start : start + batch_size]
        ss = np.random.SeedSequence([int(seed), particle.pdg % 2**32, stream, first_batch + b])
        rng = np.random.Generator(np.random.PCG64(ss))
        tracks = incidence.draw(rng, e, detector.layer_ids, particle.mass, first_event=start)
        track = TrackMap(tracks.path_scale, detector.slabs)
        comps = draw_deposits(rng, particle, e, track, detector.shower, detector.signal)
        yield _Batch(rng, e, tracks, track, comps)


def _simulator_binning(geometry: Geometry) -> Binning:
    """The geometry as a polar binning of ATLAS samplings, or one line saying why not."""
    binning = require_polar(geometry, "the reference simulator's radial profiles")
    _check_geometry(ATLAS_BARREL, binning, ATLAS_BARREL.incidence)
    return binning


def apply_readout_threshold(
    voxels: npt.NDArray[np.float64], threshold_mev: float = READOUT_THRESHOLD_MEV
) -> npt.NDArray[np.float64]:
    """Set voxel energies below ``threshold_mev`` to exact zeros, in place; returns ``voxels``.

    >>> apply_readout_threshold(np.array([[0.004, 0.02]]), 0.01).tolist()
    [[0.0, 0.02]]
    """
    if threshold_mev > 0:
        voxels[voxels < threshold_mev] = 0.0
    return voxels


def _check_geometry(detector: Detector, geometry: Geometry, incidence: Incidence) -> None:
    """Refuse, in one line, a geometry the detector's simulation cannot read."""
    if isinstance(geometry, Binning):
        if not incidence.centred:
            raise BinningError(
                f"geometry {geometry.name} is polar (bins around the shower axis), but in "
                f"detector {detector.name} particles enter by {incidence.describe()}; "
                "use a cartesian geometry"
            )
        names = detector.sampling_names
        if names is not None:
            foreign = [lay.name for lay in geometry.layers if names.get(lay.layer_id) != lay.name]
            if foreign:
                raise BinningError(
                    f"geometry {geometry.name}: the reference simulator models ATLAS barrel "
                    f"samplings; layers {foreign} are not ATLAS sampling ids with their names"
                )
    elif not isinstance(geometry, CartesianGeometry):
        raise BinningError(
            f"geometry {geometry.name} is {geometry.kind}; the reference simulator reads polar "
            "binnings and cartesian cell grids"
        )
    if not set(geometry.layer_ids) & set(detector.layer_ids):
        raise BinningError(
            f"geometry {geometry.name} (layers {list(geometry.layer_ids)}) shares no layer with "
            f"detector {detector.name} (readout layers {list(detector.layer_ids)})"
        )


def detector_geometry(
    detector: Detector,
    particle: str,
    incidence: Incidence | None = None,
    geometry: Geometry | str | None = None,
) -> Geometry:
    """The readout geometry of a run: ``geometry`` if given, else the detector's built-in one.

    The barrel's default is the particle's dataset-1 binning; every geometry is labelled with
    the particle and the incidence's |eta| slice (``None`` for a test-beam face).
    """
    inc = incidence or detector.incidence
    eta = inc.eta
    name = get_particle(particle).name
    if isinstance(geometry, Geometry):
        g = geometry
    elif geometry:
        g = load_geometry(str(geometry), particle=name, eta=eta)
    elif detector.geometry is None:
        g = default_geometry(name, eta)
    else:
        g = load_geometry(detector.geometry, particle=name, eta=eta)
    _check_geometry(detector, g, inc)
    return g


@dataclass(frozen=True)
class SimulatedShowers:
    """Showers of one call of :func:`simulate_showers`.

    Attributes:
        incident_energies: shape ``(N,)``, MeV.
        showers: shape ``(N, geometry.n_voxels)``, MeV, float64, the geometry's voxel order.
        overflow: shape ``(N, geometry.n_layers)``, MeV: energy of each layer outside its
            voxels (beyond the last radial edge, or outside the cell grid).
        conditions: per-event conditions of the incidence, shape ``(N, k)``.
        condition_names: their names (``px, py, pz, x, y``; ``phi_alignment, eta_alignment``).
        geometry: the readout geometry.
    """

    incident_energies: npt.NDArray[np.float64]
    showers: npt.NDArray[np.float64]
    overflow: npt.NDArray[np.float64]
    conditions: npt.NDArray[np.float64]
    condition_names: tuple[str, ...]
    geometry: Geometry


def simulate_showers(
    detector: Detector | str,
    particle: str,
    energies_mev: npt.ArrayLike,
    seed: int,
    batch_size: int = 1024,
    *,
    geometry: Geometry | str | None = None,
    incidence: Incidence | None = None,
    transverse: Literal["integrate", "spots"] = "integrate",
    stream: int = 0,
    first_batch: int = 0,
    readout_threshold_mev: float = READOUT_THRESHOLD_MEV,
) -> SimulatedShowers:
    """Showers of a particle in a detector, read in its geometry's voxels or cells.

    Args:
        detector: a :class:`Detector` or a built-in name (``atlas-barrel``, ``calogan``,
            ``lhcb-ecal``, ``atlas-cells``).
        particle: particle name (hadrons use the pion model at kinetic energy).
        energies_mev: incident energies, shape ``(N,)``, MeV, within 256 MeV..4.2 TeV.
        seed: random seed.
        batch_size: events per random stream.
        geometry: readout geometry (object, built-in name or file); default: the detector's.
        incidence: how particles enter (default: the detector's): e.g. ``EtaSlice``,
            ``NormalIncidence``, ``FaceIncidence``, ``GivenTracks``.
        transverse: ``integrate`` the lateral profile over the voxels or cells (fast), or draw
            ``spots`` (the hit path's draws) and bin them.
        stream: stream id (``simulate`` uses the energy-point index).
        first_batch: index of the first batch, to continue a split piece of work.
        readout_threshold_mev: voxels or cells below this read exact zeros (see
            :data:`~fastcalogan.simulate.config.READOUT_THRESHOLD_MEV`); 0 keeps everything.

    Returns:
        Showers, overflow and conditions; bit-identical for a (seed, batch_size) however the
        work is split into whole batches.

    Raises:
        SimulationError: energies out of range, a bad incidence.
        BinningError: a geometry the detector's simulation cannot read.
    """
    det = get_detector(detector) if isinstance(detector, str) else detector
    p = get_particle(particle)
    inc = incidence or det.incidence
    g = detector_geometry(det, p.name, inc, geometry)
    e = _check_energies(energies_mev)
    if transverse not in ("integrate", "spots"):
        raise SimulationError(f"transverse: expected 'integrate' or 'spots', found {transverse!r}")
    n = e.shape[0]
    out = np.zeros((n, g.n_voxels))
    overflow = np.zeros((n, g.n_layers))
    conditions = np.zeros((n, len(inc.condition_names)))
    row = 0
    for batch in _batches(det, p, e, inc, seed, batch_size, stream, first_batch):
        sl = slice(row, row + batch.energies.shape[0])
        out[sl], overflow[sl] = _read_out(batch, g, det, transverse)
        if inc.condition_names:
            conditions[sl] = batch.tracks.conditions
        row = sl.stop
    apply_readout_threshold(out, readout_threshold_mev)
    return SimulatedShowers(e, out, overflow, conditions, inc.condition_names, g)


def _read_out(
    batch: _Batch, geometry: Geometry, detector: Detector, transverse: str
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The batch's voxels (or cells) and per-layer overflow."""
    if isinstance(geometry, Binning):
        if transverse == "integrate":
            return deposit_voxels(
                batch.rng,
                batch.components,
                geometry,
                batch.track.layer_ids,
                detector.layer_slices,
            )
        hits = deposit_hits(batch.rng, batch.components, batch.track.layer_ids)
        n = batch.energies.shape[0]
        n_slots = geometry.n_voxels + geometry.n_layers + 1
        slots = hit_slots(hits.layer, hits.r, hits.alpha, geometry)
        table = np.bincount(
            hits.event * n_slots + slots, weights=hits.energy, minlength=n * n_slots
        ).reshape(n, n_slots)
        g = geometry.n_voxels
        return np.ascontiguousarray(table[:, :g]), np.ascontiguousarray(
            table[:, g : g + geometry.n_layers]
        )
    assert isinstance(geometry, CartesianGeometry)  # _check_geometry allows only these
    if transverse == "integrate":
        return deposit_cells(
            batch.rng,
            batch.components,
            geometry,
            batch.tracks,
            batch.track,
            detector.layer_slices,
        )
    return deposit_cell_spots(batch.rng, batch.components, geometry, batch.tracks, batch.track)


def simulate_voxels(
    particle: str,
    energies_mev: npt.ArrayLike,
    eta: EtaSpec,
    binning: Geometry,
    seed: int,
    batch_size: int = 1024,
    *,
    stream: int = 0,
    first_batch: int = 0,
    readout_threshold_mev: float = READOUT_THRESHOLD_MEV,
) -> npt.NDArray[np.float64]:
    """Showers of the ATLAS barrel straight into voxels (the fast path).

    Args:
        particle: particle name (hadrons use the pion model at kinetic energy).
        energies_mev: incident energies, shape ``(N,)``, MeV, within 256 MeV..4.2 TeV.
        eta: fixed |eta|, or a slice ``(eta_min, eta_max)`` drawn uniformly per event.
        binning: voxel binning: polar, with ATLAS sampling ids as layer ids (another geometry
            is refused in one line).
        seed: random seed.
        batch_size: events per random stream.
        stream: stream id (simulate uses the energy-point index).
        first_batch: index of the first batch, to continue a split piece of work.
        readout_threshold_mev: voxels below this read exact zeros (see
            :data:`~fastcalogan.simulate.config.READOUT_THRESHOLD_MEV`); 0 keeps everything.

    Returns:
        Voxel energies, shape ``(N, binning.n_voxels)``, MeV, float64.

    Raises:
        SimulationError: energy or |eta| outside the validity range.
    """
    get_particle(particle)
    b = _simulator_binning(binning)
    _check_energies(energies_mev)
    return simulate_showers(
        ATLAS_BARREL,
        particle,
        energies_mev,
        seed,
        batch_size,
        geometry=b,
        incidence=_eta_slice(eta),
        stream=stream,
        first_batch=first_batch,
        readout_threshold_mev=readout_threshold_mev,
    ).showers


def simulate_hits(
    particle: str,
    energies_mev: npt.ArrayLike,
    eta: EtaSpec,
    seed: int,
    batch_size: int = 1024,
    *,
    stream: int = 0,
    first_batch: int = 0,
) -> HitShowers:
    """Showers of the ATLAS barrel as hits (r mm, alpha rad, layer id in ``BARREL_LAYERS``,
    energy MeV).

    Arguments as :func:`simulate_voxels`. For the same seed the layer energies agree with
    the voxel path shower by shower (before lateral leakage out of the binning).

    Returns:
        The hits, sorted by event, with attrs ``particle``, ``eta_min``, ``eta_max``, ``seed``.
    """
    p = get_particle(particle)
    e = _check_energies(energies_mev)
    inc = _eta_slice(eta)
    lims = (inc.eta_min, inc.eta_max)
    parts = []
    offset = 0
    for batch in _batches(ATLAS_BARREL, p, e, inc, seed, batch_size, stream, first_batch):
        h = deposit_hits(batch.rng, batch.components, batch.track.layer_ids)
        parts.append((h, offset))
        offset += batch.energies.shape[0]
    attrs = {"particle": p.name, "eta_min": lims[0], "eta_max": lims[1], "seed": int(seed)}
    if not parts:
        z = np.zeros(0)
        return HitShowers.from_event_ids(e, z.astype(np.int64), z, z, z.astype(np.int16), z, attrs)
    return HitShowers.from_event_ids(
        e,
        np.concatenate([h.event + off for h, off in parts]),
        np.concatenate([h.r for h, _ in parts]),
        np.concatenate([h.alpha for h, _ in parts]),
        np.concatenate([h.layer for h, _ in parts]),
        np.concatenate([h.energy for h, _ in parts]),
        attrs,
    )


#: random stream of the incident energies of an energy range (energy points use 0, 1, ...)
ENERGY_STREAM = 2**32 - 1


def _energy_plan(
    config: SimulateConfig, detector: Detector
) -> tuple[str, list[tuple[npt.NDArray[np.float64] | None, int]], tuple[float, float] | None]:
    """How a run's incident energies are made.

    Returns:
        ``(kind, points, energy_range)``: kind ``ds1``, ``list`` or ``range``; one
        ``(energies, count)`` per stream (energies ``None`` for a range, drawn per batch).
    """
    spec = config.energies
    e_range = config.energy_range
    if spec is None and e_range is None:
        if detector.energy_range_mev is not None:
            e_range = detector.energy_range_mev
        elif detector.energies_mev is not None:
            spec = list(detector.energies_mev)
        else:
            spec = "ds1"
    if e_range is not None:
        return "range", [(None, int(config.events))], (float(e_range[0]), float(e_range[1]))
    assert spec is not None
    energies, counts = resolve_energies(spec, config.events)
    points: list[tuple[npt.NDArray[np.float64] | None, int]] = []
    start = 0
    for n in counts:
        points.append((energies[start : start + int(n)], int(n)))
        start += int(n)
    return ("ds1" if spec == "ds1" else "list"), points, None


def _range_energies(
    seed: int, particle: Particle, e_range: tuple[float, float], batch: int, n: int
) -> npt.NDArray[np.float64]:
    """Batch ``batch``'s incident energies, uniform in ``e_range`` (its own random stream)."""
    ss = np.random.SeedSequence([int(seed), particle.pdg % 2**32, ENERGY_STREAM, batch])
    u = np.random.Generator(np.random.PCG64(ss)).random(n)
    return e_range[0] + (e_range[1] - e_range[0]) * u


def simulate(
    config: SimulateConfig,
    out_path: Path,
    hits_path: Path | None = None,
    progress: ProgressCallback | None = None,
) -> SimulateResult:
    """Simulate a run in a detector and write it in the detector's layout (and hits).

    Energy point ``i`` uses random stream ``i``; an energy range draws its energies per batch
    from a stream of its own. Without hits the fast path (``transverse``) is used; with hits
    (the barrel only), the shower file is the voxelised hit file, so both describe the same
    events.

    Args:
        config: the run.
        out_path: the shower file to write (atomically).
        hits_path: the hit file to write; with ``config.hits`` and no path,
            ``<out stem>_hits.h5`` next to ``out_path``.
        progress: ``callback(done_events, total_events)``.

    Returns:
        Paths and headline numbers.
    """
    t_start = time.perf_counter()
    out_path = Path(out_path)
    if hits_path is None and config.hits:
        hits_path = out_path.with_name(out_path.stem + "_hits.h5")
    if hits_path is not None and get_detector(config.detector).layout != "calochallenge":
        raise SimulationError(
            f"hits: hit files hold (r, alpha) hits of the barrel; detector {config.detector} "
            "reads cells"
        )
    refuse_overwrite(out_path, [hits_path], "hit file of the same run")
    detector = get_detector(config.detector)
    particle = get_particle(config.particle)
    incidence = detector.incidence
    if incidence.eta is not None:
        incidence = incidence.with_eta(config.eta_min, config.eta_max)
    geometry = detector_geometry(detector, particle.name, incidence, config.binning)
    binning = _simulator_binning(geometry) if hits_path is not None else None
    layout = config.layout or detector.layout
    kind, points, e_range = _energy_plan(config, detector)
    total = sum(n for _, n in points)
    eta = incidence.eta
    attrs: dict[str, Any] = {
        "particle": particle.name,
        **({"eta_min": eta[0], "eta_max": eta[1]} if eta is not None else {}),
        "binning": config.binning or geometry.name,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "fastcalogan_version": __version__,
        "source": "fastcalogan reference simulator",
        "energies": kind,
        "detector": detector.name,
        **({"energy_range_mev": list(e_range)} if e_range is not None else {}),
        "readout_threshold_mev": config.readout_threshold_mev,
    }
    log.info("simulating %d %s showers in %s", total, particle.name, detector.name)
    writer = open_layout_writer(layout, out_path, geometry, attrs, incidence.condition_names)
    hit_writer = HitWriter(hits_path, attrs) if hits_path is not None else None
    response = []
    done = 0
    ok = False
    try:
        for point, (e_point, n_point) in enumerate(points):
            deposited, incident = 0.0, 0.0
            for b0 in range(0, n_point, config.batch_size):
                first = b0 // config.batch_size
                n_batch = min(config.batch_size, n_point - b0)
                if e_point is None:
                    assert e_range is not None
                    e = _range_energies(config.seed, particle, e_range, first, n_batch)
                else:
                    e = e_point[b0 : b0 + n_batch]
                conditions: npt.NDArray[np.float64] | None = None
                overflow: npt.NDArray[np.float64] | None = None
                if hit_writer is not None:
                    assert binning is not None
                    eta_spec = (config.eta_min, config.eta_max)
                    hits = simulate_hits(
                        particle.name,
                        e,
                        eta_spec,
                        config.seed,
                        config.batch_size,
                        stream=point,
                        first_batch=first,
                    )
                    hit_writer.append(hits)
                    vox = apply_readout_threshold(
                        voxelise_hits(hits, binning), config.readout_threshold_mev
                    )
                else:
                    sim = simulate_showers(
                        detector,
                        particle.name,
                        e,
                        config.seed,
                        config.batch_size,
                        geometry=geometry,
                        incidence=incidence,
                        transverse=config.transverse,
                        stream=point,
                        first_batch=first,
                        readout_threshold_mev=config.readout_threshold_mev,
                    )
                    vox, overflow = sim.showers, sim.overflow
                    if sim.condition_names:
                        conditions = sim.conditions
                e_written = e
                if layout == "lhcb" and conditions is not None:
                    e_written = np.linalg.norm(conditions[:, :3], axis=1)
                writer.append(e_written, vox.astype(np.float32), conditions, overflow)
                deposited += float(vox.sum())
                incident += float(e.sum())
                done += e.shape[0]
                if progress is not None:
                    progress(done, total)
            response.append(deposited / incident if n_point else 0.0)
        ok = True
    finally:
        writer.close(commit=ok)
        if hit_writer is not None:
            hit_writer.close(commit=ok)
    seconds = time.perf_counter() - t_start
    log.info("wrote %s (%d showers) in %.1f s", out_path, total, seconds)
    return SimulateResult(
        out_path,
        hits_path,
        total,
        len(points),
        geometry.name,
        seconds,
        tuple(response),
        detector=detector.name,
        layout=layout,
    )
