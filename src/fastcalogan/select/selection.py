"""Best-checkpoint selection by binned chi2 against the training sample.

For every checkpoint, ``events_per_point`` showers are generated at each energy point of the
reference sample (the same noise seed for all checkpoints) and the total-energy distribution
is compared with the reference in ``n_bins`` bins over ``[peak - a RMS, peak + b RMS]``
(a = b = 3 for EM showers, a = 4, b = 3.5 for hadrons, as in FastCaloGAN, ATLAS Comput.
Softw. Big Sci. 6 (2022) 7). The chi2 of all points are summed and divided by the summed NDF
(non-empty bins); the checkpoint with the lowest total chi2/NDF wins. With the ``etot+layers``
figure of merit the energy-per-layer histograms of every point are added to the sum.

The ``extended`` figure of merit histograms, per point and layer, the layer energy and the
layer's energy-weighted mean radius and radial width (``n_bins`` bins over the reference's
``layer_quantiles``, plus under- and overflow), and ranks by the weighted mean of the chi2/NDF
of its four parts (E_tot, layer energies, centres, widths; ``merit_weights``). A generator
trained to match the moments that E_tot measures (an energy term in its loss, say) can win on
E_tot with wrong shapes; the extended figure sees that. Each row of the table carries its
parts, and for ``etot+layers`` and ``extended`` also the chi2/NDF of every layer's energy
(parts ``layer <id>``, weight 0: shown, not ranked).

A model conditioned on more than the energy generates each point's showers with the
conditions of the reference's events at that point (taken in file order, repeated up to
``events_per_point``).

**Continuous spectra** (more than 200 distinct incident energies, e.g. CaloGAN's uniform
1-100 GeV or LHCb's momenta; or ``spectrum: continuous``): there are no points to generate
at. The reference's energy range is cut into ``energy_bins`` log-spaced bins; in each bin up
to ``events_per_point`` reference events (a seeded draw without replacement when the bin
holds more) are generated *like the reference*, event by event with their own incident
energies and conditions, and the distributions of E_tot / E_inc (and, with ``etot+layers``,
of E_layer / E_inc) of the reference events and of their generated twins are compared in the
same way. Dividing by E_inc removes the spread that the spectrum within a bin would add to
E_tot. Each bin counts as one "point" of the table, labelled by its geometric centre.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from matplotlib.figure import Figure, SubFigure

from .._config import config_source
from .._fileio import PathPlan
from .._logging import ProgressCallback
from ..data import (
    Chi2Result,
    chi2_samples,
    layer_energies,
    layer_moments,
    read_showers,
    total_energy,
    wasserstein_1d,
)
from ..errors import CheckpointError, ConfigError, ModelError
from ..geometry import Geometry, get_particle
from ..train import (
    BestCheckpoint,
    PartScore,
    PointScore,
    RunFolder,
    RunWriter,
    SelectionRow,
    TrainedGenerator,
    checkpoint_iteration,
    load_checkpoint,
)
from .config import SelectConfig
from .plot import plot_selection, plot_selection_distance

__all__ = ["SelectResult", "select_best", "selected_checkpoint"]

log = logging.getLogger(__name__)

#: More distinct reference energies than this: not a sample of discrete energy points.
_MAX_POINTS = 200
#: Bins of incident energy with fewer reference events than this are left out.
_MIN_BIN_EVENTS = 2


@dataclass(frozen=True)
class SelectResult:
    """Outcome of :func:`select_best`.

    Attributes:
        best_checkpoint: the chosen checkpoint (for split runs: that of the first range).
        best_iteration: its iteration.
        chi2_ndf: its total chi2/NDF (split runs: summed chi2 over summed NDF of all ranges).
        table_path: ``selection/chi2.csv`` (a ``chi2.json`` with the same rows lies beside it).
        plot_path: ``selection/chi2.png``.
        per_range: for split runs, the result of each range; empty otherwise.
        rows: the selection table, one row per scored checkpoint (split runs: every range's,
            each with its ``range``).
        chi2, ndf: the summed chi2 and NDF behind ``chi2_ndf``.
        merit: the figure of merit of the choice: ``chi2_ndf`` for ``etot`` and
            ``etot+layers``, the weighted mean of the parts for ``extended`` (split runs: of
            the parts summed over the ranges' choices).
        skipped: checkpoints that could not be read (truncated, corrupt, weights not finite)
            and were left out, each with the reason.
    """

    best_checkpoint: Path
    best_iteration: int
    chi2_ndf: float
    table_path: Path
    plot_path: Path
    per_range: tuple[SelectResult, ...] = field(default_factory=tuple)
    rows: tuple[SelectionRow, ...] = field(default_factory=tuple)
    chi2: float = float("inf")
    ndf: int = 0
    merit: float = float("inf")
    skipped: tuple[tuple[Path, str], ...] = ()


@dataclass(frozen=True)
class _Group:
    """The events a checkpoint generates for one energy point, or one bin of a continuous
    spectrum.

    Attributes:
        point: the energy point, or the bin's geometric centre (MeV).
        energies: incident energies to generate, ``(n,)`` MeV.
        conditions: their conditions ``(n, k)`` (``None`` for a model of the energy alone).
        per_energy: compare E / E_inc (continuous spectra) instead of E.
    """

    point: float
    energies: npt.NDArray[np.float64]
    conditions: npt.NDArray[np.float64] | None
    per_energy: bool = False


#: The parts of the figure of merit besides E_tot, and the observable behind each.
_LAYER_PARTS = ("layers", "centre_r", "width_r")


@dataclass(frozen=True)
class _Histogram:
    """One reference distribution and its bin edges: E_tot (``part`` ``etot``, no layer) or a
    per-layer observable (``layers``: energy, ``centre_r``, ``width_r``)."""

    name: str
    point: float
    layer: int | None
    reference: npt.NDArray[np.float64]
    edges: npt.NDArray[np.float64]
    part: str = "etot"


@dataclass(frozen=True)
class _Reference:
    """The reference events in the run's range: energies ``(n,)``, showers, conditions
    ``(n, k)`` of the model (``k = 0`` for a model of the energy alone)."""

    energies: npt.NDArray[np.float64]
    showers: npt.NDArray[Any]
    conditions: npt.NDArray[np.float64]


def _etot_edges(values: npt.NDArray[np.float64], window: tuple[float, float], n_bins: int) -> Any:
    """Edges over ``[peak - a RMS, peak + b RMS]``; the peak is the mode of a fine histogram."""
    rms = float(np.std(values))
    lo_q, hi_q = np.quantile(values, [0.005, 0.995])
    if rms <= 0 or hi_q <= lo_q:
        centre = float(np.mean(values))
        width = max(abs(centre) * 1e-3, 1e-6)
        return np.linspace(centre - width, centre + width, n_bins + 1)
    counts, fine = np.histogram(values, bins=2 * n_bins, range=(lo_q, hi_q))
    peak = float(0.5 * (fine[np.argmax(counts)] + fine[np.argmax(counts) + 1]))
    return np.linspace(peak - window[0] * rms, peak + window[1] * rms, n_bins + 1)


def _is_continuous(config: SelectConfig, energies: npt.NDArray[np.float64]) -> bool:
    """Whether a reference sample is scored as a continuous spectrum (see the module doc)."""
    if config.spectrum != "auto":
        return config.spectrum == "continuous"
    return int(np.unique(energies).size) > _MAX_POINTS


def _energy_bin_edges(energies: npt.NDArray[np.float64], n_bins: int) -> npt.NDArray[np.float64]:
    """``n_bins`` log-spaced bins from the lowest to the highest energy, ``(n_bins + 1,)`` MeV.

    >>> _energy_bin_edges(np.array([1000.0, 5000.0, 100000.0]), 2).round(6).tolist()
    [1000.0, 10000.0, 100000.0]
    """
    lo, hi = float(energies.min()), float(energies.max())
    if hi <= lo:
        return np.array([lo, hi])
    return np.geomspace(lo, hi, n_bins + 1)


def _point_groups(config: SelectConfig, ref: _Reference) -> list[tuple[_Group, npt.NDArray[Any]]]:
    """One group per discrete energy point, with the reference rows of the point."""
    points = np.unique(ref.energies)
    if points.size > _MAX_POINTS:
        raise ModelError(
            f"the reference has {points.size} distinct incident energies; selection by energy "
            f"points needs at most {_MAX_POINTS} (use spectrum: continuous)"
        )
    groups = []
    for point in points.tolist():
        rows = np.flatnonzero(ref.energies == point)
        conditions = None
        if ref.conditions.shape[1]:
            # the reference's conditions at this point, in file order, repeated
            conditions = ref.conditions[rows[np.arange(config.events_per_point) % rows.size]]
        groups.append((_Group(point, np.full(config.events_per_point, point), conditions), rows))
    return groups


def _bin_groups(config: SelectConfig, ref: _Reference) -> list[tuple[_Group, npt.NDArray[Any]]]:
    """One group per log-spaced bin of incident energy: the reference's events themselves
    (at most ``events_per_point``, a seeded draw), to be generated like the reference."""
    edges = _energy_bin_edges(ref.energies, config.energy_bins)
    which = np.clip(np.searchsorted(edges, ref.energies, side="right") - 1, 0, edges.size - 2)
    draw = np.random.default_rng(config.seed)
    groups = []
    for b in range(edges.size - 1):
        rows = np.flatnonzero(which == b)
        if rows.size < _MIN_BIN_EVENTS:
            continue
        if rows.size > config.events_per_point:
            rows = np.sort(draw.choice(rows, config.events_per_point, replace=False))
        conditions = ref.conditions[rows] if ref.conditions.shape[1] else None
        centre = float(np.sqrt(edges[b] * edges[b + 1]))
        groups.append((_Group(centre, ref.energies[rows], conditions, per_energy=True), rows))
    return groups


def _observables(
    showers: npt.NDArray[Any], group: _Group, binning: Geometry, parts: tuple[str, ...]
) -> dict[str, npt.NDArray[np.float64]]:
    """The observables of ``parts`` per shower: ``etot`` ``(n,)`` and the per-layer tables
    ``(n, n_layers)``; energies divided by E_inc for continuous spectra, radii in mm."""
    scale = group.energies if group.per_energy else 1.0
    out = {"etot": total_energy(showers) / scale}
    if "layers" in parts:
        out["layers"] = layer_energies(showers, binning) / np.reshape(scale, (-1, 1))
    if "centre_r" in parts or "width_r" in parts:
        moments = layer_moments(showers, binning)
        out["centre_r"], out["width_r"] = moments["centroid_r"], moments["width_r"]
    return out


def _parts(config: SelectConfig) -> tuple[str, ...]:
    """The observables the figure of merit histograms."""
    return {
        "etot": ("etot",),
        "etot+layers": ("etot", "layers"),
        "extended": ("etot", *_LAYER_PARTS),
    }[config.figure_of_merit]


def _column(table: dict[str, npt.NDArray[np.float64]], h: _Histogram, binning: Geometry) -> Any:
    values = table[h.part]
    return values if h.layer is None else values[:, binning.layer_position(h.layer)]


def _reference_histograms(
    config: SelectConfig, ref: _Reference, binning: Geometry, hadron: bool
) -> tuple[list[_Group], list[_Histogram]]:
    window = config.window or ((4.0, 3.5) if hadron else (3.0, 3.0))
    continuous = _is_continuous(config, ref.energies)
    pairs = _bin_groups(config, ref) if continuous else _point_groups(config, ref)
    if not pairs:
        raise ModelError(
            f"no bin of incident energy holds {_MIN_BIN_EVENTS} reference events or more"
        )
    hists = []
    parts = _parts(config)
    for group, rows in pairs:
        point = group.point
        # in a bin, each reference event is compared with its generated twin
        table = _observables(ref.showers[rows], group, binning, parts)
        etot = table["etot"]
        hists.append(
            _Histogram(
                f"E={point:.10g}", point, None, etot, _etot_edges(etot, window, config.n_bins)
            )
        )
        for part in parts[1:]:
            for j, layer_id in enumerate(binning.layer_ids):
                values = table[part][:, j]
                lo, hi = np.quantile(values, config.layer_quantiles)
                if hi <= lo:
                    continue
                hists.append(
                    _Histogram(
                        f"E={point:.10g} {part} layer {layer_id}",
                        point,
                        layer_id,
                        values,
                        np.linspace(lo, hi, config.n_bins + 1),
                        part,
                    )
                )
    return [group for group, _ in pairs], hists


def _score(
    model: TrainedGenerator, groups: list[_Group], hists: list[_Histogram], config: SelectConfig
) -> tuple[tuple[PointScore, ...], tuple[PartScore, ...]]:
    """chi2, NDF, sample sizes and the E_tot/E_inc Wasserstein distance per energy point (or
    bin) of one checkpoint, in increasing energy; and the parts of the figure of merit."""
    gen = torch.Generator().manual_seed(config.seed)
    by_point = {g.point: g for g in groups}
    parts = _parts(config)
    per_point: dict[float, list[Chi2Result]] = {}
    per_part: dict[str, list[Chi2Result]] = {}
    distance: dict[float, float] = {}
    tables: dict[float, dict[str, npt.NDArray[np.float64]]] = {}
    for h in hists:
        group = by_point[h.point]
        if h.point not in tables:
            showers = model.sample(group.energies, gen, config.batch_size, group.conditions)
            tables[h.point] = _observables(showers, group, model.binning, parts)
        values = _column(tables[h.point], h, model.binning)
        # under/overflow bins: a checkpoint that misses the window gets a large, finite chi2
        result = chi2_samples(h.reference, values, h.edges, overflow=True)
        per_point.setdefault(h.point, []).append(result)
        per_part.setdefault(h.part, []).append(result)
        if h.part == "layers":
            per_part.setdefault(f"layer {h.layer}", []).append(result)
        if h.layer is None:
            # the unbinned companion, on the response scale whatever the spectrum
            scale = 1.0 if group.per_energy else h.point
            distance[h.point] = wasserstein_1d(h.reference / scale, values / scale)
    points = tuple(
        PointScore(
            e,
            sum(r.chi2 for r in results),
            sum(r.ndf for r in results),
            sum(r.n_reference for r in results),
            sum(r.n_generated for r in results),
            distance.get(e, float("nan")),
        )
        for e, results in sorted(per_point.items())
    )
    if len(parts) == 1:
        return points, ()
    weights = config.merit_weights.model_dump() if config.figure_of_merit == "extended" else {}
    return points, tuple(
        PartScore(
            name,
            sum(r.chi2 for r in results),
            sum(r.ndf for r in results),
            float(weights.get(name, 0.0)),
        )
        for name, results in per_part.items()
    )


def _rank(value: float) -> float:
    """A sort key that puts NaN last."""
    return value if math.isfinite(value) else math.inf


def _ratio(chi2: float, ndf: int) -> float:
    return chi2 / ndf if ndf > 0 else float("inf")


def _selection_key(row: SelectionRow) -> tuple[bool, float, float, int]:
    """The order of checkpoints: the lowest figure of merit, then the nearest E_tot/E_inc
    distribution (1-D Wasserstein distance), then the earliest.

    A checkpoint whose every point is saturated (its samples and the reference barely
    overlap anywhere) ranks after every checkpoint with some overlap, and among such
    checkpoints the distance alone decides: their chi2/NDF only says "no overlap", and its
    value there follows the NDF (how many bins the generated sample reaches), not the
    distance (a run far from its reference early on would otherwise take whichever
    checkpoint filled the most bins).
    """
    hopeless = row.saturated_everywhere
    return (hopeless, 0.0 if hopeless else row.merit, _rank(row.wasserstein), row.iteration)


def _reference_path(reference_path: Path | None, run: RunFolder, latest: dict[str, Any]) -> Path:
    if reference_path is not None:
        if not reference_path.is_file():
            raise ConfigError(f"{reference_path}: reference file not found")
        return reference_path
    recorded = Path(str(latest.get("data_path", "")))
    if not recorded.is_file():
        raise CheckpointError(
            f"{run.path}: the training file {recorded} recorded in the run is gone; "
            "pass a reference file"
        )
    return recorded


def _select_one(
    config: SelectConfig,
    run: RunFolder,
    writer: RunWriter,
    reference_path: Path | None,
    progress: ProgressCallback | None,
) -> SelectResult:
    checkpoints = run.checkpoints()
    if not checkpoints:
        run.latest_checkpoint()  # raises the folder's "no checkpoints" error
    chosen = checkpoints[:: config.stride]
    if chosen[-1] != checkpoints[-1]:
        chosen.append(checkpoints[-1])
    skipped: list[tuple[Path, str]] = []

    def skip(path: Path, err: CheckpointError) -> None:
        skipped.append((path, str(err)))
        log.warning("%s; left out of the selection", err)

    latest: dict[str, Any] | None = None
    for path in reversed(chosen):
        try:
            latest = load_checkpoint(path)
            break
        except CheckpointError as err:
            skip(path, err)
    if latest is None:
        raise CheckpointError(
            f"{run.checkpoint_dir}: no readable checkpoint to select from ({len(skipped)} "
            f"damaged; the newest: {skipped[0][1]})"
        )
    chosen = [p for p in chosen if p not in {s for s, _ in skipped}]
    ref_path = _reference_path(reference_path, run, latest)
    model = TrainedGenerator.from_checkpoint(latest, config.device)
    data = read_showers(ref_path, binning=model.binning)
    conditions = model.preprocessor.conditions_of(data, str(ref_path))
    lo, hi = model.energy_range
    energies = np.asarray(data.incident_energies, dtype=np.float64)
    keep = (energies >= lo * (1 - 1e-9)) & (energies <= hi * (1 + 1e-9))
    if not keep.any():
        raise ModelError(f"{ref_path}: no reference events in the run's range {lo:g}-{hi:g} MeV")
    ref = _Reference(energies[keep], data.showers[keep], conditions[keep])
    hadron = get_particle(model.particle).shower == "hadron"
    groups, hists = _reference_histograms(config, ref, model.binning, hadron)
    continuous = groups[0].per_energy
    if continuous:
        edges = _energy_bin_edges(ref.energies, config.energy_bins)
        log.info(
            "%s: continuous spectrum (%d distinct energies): E_tot/E_inc in %d log-spaced bins "
            "of %g-%g MeV, up to %d reference events per bin generated like the reference",
            ref_path,
            np.unique(ref.energies).size,
            config.energy_bins,
            edges[0],
            edges[-1],
            config.events_per_point,
        )
    log.info("selecting among %d checkpoints of %s against %s", len(chosen), run.path, ref_path)

    rows: list[SelectionRow] = []
    for i, path in enumerate(chosen):
        try:
            model = TrainedGenerator.from_checkpoint(path, config.device)
        except CheckpointError as err:
            skip(path, err)
            continue
        points, parts = _score(model, groups, hists, config)
        rows.append(
            SelectionRow(
                iteration=checkpoint_iteration(path),
                checkpoint=run.relative(path),
                chi2=sum(p.chi2 for p in points),
                ndf=sum(p.ndf for p in points),
                points=points,
                parts=parts,
            )
        )
        if progress is not None:
            progress(i + 1, len(chosen))
    best = min(rows, key=_selection_key)

    summary: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "reference": str(ref_path),
        "best": best.to_record(),
        "skipped": [{"checkpoint": run.relative(p), "reason": r} for p, r in skipped],
    }
    if continuous:
        summary["spectrum"] = {
            "kind": "continuous",
            "observable": "E/E_inc",
            "energy_bin_edges": _energy_bin_edges(ref.energies, config.energy_bins).tolist(),
            "bin_centres": [g.point for g in groups],
            "events_per_bin": [int(g.energies.size) for g in groups],
        }
    best_record = BestCheckpoint.of_row(best, config.figure_of_merit)
    table_path = writer.write_selection(rows, summary, best_record)
    fig = Figure(figsize=(7, 6.5), layout="constrained")
    _plot_rows(fig, rows, best.iteration, f"{run.path.name}: {config.figure_of_merit}")
    plot_path = writer.save_figure(fig)
    return SelectResult(
        best_checkpoint=run.path / best.checkpoint,
        best_iteration=best.iteration,
        chi2_ndf=best.chi2_ndf,
        table_path=table_path,
        plot_path=plot_path,
        rows=tuple(rows),
        chi2=best.chi2,
        ndf=best.ndf,
        merit=best.merit,
        skipped=tuple(skipped),
    )


def _plot_rows(
    fig: Figure | SubFigure, rows: list[SelectionRow], best_iteration: int, title: str
) -> None:
    """chi2/NDF with its ceiling above, the Wasserstein companion below."""
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    labels = [p.label for p in rows[0].points]
    iterations = [r.iteration for r in rows]

    def per_point(value: Any) -> dict[str, list[float]]:
        return {
            label: [
                next((value(p) for p in r.points if p.label == label), float("nan")) for r in rows
            ]
            for label in labels
        }

    plot_selection(
        top,
        iterations,
        [r.chi2_ndf for r in rows],
        per_point(lambda p: p.chi2_ndf),
        best_iteration,
        title,
        ceiling=[r.ceiling for r in rows],
    )
    top.set_xlabel("")
    if any(math.isfinite(r.wasserstein) for r in rows):
        plot_selection_distance(
            bottom,
            iterations,
            [r.wasserstein for r in rows],
            per_point(lambda p: p.wasserstein),
            best_iteration,
        )


def _path_plan(
    config: SelectConfig, run: RunFolder, parts: list[RunFolder], reference: Path | None
) -> PathPlan:
    """What a selection reads (reference, config, checkpoints) and writes (``selection/``)."""
    plan = PathPlan().read(reference, "reference file").read(config_source(config), "config file")
    info = run.info()
    if info is not None and info.data:
        plan.read(info.data, "run's training data")
    for folder in {run, *parts}:
        plan.read_all(folder.checkpoints(), "checkpoint")
        # a selection replaces the previous one by design: no note
        for path, what in (
            (folder.selection_csv, "selection table"),
            (folder.selection_json, "selection table"),
            (folder.best_json, "selection record"),
            (folder.selection_plot, "selection plot"),
        ):
            plan.write(path, what, quiet=True)
    return plan


def selected_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The checkpoint chosen by the last selection of a (single-range) run, if any."""
    return RunFolder(run_dir).selected_checkpoint()


def select_best(
    config: SelectConfig,
    run_dir: str | os.PathLike[str],
    reference_path: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> SelectResult:
    """Score every checkpoint of a run by chi2/NDF (or the ``extended`` figure of merit) and
    choose the lowest.

    Discrete energy points are scored point by point; a continuous spectrum in log-spaced
    bins of incident energy, its events generated like the reference (see the module doc).

    Args:
        config: selection settings.
        run_dir: a training run folder (split runs: the folder holding ``range-k/``).
        reference_path: showers to compare with; default the training file of the run.
        progress: ``progress(done, total)`` per scored checkpoint.

    Returns:
        The chosen checkpoint, its chi2/NDF, and the table and plot written to
        ``run_dir/selection/`` (also ``best.json``, read by the generation API).

    Raises:
        CheckpointError: no checkpoints, or the reference file is gone.
        ModelError: the reference has no events in the run's range, or more than 200
            distinct energies with ``spectrum: points``.
        DataFormatError: the reference lacks the model's conditions.
    """
    run = RunFolder.open(run_dir)
    ref = Path(reference_path) if reference_path is not None else None
    parts = run.parts()
    _path_plan(config, run, parts, ref).check()
    with run.writing("selection") as writer:
        if not run.is_split:
            return _select_one(config, run, writer, ref, progress)

        results: list[SelectResult] = []
        for k, sub in enumerate(parts):

            def sub_progress(done: int, total: int, k: int = k) -> None:
                if progress is not None:
                    progress(k * total + done, len(parts) * total)

            results.append(_select_one(config, sub, writer.part(k), ref, sub_progress))
        all_rows = [
            dataclasses.replace(r, range=sub.path.name)
            for sub, res in zip(parts, results, strict=True)
            for r in res.rows
        ]
        chi2_sum = sum(r.chi2 for r in results)
        ndf_sum = sum(r.ndf for r in results)
        merit = _combined_merit(results, _ratio(chi2_sum, ndf_sum))
        summary = {
            "config": config.model_dump(mode="json"),
            "best": [
                {"range": s.path.name, "checkpoint": str(r.best_checkpoint), "chi2_ndf": r.chi2_ndf}
                for s, r in zip(parts, results, strict=True)
            ],
            "chi2_ndf": _ratio(chi2_sum, ndf_sum),
            "merit": merit,
        }
        table_path = writer.write_selection(all_rows, summary)
        fig = Figure(figsize=(7 * len(parts), 6.5), layout="constrained")
        panels = fig.subfigures(1, len(parts), squeeze=False)[0]
        for panel, sub, res in zip(panels, parts, results, strict=True):
            title = f"{sub.path.name}: {config.figure_of_merit}"
            _plot_rows(panel, list(res.rows), res.best_iteration, title)
        plot_path = writer.save_figure(fig)
    return SelectResult(
        best_checkpoint=results[0].best_checkpoint,
        best_iteration=results[0].best_iteration,
        chi2_ndf=_ratio(chi2_sum, ndf_sum),
        table_path=table_path,
        plot_path=plot_path,
        per_range=tuple(results),
        rows=tuple(all_rows),
        chi2=chi2_sum,
        ndf=ndf_sum,
        merit=merit,
        skipped=tuple(s for r in results for s in r.skipped),
    )


def _combined_merit(results: list[SelectResult], chi2_ndf: float) -> float:
    """The figure of merit of a split run's choices: of their parts summed over the ranges."""
    chosen = [next(r for r in res.rows if r.iteration == res.best_iteration) for res in results]
    summed: dict[str, PartScore] = {}
    for row in chosen:
        for p in row.parts:
            s = summed.get(p.name, PartScore(p.name, 0.0, 0, p.weight))
            summed[p.name] = PartScore(p.name, s.chi2 + p.chi2, s.ndf + p.ndf, p.weight)
    combined = SelectionRow(0, "", 0.0, 0, parts=tuple(summed.values()))
    return combined.merit if any(p.weight > 0 for p in combined.parts) else chi2_ndf
