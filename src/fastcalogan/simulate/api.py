"""Public entry points of the reference simulator.

Randomness: events are processed in fixed-size batches; batch ``b`` of stream ``s`` draws
from ``Generator(PCG64(SeedSequence([seed, pdg mod 2^32, s, b])))``. Output is therefore
bit-identical for a given (seed, batch_size) however the work is split, as long as each
piece starts at a whole batch (pass ``first_batch``). :func:`simulate` uses one stream per
energy point, so a point's showers do not depend on the other points.
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
from .._config import config_source
from .._fileio import PathPlan, check_free_space
from .._logging import ProgressCallback
from ..data import (
    DS1_ENERGIES,
    HitShowers,
    HitWriter,
    ShowerWriter,
    ds1_event_counts,
    shower_file_bytes,
)
from ..errors import BinningError, SimulationError
from ..geometry import (
    LAYER_NAMES,
    Binning,
    Geometry,
    Particle,
    default_geometry,
    get_particle,
    load_geometry,
    require_polar,
)
from .config import E_MAX_MEV, E_MIN_MEV, ETA_MAX, SimulateConfig
from .deposits import Component, draw_deposits
from .hits import deposit_hits
from .material import TrackMap
from .voxels import deposit_voxels, voxelise_hits

__all__ = [
    "SimulateResult",
    "resolve_energies",
    "simulate",
    "simulate_hits",
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
        response: mean E_dep/E_inc per energy point, shape ``(n_points,)`` as a tuple.
    """

    showers_path: Path
    hits_path: Path | None
    n_events: int
    n_points: int
    binning: str
    seconds: float
    response: tuple[float, ...]


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


def _check_inputs(energies: npt.ArrayLike, eta: EtaSpec) -> tuple[npt.NDArray[np.float64], Any]:
    e = np.asarray(energies, dtype=np.float64).reshape(-1)
    if e.size and (not np.all(np.isfinite(e)) or e.min() < E_MIN_MEV or e.max() > E_MAX_MEV):
        bad = e[~np.isfinite(e) | (e < E_MIN_MEV) | (e > E_MAX_MEV)][0]
        raise SimulationError(
            f"energies_mev: {bad:g} MeV is outside the simulator's range "
            f"{E_MIN_MEV:g}..{E_MAX_MEV:g} MeV"
        )
    if isinstance(eta, int | float | np.floating):
        lims: tuple[float, ...] = (float(eta), float(eta))
    else:
        lims = tuple(float(x) for x in eta)
    if len(lims) != 2 or lims[0] > lims[1]:
        raise SimulationError(f"eta: expected |eta| or (eta_min, eta_max), found {eta!r}")
    for x in lims:
        if not 0.0 <= x <= ETA_MAX:
            raise SimulationError(
                f"eta: |eta| = {x:g} is outside the barrel validity 0..{ETA_MAX:g}"
            )
    return e, lims


def _batches(
    particle: Particle,
    energies: npt.NDArray[np.float64],
    eta: tuple[float, float],
    seed: int,
    batch_size: int,
    stream: int,
    first_batch: int,
) -> Iterator[tuple[np.random.Generator, npt.NDArray[np.float64], list[Component]]]:
    if batch_size < 1:
        raise SimulationError(f"batch_size must be >= 1, found {batch_size}")
    for b, start in enumerate(range(0, energies.shape[0], batch_size)):
        e = energies[start : start + batch_size]
        ss = np.random.SeedSequence([int(seed), particle.pdg % 2**32, stream, first_batch + b])
        rng = np.random.Generator(np.random.PCG64(ss))
        lo, hi = eta
        abs_eta = rng.uniform(lo, hi, e.shape[0]) if lo < hi else np.full(e.shape[0], lo)
        track = TrackMap(np.cosh(abs_eta))
        yield rng, e, draw_deposits(rng, particle, e, track)


