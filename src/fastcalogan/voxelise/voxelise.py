"""Hits -> voxels: every hit's energy lands in exactly one voxel, a leakage bin or "unbinned".

Bins are half-open: radial bin k holds ``r_edges[k] <= r < r_edges[k + 1]``, so a hit exactly on
an inner edge goes outwards and a hit at or beyond the last edge is *leakage* of its layer.
Alpha bins cover (-pi, pi]: bin j holds ``alpha_edges[j] < alpha <= alpha_edges[j + 1]``, with
alpha = -pi counted in the first bin and alpha = +pi in the last. Hits in layers the binning
does not use are *unbinned*. Leakage and unbinned energy are returned and logged, never dropped
silently: per event ``showers.sum() + leakage.sum() + unbinned`` equals the hits' energy.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from .. import __version__
from .._config import config_source
from .._fileio import PathPlan, atomic_path, check_free_space, json_safe
from .._logging import ProgressCallback
from ..data import (
    HitShowers,
    ShowerWriter,
    energy_point_mask,
    geometry_label_mismatch,
    iter_hits,
    shower_file_bytes,
)
from ..errors import BinningError, ConfigError, DataFormatError
from ..geometry import (
    LAYER_NAMES,
    Binning,
    default_geometry,
    hit_slots,
    load_geometry,
    require_polar,
)
from .config import VoxeliseConfig
from .relevant import RelevantLayers, choose_energy_point, layers_from_energies

__all__ = [
    "VoxeliseResult",
    "Voxelised",
    "hit_slots",
    "summary_path_for",
    "voxelise",
    "voxelise_hits",
]

logger = logging.getLogger(__name__)

#: What needs the polar kind, for the one-line refusal of another.
_WHAT = "voxelising (r, alpha) hits"


@dataclass(frozen=True)
class Voxelised:
    """Voxel energies of a block of showers.

    Attributes:
        showers: shape ``(n_events, n_voxels)``, MeV, CaloChallenge voxel order.
        leakage: shape ``(n_events, n_layers)``, MeV at or beyond each layer's last r edge.
        unbinned: shape ``(n_events,)``, MeV in layers the binning does not use.
    """

    showers: npt.NDArray[np.float64]
    leakage: npt.NDArray[np.float64]
    unbinned: npt.NDArray[np.float64]

    def total_energy(self) -> npt.NDArray[np.float64]:
        """All energy per event, shape ``(n_events,)``, MeV: voxels + leakage + unbinned."""
        return self.showers.sum(axis=1) + self.leakage.sum(axis=1) + self.unbinned


def _check_layer_ids(hits: HitShowers, binning: Binning, source: Path, first_event: int) -> None:
    """Refuse hits in layers the detector does not have.

    A binning of ATLAS samplings (ids 0..23) knows all 24 samplings: hits in samplings it does
    not bin are counted as energy in layers without voxels. Any other geometry knows its own
    layers only.
    """
    if not hits.n_hits:
        return
    ids = np.unique(np.asarray(hits.layer))
    atlas = all(i in LAYER_NAMES for i in binning.layer_ids)
    known = set(LAYER_NAMES) if atlas else set(binning.layer_ids)
    unknown = [int(i) for i in ids if int(i) not in known]
    if unknown:
        i = int(np.argmax(np.isin(hits.layer, unknown)))
        event = first_event + int(np.searchsorted(hits.event_offsets, i, side="right")) - 1
        expected = (
            "ATLAS sampling ids 0..23"
            if atlas
            else f"the layers of {binning.name}: {', '.join(map(str, binning.layer_ids))}"
        )
        raise DataFormatError(
            f"{source}: field 'hits/layer' holds layer id {unknown[0]} (event {event}); "
            f"expected {expected}"
        )


def voxelise_hits(hits: HitShowers, binning: Binning) -> Voxelised:
    """Sum hit energies into voxels, per-layer leakage and unbinned energy.

    One ``np.bincount`` over ``event * n_slots + slot`` does the whole block.

    Args:
        hits: showers as hits (r in mm, alpha in rad, layer sampling id, energy MeV).
        binning: the voxel binning.

    Returns:
        :class:`Voxelised` with showers ``(n_events, n_voxels)``, leakage
        ``(n_events, n_layers)`` and unbinned ``(n_events,)``, all float64 MeV.
    """
    n_vox, n_layers = binning.n_voxels, binning.n_layers
    n_slots = n_vox + n_layers + 1
    slots = hit_slots(hits.layer, hits.r, hits.alpha, binning)
    flat = hits.event_id * n_slots + slots
    sums = np.bincount(flat, weights=hits.energy, minlength=hits.n_events * n_slots)
    sums = sums.reshape(hits.n_events, n_slots)
    return Voxelised(
        showers=np.ascontiguousarray(sums[:, :n_vox]),
        leakage=np.ascontiguousarray(sums[:, n_vox : n_vox + n_layers]),
        unbinned=np.ascontiguousarray(sums[:, n_vox + n_layers]),
    )


@dataclass(frozen=True)
class VoxeliseResult:
    """What :func:`voxelise` wrote and the energy bookkeeping of the run.

    Attributes:
        out_path: the CaloChallenge shower file.
        summary_path: the JSON summary next to it.
        n_events: showers written. n_hits: hits read.
        binning: binning name or file stored in the output's ``binning`` attribute.
        layer_ids: sampling ids of the written voxels. n_voxels: columns of ``showers``.
        relevant_layers: the kept layers when the relevant-layer rule was applied, else None.
        total_energy_mev: energy of all hits, MeV.
        voxel_energy_mev, leakage_mev, unbinned_mev: where it went, MeV.
        leakage_fraction: leakage / total energy.
        leakage_fraction_per_layer: sampling id -> that layer's leakage / total energy (they
            add up to ``leakage_fraction``).
        unbinned_fraction: energy in layers without voxels / total energy.
        relevant_energy_mev: the energy point the relevant-layer rule was evaluated at
            (``None``: every event, or the rule was not applied).
    """

    out_path: Path
    summary_path: Path
    n_events: int
    n_hits: int
    binning: str
    layer_ids: tuple[int, ...]
    n_voxels: int
    relevant_layers: tuple[int, ...] | None
    total_energy_mev: float
    voxel_energy_mev: float
    leakage_mev: float
    unbinned_mev: float
    leakage_fraction: float
    leakage_fraction_per_layer: dict[int, float]
    unbinned_fraction: float
    relevant_energy_mev: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (paths as strings)."""
        d = asdict(self)
        d["out_path"], d["summary_path"] = str(self.out_path), str(self.summary_path)
        d["layer_ids"] = list(self.layer_ids)
        d["relevant_layers"] = None if self.relevant_layers is None else list(self.relevant_layers)
        d["leakage_fraction_per_layer"] = {
            str(k): v for k, v in self.leakage_fraction_per_layer.items()
        }
        return d


