"""``bench quality``: time to quality of training recipes, side by side on one sample.

Every recipe (a preset of the model-family registry) trains on the same sample for the same
wall-clock budget and threads, writing a checkpoint every ``checkpoint_seconds``; each
checkpoint records the training loop's wall and process CPU time (``clock``). Then the
project's selection scores every checkpoint against an independent reference sample (another
seed of the simulator), and the selected checkpoint goes through ``generate`` and the
high-level-feature classifier of ``evaluate``. The result is one JSON document and one plot
of E_tot (and layer-energy) chi2/NDF against wall time, CPU time and iterations, with, per
recipe, the best E_tot chi2/NDF within the budget and the time it first fell below each
threshold.

Trainings run in parallel processes (``jobs``), each with ``threads`` torch threads: the
budget is wall clock, so recipes trained at the same time get the same window of the same
machine, and a 30-minute budget for several recipes still fits an hour. The CPU time logged
beside the wall time shows what each actually got when the machine is shared.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import atomic_path, write_json
from .._logging import ProgressCallback
from ..errors import ConfigError
from .quality_config import QualityConfig, QualityResult

__all__ = ["bench_quality", "crossing", "quality_table"]

log = logging.getLogger(__name__)

#: The iteration cap of a budgeted training (the budget stops it long before).
_NO_ITERATION_CAP = 1_000_000_000


def crossing(
    timeline: Sequence[dict[str, Any]], threshold: float, key: str = "etot_chi2_ndf"
) -> dict[str, Any] | None:
    """The first checkpoint whose ``key`` is at or below ``threshold``: its iteration, wall and
    CPU seconds; ``None`` if none is.

    >>> crossing([{"iteration": 5, "wall_seconds": 1.0, "cpu_seconds": 0.9,
    ...            "etot_chi2_ndf": 12.0},
    ...           {"iteration": 9, "wall_seconds": 2.0, "cpu_seconds": 1.8,
    ...            "etot_chi2_ndf": 4.0}], 5.0)
    {'iteration': 9, 'wall_seconds': 2.0, 'cpu_seconds': 1.8}
    """
    for point in timeline:
        value = point.get(key)
        if value is not None and math.isfinite(value) and value <= threshold:
            return {k: point[k] for k in ("iteration", "wall_seconds", "cpu_seconds")}
    return None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _train_and_score(
    config: QualityConfig, recipe: str, data: str, reference: str, out_dir: str
) -> dict[str, Any]:
    """One recipe: train for the budget, select, test the choice; the recipe's JSON entry.

    Module-level and plain-typed: it runs in a worker process.
    """
    import torch

    from ..evaluate import EvaluateConfig, evaluate
    from ..generate import GenerateConfig, generate
    from ..select import SelectConfig, select_best
    from ..train import RunFolder, TrainConfig, load_checkpoint, train

    torch.set_num_threads(config.threads)
    run_dir = Path(out_dir) / "runs" / recipe
    cpu0 = time.process_time()
    trained = train(
        TrainConfig(
            preset=recipe,
            iterations=_NO_ITERATION_CAP,
            checkpoint_every=_NO_ITERATION_CAP,
            checkpoint_seconds=config.checkpoint_seconds,
            max_seconds=config.budget_seconds,
            time_clock=config.budget_clock,
            injection_every=config.injection_every,
            log_every=50,
            seed=config.seed,
            device="cpu",
            threads=config.threads,
        ),
        data,
        run_dir,
    )
    t_select = time.perf_counter()
    selected = select_best(
        SelectConfig(
            figure_of_merit=config.figure_of_merit,
            events_per_point=config.events_per_point,
            seed=config.seed,
            device="cpu",
        ),
        run_dir,
        reference,
    )
    select_seconds = time.perf_counter() - t_select
    timeline: list[dict[str, Any]] = []
    for row in selected.rows:
        clock = load_checkpoint(run_dir / row.checkpoint).get("clock") or {}
        etot = row.part("etot")
        layers = row.part("layers")
        timeline.append(
            {
                "iteration": row.iteration,
                "wall_seconds": float(clock.get("wall_seconds", math.nan)),
                "cpu_seconds": float(clock.get("cpu_seconds", math.nan)),
                "etot_chi2_ndf": etot.chi2_ndf if etot is not None else row.chi2_ndf,
                "layers_chi2_ndf": layers.chi2_ndf if layers is not None else None,
                "parts": {p.name: p.chi2_ndf for p in row.parts},
                "merit": row.merit,
                "w1": _finite(row.wasserstein),
                "saturated_everywhere": row.saturated_everywhere,
            }
        )
    best_etot = min(timeline, key=lambda p: p["etot_chi2_ndf"])
    entry: dict[str, Any] = {
        "recipe": recipe,
        "run_dir": str(run_dir),
        "iterations": trained.last_iteration,
        "iterations_per_s": trained.iterations_per_s,
        "train_wall_seconds": timeline[-1]["wall_seconds"],
        "train_cpu_seconds": timeline[-1]["cpu_seconds"],
        "select_seconds": select_seconds,
        "timeline": timeline,
        "best_etot": {k: best_etot[k] for k in ("iteration", "wall_seconds", "cpu_seconds")}
        | {"etot_chi2_ndf": best_etot["etot_chi2_ndf"]},
        "crossings": {f"{t:g}": crossing(timeline, t) for t in config.thresholds},
        "selected": {
            "iteration": selected.best_iteration,
            "figure_of_merit": config.figure_of_merit,
            "merit": selected.merit,
            "etot_chi2_ndf": next(
                p["etot_chi2_ndf"] for p in timeline if p["iteration"] == selected.best_iteration
            ),
        },
        "classifier_features": None,
    }
    if config.classifier_events:
        info = RunFolder(run_dir).info()
        points = tuple(info.energy_points) if info is not None else ()
        gen_path = Path(out_dir) / "generated" / f"{recipe}.h5"
        gen_path.parent.mkdir(parents=True, exist_ok=True)
        generate(
            GenerateConfig(
                energies=points or "ds1",
                n_events=config.classifier_events,
                seed=config.seed + 1,
                device="cpu",
            ),
            run_dir,
            gen_path,
        )
        evaluated = evaluate(
            EvaluateConfig(
                metrics=("classifier_features",),
                # n_max counts a whole sample: classifier_events per point
                n_max=config.classifier_events * max(1, len(points)),
                seed=config.seed,
            ),
            reference,
            gen_path,
            Path(out_dir) / "evaluate" / recipe,
        )
        import json

        metrics = json.loads(evaluated.metrics_path.read_text())
        features = (metrics.get("classifier") or {}).get("features") or {}
        entry["classifier_features"] = {
            k: features.get(k) for k in ("auc", "auc_error", "jsd", "n_events", "cpu_seconds")
        }
    entry["process_cpu_seconds"] = time.process_time() - cpu0
    return entry


def _samples(config: QualityConfig, out_dir: Path) -> tuple[Path, Path]:
    """The training sample and the independent reference: the given files, or simulated."""
    if config.data is not None and config.reference is not None:
        paths = (Path(config.data), Path(config.reference))
        for p in paths:
            if not p.is_file():
                raise ConfigError(f"{p}: shower file not found")
        return paths
    from ..simulate import SimulateConfig, simulate

    settings: dict[str, Any] = {
        "particle": config.particle,
        "eta_min": config.eta[0],
        "eta_max": config.eta[1],
        "energies": "ds1",
        "events": config.events,
    }
    data = out_dir / f"{config.particle}s.h5"
    reference = out_dir / f"{config.particle}s-reference.h5"
    simulate(SimulateConfig(**settings, seed=config.seed), data)
    simulate(SimulateConfig(**settings, seed=config.seed + 1000), reference)
    return data, reference


def _jobs(config: QualityConfig) -> int:
    if config.jobs is not None:
        return min(config.jobs, len(config.recipe_names))
    cores = os.cpu_count() or 1
    return max(1, min(len(config.recipe_names), cores // config.threads))


def _plot(data: dict[str, Any], path: Path) -> Path:
    """Draw the curves of every recipe (mplhep's ATLAS style, local only) and save a PNG."""
    import matplotlib
    import mplhep
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .quality_plot import plot_quality

    params = dict(mplhep.style.ATLAS)
    params.update({"font.size": 11, "axes.formatter.use_mathtext": False})
    axes_x = (
        ("wall_seconds", "training wall time [s]"),
        ("cpu_seconds", "training CPU time [s]"),
        ("iteration", "iteration"),
    )
    rows_y = [("etot_chi2_ndf", r"$E_\mathrm{tot}$ $\chi^2$/NDF")]
    if any(p["layers_chi2_ndf"] is not None for r in data["recipes"] for p in r["timeline"]):
        rows_y.append(("layers_chi2_ndf", r"layer-energy $\chi^2$/NDF"))
    thresholds = data["config"]["thresholds"]
    with matplotlib.rc_context(params):
        fig = Figure(figsize=(15, 4.6 * len(rows_y)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(len(rows_y), len(axes_x), squeeze=False)
        for i, (y_key, y_label) in enumerate(rows_y):
            for j, (x_key, x_label) in enumerate(axes_x):
                curves = {}
                for r in data["recipes"]:
                    auc = (r.get("classifier_features") or {}).get("auc")
                    label = r["recipe"] + (f" (AUC {auc:.3f})" if auc is not None else "")
                    points = [p for p in r["timeline"] if p[y_key] is not None]
                    curves[label] = ([p[x_key] for p in points], [p[y_key] for p in points])
                plot_quality(
                    axes[i][j],
                    curves,
                    thresholds if y_key == "etot_chi2_ndf" else (),
                    x_label,
                    y_label,
                    legend=(i == 0 and j == 0),
                    xlog=x_key == "iteration",
                )
        sample = data["sample"]
        fig.suptitle(
            f"time to quality: {sample['particle']}s |eta| {sample['eta'][0]:.2f}-"
            f"{sample['eta'][1]:.2f}, {data['config']['threads']} thread(s) per recipe, "
            f"{data['config']['budget_seconds']:g} s of {data['config']['budget_clock']} time "
            f"each, {data['config']['events_per_point']} events per point"
        )
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=110)
    return path


def bench_quality(
    config: QualityConfig,
    out_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
) -> QualityResult:
    """Train every recipe for the budget, score its checkpoints, write JSON and a plot.

    Args:
        config: recipes, sample, budget, selection.
        out_dir: a new folder (or one without ``runs/<recipe>``): the samples,
            ``runs/<recipe>/`` (run folders with their selection), ``generated/``,
            ``evaluate/``, ``quality.json`` and ``quality.png``.
        progress: ``progress(done, total)`` per finished recipe.

    Returns:
        The paths, the document and the wall time.

    Raises:
        ConfigError: a run folder of a recipe already exists (it would be resumed), or a
            given sample file is missing.
    """
    from .run import _machine

    t0 = time.perf_counter()
    load_before = os.getloadavg()
    out = Path(out_dir)
    recipes = config.recipe_names
    for recipe in recipes:
        if (out / "runs" / recipe).exists():
            raise ConfigError(
                f"{out / 'runs' / recipe}: exists (a bench trains from scratch); "
                "choose a new --output folder"
            )
    out.mkdir(parents=True, exist_ok=True)
    data, reference = _samples(config, out)
    sample_seconds = time.perf_counter() - t0
    jobs = _jobs(config)
    log.info("bench quality: %d recipe(s), %d at a time", len(recipes), jobs)
    args = [(config, r, str(data), str(reference), str(out)) for r in recipes]
    entries: dict[str, dict[str, Any]] = {}
    if jobs == 1:
        for i, a in enumerate(args):
            entries[a[1]] = _train_and_score(*a)
            if progress is not None:
                progress(i + 1, len(recipes))
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = {pool.submit(_train_and_score, *a): a[1] for a in args}
            for i, future in enumerate(futures):
                entries[futures[future]] = future.result()
                if progress is not None:
                    progress(i + 1, len(recipes))
    seconds = time.perf_counter() - t0
    doc: dict[str, Any] = {
        "schema": "fastcalogan-bench-quality-1",
        "config": config.model_dump(mode="json"),
        "sample": {
            "particle": config.particle,
            "eta": list(config.eta),
            "data": str(data),
            "reference": str(reference),
            "seconds": sample_seconds,
        },
        "jobs": jobs,
        "machine": _machine(),
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "recipes": [entries[r] for r in recipes],
        "seconds": seconds,
    }
    json_path = write_json(out / "quality.json", doc)
    plot_path = _plot(doc, out / "quality.png")
    return QualityResult(json_path=json_path, plot_path=plot_path, data=doc, seconds=seconds)


def quality_table(data: dict[str, Any]) -> list[tuple[str, ...]]:
    """Rows of the summary table: recipe, iterations, train wall / CPU s, best E_tot chi2/NDF
    (at wall s), the first crossing of each threshold (wall s), layers chi2/NDF and AUC of
    the selected checkpoint."""
    rows = []
    for r in data["recipes"]:
        best = r["best_etot"]
        chosen = next(p for p in r["timeline"] if p["iteration"] == r["selected"]["iteration"])
        crossings = [
            f"{c['wall_seconds']:.0f} s" if c is not None else "-" for c in r["crossings"].values()
        ]
        auc = (r.get("classifier_features") or {}).get("auc")
        layers = chosen["layers_chi2_ndf"]
        rows.append(
            (
                r["recipe"],
                str(r["iterations"]),
                f"{r['train_wall_seconds']:.0f} / {r['train_cpu_seconds']:.0f}",
                f"{best['etot_chi2_ndf']:.3g} ({best['wall_seconds']:.0f} s)",
                *crossings,
                f"{chosen['etot_chi2_ndf']:.3g}",
                f"{layers:.3g}" if layers is not None else "-",
                f"{auc:.3f}" if auc is not None and np.isfinite(auc) else "-",
            )
        )
    return rows
