"""Best-checkpoint selection by binned chi2 against the training sample.

For every checkpoint, ``events_per_point`` showers are generated at each energy point of the
reference sample (the same noise seed for all checkpoints) and the total-energy distribution
is compared with the reference in ``n_bins`` bins over ``[peak - a RMS, peak + b RMS]``
(a = b = 3 for EM showers, a = 4, b = 3.5 for hadrons, as in FastCaloGAN, ATLAS Comput.
Softw. Big Sci. 6 (2022) 7). The chi2 of all points are summed and divided by the summed NDF
(non-empty bins); the checkpoint with the lowest total chi2/NDF wins. With the ``etot+layers``
figure of merit the energy-per-layer histograms of every point are added to the sum.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from matplotlib.figure import Figure

from .._fileio import atomic_path, write_json, write_text
from .._logging import ProgressCallback
from ..data import chi2_samples, layer_energies, read_showers, total_energy
from ..errors import CheckpointError, ConfigError, ModelError
from ..geometry import Geometry, get_particle
from ..train import TrainedGenerator, list_checkpoints, load_checkpoint
from ..train.checkpoint import checkpoint_iteration
from .config import SelectConfig
from .plot import plot_selection

__all__ = ["SelectResult", "select_best", "selected_checkpoint"]

log = logging.getLogger(__name__)

#: More distinct reference energies than this: not a sample of discrete energy points.
_MAX_POINTS = 200


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
    """

    best_checkpoint: Path
    best_iteration: int
    chi2_ndf: float
    table_path: Path
    plot_path: Path
    per_range: tuple[SelectResult, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class _Histogram:
    """One reference distribution and its bin edges."""

    name: str
    point: float
    layer: int | None
    reference: npt.NDArray[np.float64]
    edges: npt.NDArray[np.float64]


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


def _reference_histograms(
    config: SelectConfig,
    energies: npt.NDArray[np.float64],
    showers: npt.NDArray[Any],
    binning: Geometry,
    hadron: bool,
) -> list[_Histogram]:
    window = config.window or ((4.0, 3.5) if hadron else (3.0, 3.0))
    points = np.unique(energies)
    if points.size > _MAX_POINTS:
        raise ModelError(
            f"the reference has {points.size} distinct incident energies; selection needs "
            f"discrete energy points (at most {_MAX_POINTS})"
        )
    hists = []
    for point in points.tolist():
        sel = showers[energies == point]
        etot = total_energy(sel)
        hists.append(
            _Histogram(
                f"E={point:.10g}", point, None, etot, _etot_edges(etot, window, config.n_bins)
            )
        )
        if config.figure_of_merit == "etot+layers":
            per_layer = layer_energies(sel, binning)
            for j, layer_id in enumerate(binning.layer_ids):
                values = per_layer[:, j]
                lo, hi = np.quantile(values, config.layer_quantiles)
                if hi <= lo:
                    continue
                hists.append(
                    _Histogram(
                        f"E={point:.10g} layer {layer_id}",
                        point,
                        layer_id,
                        values,
                        np.linspace(lo, hi, config.n_bins + 1),
                    )
                )
    return hists


def _score(
    model: TrainedGenerator, hists: list[_Histogram], config: SelectConfig
) -> tuple[float, int, dict[float, tuple[float, int]]]:
    """Total chi2, total NDF and per-point (chi2, ndf) of one checkpoint."""
    gen = torch.Generator().manual_seed(config.seed)
    per_point: dict[float, tuple[float, int]] = {}
    generated: dict[float, npt.NDArray[np.float32]] = {}
    for h in hists:
        if h.point not in generated:
            energies = np.full(config.events_per_point, h.point)
            generated[h.point] = model.sample(energies, gen, config.batch_size)
        showers = generated[h.point]
        if h.layer is None:
            values = total_energy(showers)
        else:
            values = layer_energies(showers, model.binning)[
                :, model.binning.layer_position(h.layer)
            ]
        # under/overflow bins: a checkpoint that misses the window gets a large, finite chi2
        res = chi2_samples(h.reference, values, h.edges, overflow=True)
        chi2, ndf = per_point.get(h.point, (0.0, 0))
        per_point[h.point] = (chi2 + res.chi2, ndf + res.ndf)
    total_chi2 = sum(c for c, _ in per_point.values())
    total_ndf = sum(n for _, n in per_point.values())
    return total_chi2, total_ndf, per_point


def _ratio(chi2: float, ndf: int) -> float:
    return chi2 / ndf if ndf > 0 else float("inf")


def _select_one(
    config: SelectConfig,
    run_dir: Path,
    reference_path: Path | None,
    progress: ProgressCallback | None,
) -> tuple[SelectResult, float, int, list[dict[str, Any]]]:
    checkpoints = list_checkpoints(run_dir)
    if not checkpoints:
        raise CheckpointError(f"{run_dir}: no checkpoints in {run_dir / 'checkpoints'}")
    chosen = checkpoints[:: config.stride]
    if chosen[-1] != checkpoints[-1]:
        chosen.append(checkpoints[-1])
    latest = load_checkpoint(chosen[-1])
    if reference_path is not None:
        ref_path = Path(reference_path)
        if not ref_path.is_file():
            raise ConfigError(f"{ref_path}: reference file not found")
    else:
        ref_path = Path(str(latest.get("data_path", "")))
        if not ref_path.is_file():
            raise CheckpointError(
                f"{run_dir}: the training file {ref_path} recorded in the run is gone; "
                "pass a reference file"
            )
    model = TrainedGenerator.from_checkpoint(latest, config.device)
    ref = read_showers(ref_path, binning=model.binning)
    lo, hi = model.energy_range
    energies = np.asarray(ref.incident_energies, dtype=np.float64)
    keep = (energies >= lo * (1 - 1e-9)) & (energies <= hi * (1 + 1e-9))
    if not keep.any():
        raise ModelError(f"{ref_path}: no reference events in the run's range {lo:g}-{hi:g} MeV")
    hadron = get_particle(model.particle).shower == "hadron"
    hists = _reference_histograms(config, energies[keep], ref.showers[keep], model.binning, hadron)
    log.info("selecting among %d checkpoints of %s against %s", len(chosen), run_dir, ref_path)

    rows: list[dict[str, Any]] = []
    for i, path in enumerate(chosen):
        model = TrainedGenerator.from_checkpoint(path, config.device)
        chi2, ndf, per_point = _score(model, hists, config)
        row: dict[str, Any] = {
            "iteration": checkpoint_iteration(path),
            "checkpoint": str(path.relative_to(run_dir)),
            "chi2": chi2,
            "ndf": ndf,
            "chi2_ndf": _ratio(chi2, ndf),
        }
        for point, (c, n) in sorted(per_point.items()):
            row[f"chi2_ndf E={point:.10g}"] = _ratio(c, n)
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(chosen))
    best = min(rows, key=lambda r: (r["chi2_ndf"], r["iteration"]))

    out = run_dir / "selection"
    table_path, plot_path = _write_outputs(out, rows, best, config, str(ref_path), run_dir.name)
    write_json(
        out / "best.json",
        {
            "checkpoint": best["checkpoint"],
            "iteration": best["iteration"],
            "chi2_ndf": best["chi2_ndf"],
            "figure_of_merit": config.figure_of_merit,
        },
    )
    result = SelectResult(
        best_checkpoint=run_dir / best["checkpoint"],
        best_iteration=int(best["iteration"]),
        chi2_ndf=float(best["chi2_ndf"]),
        table_path=table_path,
        plot_path=plot_path,
    )
    return result, float(best["chi2"]), int(best["ndf"]), rows