def summary_path_for(out_path: str | os.PathLike[str]) -> Path:
    """The JSON summary next to a voxelised file: ``a.h5`` -> ``a.voxelise.json``."""
    out = Path(out_path)
    return out.with_name(out.stem + ".voxelise.json")


def _hit_file_info(path: Path) -> tuple[int, dict[str, Any]]:
    """Number of events and attributes of a hit file (layout errors are left to iter_hits)."""
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
            if "incident_energies" not in f or "hits" not in f:
                raise DataFormatError(
                    f"{path}: not a hit file; expected datasets 'incident_energies' and 'hits/*', "
                    f"found {sorted(f.keys())}"
                )
            return int(f["incident_energies"].shape[0]), attrs
    except OSError as err:
        raise DataFormatError(
            f"{path}: cannot open as HDF5 (truncated or not an HDF5 file: {err})"
        ) from err


def _resolve_binning(
    config: VoxeliseConfig, attrs: dict[str, Any], source: Path
) -> tuple[Binning, str]:
    """The binning to use and the name stored in the output's ``binning`` attribute.

    A binning file made for another kind of shower or |eta| range than the hits' is refused
    (``allow_geometry_mismatch`` overrides).
    """
    particle = config.particle or attrs.get("particle")
    eta = config.eta
    if eta is None and "eta_min" in attrs and "eta_max" in attrs:
        eta = (float(attrs["eta_min"]), float(attrs["eta_max"]))
    if config.binning is None:
        if not particle:
            raise ConfigError(
                "binning: not set and the hit file has no 'particle' attribute to choose the "
                "built-in binning; pass --binning"
            )
        binning = require_polar(default_geometry(str(particle), eta), _WHAT)
        return binning, binning.name
    try:
        # the file's own labels first (an XML file of several particles needs the choice)
        geometry = load_geometry(config.binning)
    except BinningError:
        geometry = load_geometry(config.binning, particle=particle)
    mismatch = geometry_label_mismatch(geometry, particle, eta)
    if mismatch and not config.allow_geometry_mismatch:
        raise ConfigError(
            f"binning: {config.binning} {mismatch} ({source}); use the binning of these hits, "
            "or set allow_geometry_mismatch: true (--set allow_geometry_mismatch=true) to "
            "voxelise with it anyway"
        )
    geometry = load_geometry(config.binning, particle=particle, eta=eta)
    return require_polar(geometry, _WHAT), config.binning