def _simulator_binning(geometry: Geometry) -> Binning:
    """The geometry as a polar binning of ATLAS samplings, or one line saying why not."""
    binning = require_polar(geometry, "the reference simulator's radial profiles")
    foreign = [lay.name for lay in binning.layers if LAYER_NAMES.get(lay.layer_id) != lay.name]
    if foreign:
        raise BinningError(
            f"geometry {binning.name}: the reference simulator models ATLAS barrel samplings; "
            f"layers {foreign} are not ATLAS sampling ids with their names"
        )
    return binning


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
) -> npt.NDArray[np.float64]:
    """Showers straight into voxels (the fast path).

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

    Returns:
        Voxel energies, shape ``(N, binning.n_voxels)``, MeV, float64.

    Raises:
        SimulationError: energy or |eta| outside the validity range.
    """
    p = get_particle(particle)
    binning = _simulator_binning(binning)
    e, lims = _check_inputs(energies_mev, eta)
    out = np.zeros((e.shape[0], binning.n_voxels))
    row = 0
    for rng, eb, comps in _batches(p, e, lims, seed, batch_size, stream, first_batch):
        out[row : row + eb.shape[0]] = deposit_voxels(rng, comps, binning)
        row += eb.shape[0]
    return out


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
    """Showers as hits (r mm, alpha rad, layer id in ``BARREL_LAYERS``, energy MeV).

    Arguments as :func:`simulate_voxels`. For the same seed the layer energies agree with
    the voxel path shower by shower (before lateral leakage out of the binning).

    Returns:
        The hits, sorted by event, with attrs ``particle``, ``eta_min``, ``eta_max``, ``seed``.
    """
    p = get_particle(particle)
    e, lims = _check_inputs(energies_mev, eta)
    parts = []
    offset = 0
    for rng, eb, comps in _batches(p, e, lims, seed, batch_size, stream, first_batch):
        h = deposit_hits(rng, comps)
        parts.append((h, offset))
        offset += eb.shape[0]
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


def simulate(
    config: SimulateConfig,
    out_path: Path,
    hits_path: Path | None = None,
    progress: ProgressCallback | None = None,
) -> SimulateResult:
    """Simulate a run and write it in the CaloChallenge layout (and optionally as hits).

    Energy point ``i`` uses random stream ``i``. Without hits the voxel fast path is used;
    with hits, the shower file is the voxelised hit file, so both describe the same events.

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
    plan = PathPlan().read(config_source(config), "config file")
    if config.binning and Path(config.binning).is_file():
        plan.read(config.binning, "binning file")
    plan.write(out_path, "shower file")
    if hits_path is not None:
        plan.write(hits_path, "hit file")
    plan.check()
    particle = get_particle(config.particle)
    eta = (config.eta_min, config.eta_max)
    if config.binning:
        geometry = load_geometry(config.binning, particle=particle.name, eta=eta)
    else:
        geometry = default_geometry(particle.name, eta)
    binning = _simulator_binning(geometry)
    energies, counts = resolve_energies(config.energies, config.events)
    total = int(counts.sum())
    check_free_space(
        out_path,
        shower_file_bytes(total, binning.n_voxels),
        "shower file",
        f"{total} showers of {binning.n_voxels} voxels, uncompressed",
    )
    attrs: dict[str, Any] = {
        "particle": particle.name,
        "eta_min": config.eta_min,
        "eta_max": config.eta_max,
        "binning": config.binning or binning.name,
        "seed": config.seed,
        "batch_size": config.batch_size,
        "fastcalogan_version": __version__,
        "source": "fastcalogan reference simulator",
        "energies": "ds1" if config.energies == "ds1" else "list",
    }
    log.info("simulating %d %s showers in %d points", total, particle.name, counts.size)
    writer = ShowerWriter(out_path, binning.n_voxels, attrs, geometry=binning)
    hit_writer = HitWriter(hits_path, attrs) if hits_path is not None else None
    response = []
    done = 0
    ok = False
    try:
        start = 0
        for point, n_point in enumerate(counts):
            e_point = energies[start : start + n_point]
            start += int(n_point)
            deposited = 0.0
            for b0 in range(0, int(n_point), config.batch_size):
                e = e_point[b0 : b0 + config.batch_size]
                first = b0 // config.batch_size
                if hit_writer is not None:
                    hits = simulate_hits(
                        particle.name,
                        e,
                        eta,
                        config.seed,
                        config.batch_size,
                        stream=point,
                        first_batch=first,
                    )
                    hit_writer.append(hits)
                    vox = voxelise_hits(hits, binning)
                else:
                    vox = simulate_voxels(
                        particle.name,
                        e,
                        eta,
                        binning,
                        config.seed,
                        config.batch_size,
                        stream=point,
                        first_batch=first,
                    )
                writer.append(e, vox.astype(np.float32))
                deposited += float(vox.sum())
                done += e.shape[0]
                if progress is not None:
                    progress(done, total)
            response.append(deposited / float(e_point.sum()) if n_point else 0.0)
        ok = True
    finally:
        writer.close(commit=ok)
        if hit_writer is not None:
            hit_writer.close(commit=ok)
    seconds = time.perf_counter() - t_start
    log.info("wrote %s (%d showers) in %.1f s", out_path, total, seconds)
    return SimulateResult(
        out_path, hits_path, total, int(counts.size), binning.name, seconds, tuple(response)
    )