def _csv_text(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _write_outputs(
    out: Path,
    rows: list[dict[str, Any]],
    best: dict[str, Any],
    config: SelectConfig,
    reference: str,
    title: str,
) -> tuple[Path, Path]:
    table_path = write_text(out / "chi2.csv", _csv_text(rows))
    write_json(
        out / "chi2.json",
        {
            "config": config.model_dump(mode="json"),
            "reference": reference,
            "best": best,
            "rows": rows,
        },
    )
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    iterations = [int(r["iteration"]) for r in rows]
    per_point = {
        k.removeprefix("chi2_ndf "): [float(r.get(k, np.nan)) for r in rows]
        for k in rows[0]
        if k.startswith("chi2_ndf E=")
    }
    plot_selection(
        ax,
        iterations,
        [float(r["chi2_ndf"]) for r in rows],
        per_point,
        int(best["iteration"]),
        f"{title}: {config.figure_of_merit}",
    )
    plot_path = out / "chi2.png"
    with atomic_path(plot_path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return table_path, plot_path


def selected_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The checkpoint chosen by the last selection of a (single-range) run, if any."""
    path = Path(run_dir) / "selection" / "best.json"
    if not path.is_file():
        return None
    try:
        best = json.loads(path.read_text())
        return Path(run_dir) / str(best["checkpoint"])
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path}: unreadable selection ({err})") from err


def select_best(
    config: SelectConfig,
    run_dir: str | os.PathLike[str],
    reference_path: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
) -> SelectResult:
    """Score every checkpoint of a run by chi2/NDF and choose the lowest.

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
        ModelError: the reference has no discrete energy points in the run's range.
    """
    run_dir = Path(run_dir)
    ref = Path(reference_path) if reference_path is not None else None
    run_info = run_dir / "run.json"
    split = json.loads(run_info.read_text()) if run_info.is_file() else {}
    if not split.get("split"):
        return _select_one(config, run_dir, ref, progress)[0]

    results: list[SelectResult] = []
    all_rows: list[dict[str, Any]] = []
    chi2_sum, ndf_sum = 0.0, 0
    subruns = [run_dir / name for name in split["subruns"]]
    for k, sub in enumerate(subruns):

        def sub_progress(done: int, total: int, k: int = k) -> None:
            if progress is not None:
                progress(k * total + done, len(subruns) * total)

        res, chi2, ndf, rows = _select_one(config, sub, ref, sub_progress)
        results.append(res)
        chi2_sum += chi2
        ndf_sum += ndf
        all_rows += [{"range": sub.name, **r} for r in rows]
    out = run_dir / "selection"
    table_path = write_text(out / "chi2.csv", _csv_text(all_rows))
    write_json(
        out / "chi2.json",
        {
            "config": config.model_dump(mode="json"),
            "best": [
                {
                    "range": s.name,
                    "checkpoint": str(r.best_checkpoint),
                    "chi2_ndf": r.chi2_ndf,
                }
                for s, r in zip(subruns, results, strict=True)
            ],
            "chi2_ndf": _ratio(chi2_sum, ndf_sum),
            "rows": all_rows,
        },
    )
    fig = Figure(figsize=(7 * len(subruns), 4.5), layout="constrained")
    axes = fig.subplots(1, len(subruns))
    for ax, sub, res in zip(np.atleast_1d(axes), subruns, results, strict=True):
        rows = [r for r in all_rows if r["range"] == sub.name]
        plot_selection(
            ax,
            [int(r["iteration"]) for r in rows],
            [float(r["chi2_ndf"]) for r in rows],
            {
                k.removeprefix("chi2_ndf "): [float(r[k]) for r in rows]
                for k in rows[0]
                if k.startswith("chi2_ndf E=")
            },
            res.best_iteration,
            f"{sub.name}: {config.figure_of_merit}",
        )
    plot_path = out / "chi2.png"
    with atomic_path(plot_path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    return SelectResult(
        best_checkpoint=results[0].best_checkpoint,
        best_iteration=results[0].best_iteration,
        chi2_ndf=_ratio(chi2_sum, ndf_sum),
        table_path=table_path,
        plot_path=plot_path,
        per_range=tuple(results),
    )
