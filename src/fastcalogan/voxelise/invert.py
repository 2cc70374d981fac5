"""Voxels -> hits, as FastCaloGAN's Athena step does it.

Each voxel's energy is shared equally between the points of a regular sub-grid: cells of about
1 mm in the EMB1-like strip layers (sampling ids 1 and 5) and 5 mm elsewhere, along r and
along the arc ``r * delta_alpha`` (taken at the voxel's mid radius), at most 10 x 10 cells
per voxel (FastCaloGAN in AtlFast3, arXiv:2109.02551). Points sit at the cell centres,
strictly inside the voxel, so voxelising the hits again puts every point back in its voxel.
A layer without alpha bins has one alpha bin over (-pi, pi]: its energy is spread over the
whole annulus.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import __version__
from .._config import config_source
from .._fileio import PathPlan
from .._logging import ProgressCallback
from ..data import HitShowers, HitWriter, geometry_of_file, iter_showers, read_shower_attrs
from ..errors import DataFormatError
from ..geometry import Geometry, require_polar
from .config import InvertConfig

__all__ = ["InvertResult", "VoxelGrid", "invert", "invert_showers", "voxel_grid"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VoxelGrid:
    """The sub-grid of every voxel, each array of shape ``(n_voxels,)``.

    Attributes:
        r_low, r_high: radial edges (mm). alpha_low, alpha_high: alpha edges (rad).
        n_r, n_alpha: cells along r and along alpha (1..max_points_per_axis).
    """

    r_low: npt.NDArray[np.float64]
    r_high: npt.NDArray[np.float64]
    alpha_low: npt.NDArray[np.float64]
    alpha_high: npt.NDArray[np.float64]
    n_r: npt.NDArray[np.int64]
    n_alpha: npt.NDArray[np.int64]

    @property
    def n_points(self) -> npt.NDArray[np.int64]:
        """Hits per non-empty voxel, shape ``(n_voxels,)``."""
        return self.n_r * self.n_alpha


def _cells(length: npt.NDArray[np.float64], step: float, cap: int) -> npt.NDArray[np.int64]:
    # round first so that a length of exactly k steps gives k cells despite float noise
    n = np.ceil(np.round(length / step, 9)).astype(np.int64)
    return np.clip(n, 1, cap)


def voxel_grid(binning: Geometry, config: InvertConfig | None = None) -> VoxelGrid:
    """Per-voxel edges and sub-grid sizes for :func:`invert` (polar binnings only).

    >>> from fastcalogan.geometry import load_geometry
    >>> g = voxel_grid(load_geometry("ds1-photons"))
    >>> int(g.n_points.max()), int(g.n_points.min())
    (100, 1)
    """
    binning = require_polar(binning, "inverting voxels into (r, alpha) hits")
    cfg = config or InvertConfig()
    parts: dict[str, list[npt.NDArray[Any]]] = {k: [] for k in ("r0", "r1", "a0", "a1", "nr", "na")}
    for lay in binning.layers:
        step = cfg.step_mm_fine if lay.layer_id in cfg.fine_layers else cfg.step_mm
        r_edges = np.asarray(lay.r_edges, dtype=np.float64)
        a_edges = lay.alpha_edges()
        r0 = np.tile(r_edges[:-1], lay.n_alpha)
        r1 = np.tile(r_edges[1:], lay.n_alpha)
        a0 = np.repeat(a_edges[:-1], lay.n_r)
        a1 = np.repeat(a_edges[1:], lay.n_r)
        arc = 0.5 * (r0 + r1) * (a1 - a0)
        parts["r0"].append(r0)
        parts["r1"].append(r1)
        parts["a0"].append(a0)
        parts["a1"].append(a1)
        parts["nr"].append(_cells(r1 - r0, step, cfg.max_points_per_axis))
        parts["na"].append(_cells(arc, step, cfg.max_points_per_axis))
    cat = {k: np.concatenate(v) for k, v in parts.items()}
    return VoxelGrid(cat["r0"], cat["r1"], cat["a0"], cat["a1"], cat["nr"], cat["na"])


def invert(
    showers: npt.ArrayLike,
    incident_energies: npt.ArrayLike,
    binning: Geometry,
    config: InvertConfig | None = None,
) -> HitShowers:
    """Spread voxel energies onto hits (vectorised over all non-empty voxels).

    Args:
        showers: shape ``(n_events, n_voxels)``, MeV.
        incident_energies: shape ``(n_events,)`` or ``(n_events, 1)``, MeV.
        binning: the voxel binning (polar; another kind is refused in one line).
        config: grid steps and caps (defaults: 1 mm in layers 1 and 5, 5 mm elsewhere, 10 x 10).

    Returns:
        Hits sorted by event; r (mm) and alpha (rad) as float32, energy float64 MeV. Voxels
        with zero (or negative, logged) energy produce no hits, so the hits hold exactly the
        positive voxel energy.

    Raises:
        DataFormatError: shapes do not fit the binning, or values are not finite.
    """
    grid = voxel_grid(binning, config)
    s = np.asarray(showers, dtype=np.float64)
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    if s.ndim != 2 or s.shape[1] != binning.n_voxels or s.shape[0] != inc.shape[0]:
        raise DataFormatError(
            f"showers of shape {s.shape} with {inc.shape[0]} incident energies do not fit "
            f"binning {binning.name} ({inc.shape[0]}, {binning.n_voxels})"
        )
    if not np.all(np.isfinite(s)):
        raise DataFormatError("showers hold NaN or inf; expected finite energies in MeV")
    negative = s < 0
    if negative.any():
        logger.warning(
            "invert: %d negative voxel energies (sum %.4g MeV) produce no hits",
            int(negative.sum()),
            float(s[negative].sum()),
        )
    event, voxel = np.nonzero(s > 0)  # row-major, so hits come out sorted by event
    energy = s[event, voxel]
    n_points = grid.n_points[voxel]
    point_voxel = np.repeat(voxel, n_points)
    first = np.cumsum(n_points) - n_points
    k = np.arange(point_voxel.size, dtype=np.int64) - np.repeat(first, n_points)
    n_r = grid.n_r[point_voxel]
    i_r, i_alpha = k % n_r, k // n_r
    r0, a0 = grid.r_low[point_voxel], grid.alpha_low[point_voxel]
    r = r0 + (i_r + 0.5) * (grid.r_high[point_voxel] - r0) / n_r
    alpha = a0 + (i_alpha + 0.5) * (grid.alpha_high[point_voxel] - a0) / grid.n_alpha[point_voxel]
    per_event = np.bincount(event, weights=n_points, minlength=inc.shape[0]).astype(np.int64)
    return HitShowers(
        incident_energies=inc,
        event_offsets=np.concatenate([[0], np.cumsum(per_event)]).astype(np.int64),
        r=r.astype(np.float32),
        alpha=alpha.astype(np.float32),
        layer=binning.voxel_layer[point_voxel].astype(np.int16),
        energy=np.repeat(energy / n_points, n_points),
        attrs={
            "particle": binning.particle,
            **({"eta_min": binning.eta[0], "eta_max": binning.eta[1]} if binning.eta else {}),
        },
    )


@dataclass(frozen=True)
class InvertResult:
    """What :func:`invert_showers` wrote.

    Attributes:
        out_path: the hit file. n_events: showers inverted. n_hits: hits written.
        binning: name of the binning used. total_energy_mev: energy of all hits, MeV.
    """

    out_path: Path
    n_events: int
    n_hits: int
    binning: str
    total_energy_mev: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping."""
        d = asdict(self)
        d["out_path"] = str(self.out_path)
        return d