def _incident_energies(path: Path) -> npt.NDArray[np.float64]:
    """All incident energies of a hit file (MeV), without reading its hits."""
    try:
        with h5py.File(path, "r") as f:
            return np.asarray(f["incident_energies"][:], dtype=np.float64).reshape(-1)
    except (OSError, KeyError) as err:
        raise DataFormatError(f"{path}: cannot read incident_energies ({err})") from err


def _relevant_pass(
    config: VoxeliseConfig,
    hits_path: Path,
    binning: Binning,
    done: int,
    total: int,
    progress: ProgressCallback | None,
) -> RelevantLayers:
    """First pass: layer energies of the relevant-energy sample -> relevant layers."""
    point = choose_energy_point(
        _incident_energies(hits_path), config.relevant_energy_mev, str(hits_path)
    )
    layer_energy = np.zeros(binning.n_layers)
    n_selected = 0
    first = 0
    for block in iter_hits(hits_path, config.chunk_events):
        _check_layer_ids(block, binning, hits_path, first)
        first += block.n_events
        selected = energy_point_mask(block.incident_energies, point)
        if selected.any():
            vox = voxelise_hits(block, binning)
            per_voxel = vox.showers[selected].sum(axis=0)
            layer_energy += np.add.reduceat(per_voxel, binning.layer_offsets[:-1])
            n_selected += int(selected.sum())
        done += block.n_events
        if progress is not None:
            progress(done, total)
    kept = layers_from_energies(layer_energy, binning, config.relevant_threshold)
    fractions = layer_energy / max(layer_energy.sum(), np.finfo(float).tiny)
    logger.info(
        "relevant layers from %d events: %s (energy fractions %s)",
        n_selected,
        list(kept),
        ", ".join(f"{i}:{f:.2e}" for i, f in zip(binning.layer_ids, fractions, strict=True)),
    )
    return RelevantLayers(kept, point, n_selected)