def invert_showers(
    config: InvertConfig,
    showers_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    binning: Geometry | str | None = None,
    progress: ProgressCallback | None = None,
) -> InvertResult:
    """Turn a CaloChallenge shower file back into a hit file, streaming in blocks.

    Args:
        config: grid steps, caps and block size.
        showers_path: CaloChallenge HDF5 file.
        out_path: hit file to write (atomically).
        binning: the showers' binning (object, built-in name or file); default: the one the
            file carries, else its ``binning`` / ``binning_layers`` attributes, else the
            built-in with its voxel count (:func:`~fastcalogan.data.geometry_of_file`).
        progress: ``progress(done, total)`` callback, counted in events.

    Returns:
        :class:`InvertResult` with the path and counts.

    Raises:
        DataFormatError: the shower file is missing or malformed.
        BinningError: no binning fits the file.
    """
    showers_path, out_path = Path(showers_path), Path(out_path)
    plan = PathPlan().read(showers_path, "input shower file")
    plan.read(config_source(config), "config file")
    if isinstance(binning, str | os.PathLike) and Path(binning).is_file():
        plan.read(binning, "binning file")
    plan.write(out_path, "hit file").check()
    attrs = read_shower_attrs(showers_path)
    b = require_polar(
        geometry_of_file(attrs, binning, source=str(showers_path)),
        "inverting voxels into (r, alpha) hits",
    )
    eta = (attrs["eta_min"], attrs["eta_max"]) if "eta_min" in attrs else b.eta
    out_attrs: dict[str, Any] = {
        "particle": str(attrs.get("particle", b.particle)),
        **({"eta_min": float(eta[0]), "eta_max": float(eta[1])} if eta else {}),
        "binning": str(attrs.get("binning", b.name)) if binning is None else b.name,
        "source_showers": str(showers_path),
        "fastcalogan_version": __version__,
        "invert_config": config.model_dump_json(),
    }
    total = int(attrs["n_events"])
    n_events = n_hits = 0
    energy = 0.0
    with HitWriter(out_path, out_attrs) as writer:
        for block in iter_showers(
            showers_path, config.chunk_events, binning=b, max_deposit_ratio=None
        ):
            hits = invert(block.showers, block.incident_energies, b, config)
            writer.append(hits)
            n_events += hits.n_events
            n_hits += hits.n_hits
            energy += float(hits.energy.sum())
            if progress is not None:
                progress(n_events, total)
    logger.info("%s: %d showers -> %d hits (%.6g MeV)", out_path, n_events, n_hits, energy)
    return InvertResult(out_path, n_events, n_hits, b.name, energy)