def voxelise(
    config: VoxeliseConfig,
    hits_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
) -> VoxeliseResult:
    """Voxelise a hit file into a CaloChallenge shower file, streaming in blocks.

    The output carries its geometry (``geometry``, ``binning``: see
    :func:`~fastcalogan.data.geometry_attrs`) and the attributes ``particle``, ``eta_min``,
    ``eta_max`` (when known), ``binning_layers`` (the layer ids written) and provenance.
    A JSON summary with the energy bookkeeping is written next to it
    (:func:`summary_path_for`). Leakage beyond the last r edge and energy in layers without
    voxels are logged and returned.

    Args:
        config: binning, labels, block size and the relevant-layer options.
        hits_path: hit file as written by :func:`fastcalogan.data.write_hits`.
        out_path: the shower file to write (atomically).
        progress: ``progress(done, total)`` callback, counted in events read.

    Returns:
        :class:`VoxeliseResult` with paths, counts and leakage fractions.

    Raises:
        DataFormatError: the hit file is missing or malformed.
        ConfigError: no binning can be chosen.
        BinningError: the binning cannot be loaded.
    """
    hits_path, out_path = Path(hits_path), Path(out_path)
    plan = PathPlan().read(hits_path, "input hit file").read(config_source(config), "config file")
    if config.binning is not None and Path(config.binning).is_file():
        plan.read(config.binning, "binning file")
    plan.write(out_path, "shower file").write(summary_path_for(out_path), "summary").check()
    n_total, file_attrs = _hit_file_info(hits_path)
    binning, binning_name = _resolve_binning(config, file_attrs, hits_path)
    check_free_space(
        out_path,
        shower_file_bytes(n_total, binning.n_voxels, np.dtype(config.dtype).itemsize),
        "shower file",
        f"{n_total} showers of {binning.n_voxels} voxels, uncompressed",
    )
    total = n_total * (2 if config.relevant_layers else 1)
    done = 0
    rule: RelevantLayers | None = None
    if config.relevant_layers:
        rule = _relevant_pass(config, hits_path, binning, done, total, progress)
        done = n_total
        binning = binning.with_layers(rule.layers, name=binning.name)
    attrs: dict[str, Any] = {
        k: v
        for k, v in file_attrs.items()
        if k not in ("format",) and isinstance(v, str | int | float | np.generic)
    }
    if binning.eta is not None:
        attrs.update(eta_min=binning.eta[0], eta_max=binning.eta[1])
    attrs.update(
        particle=binning.particle,
        binning_layers=np.asarray(binning.layer_ids, dtype=np.int64),
        source_hits=str(hits_path),
        fastcalogan_version=__version__,
        voxelise_config=config.model_dump_json(),
    )
    n_layers = binning.n_layers
    leak = np.zeros(n_layers)
    voxel_energy = unbinned = total_energy = 0.0
    n_events = n_hits = 0
    # the summary is written before the shower file is published and published after it:
    # a failure on the way (a full disk) leaves neither, and the previous pair in place
    with (
        atomic_path(summary_path_for(out_path)) as summary_tmp,
        ShowerWriter(
            out_path, binning.n_voxels, attrs, dtype=np.dtype(config.dtype), geometry=binning
        ) as writer,
    ):
        for block in iter_hits(hits_path, config.chunk_events):
            _check_layer_ids(block, binning, hits_path, n_events)
            vox = voxelise_hits(block, binning)
            writer.append(block.incident_energies, vox.showers)
            leak += vox.leakage.sum(axis=0)
            voxel_energy += float(vox.showers.sum())
            unbinned += float(vox.unbinned.sum())
            total_energy += float(block.energy.sum())
            n_events += block.n_events
            n_hits += block.n_hits
            done += block.n_events
            if progress is not None:
                progress(done, total)
        result = _result(
            out_path,
            binning,
            binning_name,
            rule,
            n_events,
            n_hits,
            leak,
            total_energy,
            voxel_energy,
            unbinned,
        )
        summary_tmp.write_text(_summary_text(result))
    level = logging.WARNING if result.leakage_fraction > 0.01 else logging.INFO
    logger.log(
        level,
        "%s: %d events, leakage beyond the last r edge %.4g %% of deposited energy (%s), "
        "%.4g %% in layers without voxels",
        out_path,
        n_events,
        100 * result.leakage_fraction,
        ", ".join(
            f"layer {i}: {100 * f:.3g} %" for i, f in result.leakage_fraction_per_layer.items()
        ),
        100 * result.unbinned_fraction,
    )
    return result


def _summary_text(result: VoxeliseResult) -> str:
    return json.dumps(json_safe(result.to_dict()), indent=2, sort_keys=True) + "\n"


def _result(
    out_path: Path,
    binning: Binning,
    binning_name: str,
    rule: RelevantLayers | None,
    n_events: int,
    n_hits: int,
    leak: npt.NDArray[np.float64],
    total_energy: float,
    voxel_energy: float,
    unbinned: float,
) -> VoxeliseResult:
    denominator = total_energy if total_energy > 0 else 1.0
    return VoxeliseResult(
        out_path=out_path,
        summary_path=summary_path_for(out_path),
        n_events=n_events,
        n_hits=n_hits,
        binning=binning_name,
        layer_ids=binning.layer_ids,
        n_voxels=binning.n_voxels,
        relevant_layers=None if rule is None else rule.layers,
        total_energy_mev=total_energy,
        voxel_energy_mev=voxel_energy,
        leakage_mev=float(leak.sum()),
        unbinned_mev=unbinned,
        leakage_fraction=float(leak.sum()) / denominator,
        leakage_fraction_per_layer={
            i: float(x) / denominator for i, x in zip(binning.layer_ids, leak, strict=True)
        },
        unbinned_fraction=unbinned / denominator,
        relevant_energy_mev=None if rule is None else rule.energy_mev,
    )
