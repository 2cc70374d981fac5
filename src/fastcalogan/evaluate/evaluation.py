"""The evaluation entry point: compare a generated shower file with a reference file."""

from __future__ import annotations

import io
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import __version__
from .._fileio import atomic_path, json_safe, write_json
from .._logging import ProgressCallback
from .._provenance import git_hash
from ..data import ShowerData, geometry_of_file, read_shower_attrs, read_showers
from ..data.distances import DistanceResult, frechet_physics_distance, kernel_physics_distance
from ..data.features import CALOCHALLENGE_THRESHOLD_MEV, feature_set, observable_table
from ..data.observables import voxel_spectrum
from ..data.stats import compare_samples, histogram_counts, reference_edges
from ..errors import BinningError, ConfigError, DataFormatError
from ..geometry import Geometry, geometry_to_mapping
from .classifier import classifier_test, voxel_inputs
from .comparison import EnergyGroup, compare_observables, energy_groups, response_resolution
from .config import EvaluateConfig
from .neighbours import nearest_neighbour_check, normalised_voxels
from .suites import registered_suites, suites_for
from .training import training_curves

__all__ = [
    "HEADLINE_KEYS",
    "METRICS_KEYS",
    "EvaluateResult",
    "Reporter",
    "evaluate",
    "load_histograms",
]

log = logging.getLogger(__name__)

#: Version of the metrics.json layout (2: chi2 with N and ceiling, corrected FPD/KPD beside
#: the published ones, k-fold classifier with JSD, input checks and warnings).
METRICS_SCHEMA_VERSION = 2
#: Top-level keys of metrics.json (always present; a metric not computed is ``null``).
METRICS_KEYS = (
    "schema_version",
    "fastcalogan_version",
    "git_commit",
    "config",
    "inputs",
    "warnings",
    "binning",
    "headline",
    "energy_points",
    "response",
    "resolution",
    "observables",
    "voxel_spectrum",
    "fpd",
    "kpd",
    "classifier",
    "nearest_neighbour",
    "suites",
    "timing",
)
#: Keys of ``metrics["headline"]``.
HEADLINE_KEYS = (
    "chi2_ndf_e_tot",
    "chi2_ndf_e_tot_ceiling",
    "chi2_e_tot_saturated",
    "chi2_ndf_mean",
    "n_saturated",
    "separation_e_tot",
    "separation_mean",
    "separation_floor_mean",
    "wasserstein_response",
    "response_ratio_max_deviation",
    "resolution_ratio_max_deviation",
    "fpd",
    "fpd_error",
    "fpd_published",
    "kpd",
    "kpd_error",
    "kpd_published",
    "auc_voxels",
    "auc_voxels_error",
    "jsd_voxels",
    "auc_features",
    "auc_features_error",
    "jsd_features",
    "nn_memorisation_ratio",
    "nn_collapse_ratio",
)

#: ``reporter(metrics, histograms, out_dir) -> report path``; the CLI passes
#: :func:`fastcalogan.report.write_report` (report sits after evaluate in the stage order).
Reporter = Callable[[Mapping[str, Any], Mapping[str, npt.NDArray[Any]], Path], Path]


@dataclass(frozen=True)
class EvaluateResult:
    """Outputs and headline numbers of one evaluation.

    Attributes:
        metrics_path: the metrics JSON file.
        histograms_path: ``histograms.npz`` with the binned distributions for plots.
        report_path: the HTML report, or ``None`` when no reporter was given.
        headline: the headline numbers (keys :data:`HEADLINE_KEYS`; ``None`` if not computed).
        seconds: wall time of the evaluation.
        warnings: what the input checks found (partial energy overlap, forced mismatches).
    """

    metrics_path: Path
    histograms_path: Path
    report_path: Path | None
    headline: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    warnings: tuple[str, ...] = ()


def _check_inputs(
    config: EvaluateConfig,
    ref_attrs: Mapping[str, Any],
    gen_attrs: Mapping[str, Any],
    reference_path: Path,
    generated_path: Path,
) -> tuple[str, list[str]]:
    """The particle to use, and warnings; mismatched particle or |eta| refused (one line)."""
    warnings: list[str] = []
    override = " (--allow-mismatch compares them anyway)"
    ref_p, gen_p = ref_attrs.get("particle"), gen_attrs.get("particle")
    stated = [(str(reference_path), ref_p), (str(generated_path), gen_p)]
    if config.particle is not None:
        for path, p in stated:
            if p is not None and str(p) != config.particle:
                msg = f"{path}: particle '{p}', but --particle {config.particle} was given"
                if not config.allow_mismatch:
                    raise DataFormatError(msg + override)
                warnings.append(msg)
    if ref_p is not None and gen_p is not None and str(ref_p) != str(gen_p):
        msg = (
            f"{generated_path}: particle '{gen_p}', but the reference "
            f"{reference_path.name} holds '{ref_p}'"
        )
        if not config.allow_mismatch:
            raise DataFormatError(msg + override)
        warnings.append(msg)
    particle = config.particle or (str(ref_p) if ref_p else None) or (str(gen_p) if gen_p else None)
    if particle is None:
        particle = "photon"
        warnings.append("neither file names its particle; assuming photon (--particle)")
    eta_ref, eta_gen = _eta(ref_attrs), _eta(gen_attrs)
    if eta_ref is not None and eta_gen is not None and not np.allclose(eta_ref, eta_gen, atol=1e-6):
        msg = (
            f"{generated_path}: |eta| {eta_gen[0]:g}-{eta_gen[1]:g}, but the reference "
            f"{reference_path.name} covers {eta_ref[0]:g}-{eta_ref[1]:g}"
        )
        if not config.allow_mismatch:
            raise DataFormatError(msg + override)
        warnings.append(msg)
    return particle, warnings


def _check_energies(
    groups: list[EnergyGroup],
    config: EvaluateConfig,
    reference_path: Path,
    generated_path: Path,
    n_ref: int,
    n_gen: int,
) -> tuple[list[EnergyGroup], list[str]]:
    """The energy groups both samples populate; none refused, partial overlap warned."""
    common = [g for g in groups if g.reference.any() and g.generated.any()]
    if not common:
        msg = (
            f"{generated_path}: no incident energy in common with the reference "
            f"{reference_path.name}"
        )
        if not config.allow_mismatch:
            raise DataFormatError(msg + " (--allow-mismatch compares them anyway)")
        return groups, [msg]
    warnings = []
    only_ref = [g.energy for g in groups if g.reference.any() and not g.generated.any()]
    only_gen = [g.energy for g in groups if g.generated.any() and not g.reference.any()]
    if only_ref or only_gen:
        out_ref = n_ref - int(sum(g.reference.sum() for g in common))
        out_gen = n_gen - int(sum(g.generated.sum() for g in common))
        warnings.append(
            f"incident energies overlap only partly: {len(common)} of {len(groups)} energy "
            f"points in both; {out_ref} reference and {out_gen} generated events outside "
            "them are left out of the per-energy comparisons, distances and classifiers"
            + (f" (reference only: {_energies(only_ref)})" if only_ref else "")
            + (f" (generated only: {_energies(only_gen)})" if only_gen else "")
        )
    return common, warnings


def _energies(values: list[float]) -> str:
    shown = ", ".join(f"{v / 1000:.4g} GeV" for v in values[:6])
    return shown + (f" and {len(values) - 6} more" if len(values) > 6 else "")


def _resolve_binning(
    config: EvaluateConfig,
    particle: str,
    ref_attrs: Mapping[str, Any],
    gen_attrs: Mapping[str, Any],
    reference_path: Path,
    generated_path: Path,
) -> Geometry:
    binning = geometry_of_file(ref_attrs, config.binning, particle, str(reference_path))
    if gen_attrs["n_voxels"] != ref_attrs["n_voxels"]:
        raise BinningError(
            f"{generated_path}: {gen_attrs['n_voxels']} voxels per shower, but the reference "
            f"{reference_path.name} has {ref_attrs['n_voxels']} ({binning.name}); both files "
            "must use the same binning"
        )
    try:
        other = geometry_of_file(gen_attrs, config.binning, particle, str(generated_path))
    except BinningError:
        other = binning  # no usable attribute: the voxel count already matches
    if not other.same_voxels(binning):
        raise BinningError(
            f"{generated_path}: binning {other.name} differs from the reference's "
            f"{binning.name}; both files must use the same binning"
        )
    return binning


def _subset(data: ShowerData, n_max: int | None, rng: np.random.Generator) -> ShowerData:
    if n_max is None or data.n_events <= n_max:
        return data
    keep = np.zeros(data.n_events, dtype=bool)
    keep[rng.choice(data.n_events, n_max, replace=False)] = True
    return data.select(keep)


def _matched(
    groups: list[EnergyGroup], rng: np.random.Generator
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Event indices with the same number of reference and generated events per energy group.

    Distances and classifiers compare the samples as wholes: unequal energy spectra would
    be found instead of unequal showers (the CaloChallenge evaluator needs equal samples
    for the same reason).
    """
    ri, gi = [], []
    for g in groups:
        r, q = np.flatnonzero(g.reference), np.flatnonzero(g.generated)
        k = min(len(r), len(q))
        ri.append(np.sort(rng.choice(r, k, replace=False)))
        gi.append(np.sort(rng.choice(q, k, replace=False)))
    return np.concatenate(ri).astype(np.int64), np.concatenate(gi).astype(np.int64)


def _max_dev(values: list[float | None]) -> float | None:
    v = [abs(x - 1.0) for x in values if x is not None and math.isfinite(x)]
    return max(v) if v else None


def _record_distance(
    name: str,
    result: DistanceResult,
    cpu_start: float,
    common: Mapping[str, Any],
    metrics: dict[str, Any],
    headline: dict[str, Any],
) -> None:
    """Store a physics distance (``fpd``, ``kpd``) in ``metrics[name]`` and its value, error
    and published value in the headline; ``cpu_start``: process time when it began."""
    metrics[name] = {
        "value": result.value,
        "error": result.error,
        "published": result.published,
        "published_error": result.published_error,
        "method": result.method,
        "n_batches": result.n_batches,
        "batch_sizes": list(result.batch_sizes),
        "cpu_seconds": time.process_time() - cpu_start,
        **common,
    }
    headline[name], headline[f"{name}_error"] = result.value, result.error
    headline[f"{name}_published"] = result.published


def _save_npz(path: Path, arrays: Mapping[str, npt.NDArray[Any]]) -> Path:
    buf = io.BytesIO()
    savez: Any = np.savez_compressed  # its stub types **kwds as bool
    savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def load_histograms(path: str | os.PathLike[str]) -> dict[str, npt.NDArray[Any]]:
    """Read the ``histograms.npz`` an evaluation wrote (keys as documented in :func:`evaluate`)."""
    with np.load(Path(path)) as f:
        return {k: f[k] for k in f.files}


def evaluate(
    config: EvaluateConfig,
    reference_path: str | os.PathLike[str],
    generated_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    progress: ProgressCallback | None = None,
    training_path: str | os.PathLike[str] | None = None,
    reporter: Reporter | None = None,
) -> EvaluateResult:
    """Compare generated showers with reference showers and write ``metrics.json``.

    Both files are CaloChallenge shower files with the same binning. The particle, |eta|
    slice and incident energies are read from the files: different particles or slices
    and samples without a common energy are refused (``config.allow_mismatch`` overrides),
    a partial energy overlap is warned about (``metrics["warnings"]``) and only the common
    energies are compared. Writes, atomically, into ``out_dir``: ``metrics.json``
    (top-level keys :data:`METRICS_KEYS`) and ``histograms.npz``: ``energies``;
    ``e_tot/<i>/...`` per energy point; ``pooled/<observable>/...``;
    ``voxel_spectrum/...`` over log10(E_voxel / MeV), each with ``edges``, ``reference``,
    ``generated``, ``reference_flow`` and ``generated_flow`` (entries below / above the
    edges); ``mean_shower/{reference,generated}``, the mean of E_voxel / E_inc,
    ``(n_voxels,)``; ``examples/{reference,generated}`` ``(k, n_voxels)`` MeV with
    ``examples/{reference,generated}_energy`` ``(k,)``; ``nn/edges`` and
    ``nn/{gen_to_memory,ref_to_memory,gen_to_gen,ref_to_ref}`` counts of nearest-neighbour
    distances; ``training/...`` curves of the generator's run (see
    :func:`~fastcalogan.evaluate.training.training_curves`). Then calls ``reporter``.

    Args:
        config: what to compute.
        reference_path: the reference (e.g. Geant4 or reference-simulator) showers.
        generated_path: the showers to judge.
        out_dir: output folder (created).
        progress: ``callback(done, total)`` over the evaluation's steps.
        training_path: showers the generator was trained on, for the memorisation check.
        reporter: writes the report from ``(metrics, histograms, out_dir)``.

    Raises:
        DataFormatError: unreadable or invalid shower files; files of different particles
            or |eta| slices, or without a common incident energy.
        BinningError: the files do not share one binning, or it does not fit them.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    reference_path, generated_path = Path(reference_path), Path(generated_path)
    steps = 5 + len(config.metrics) + (1 if reporter else 0)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        log.info("evaluate: %s done (%d/%d)", what, done, steps)
        if progress is not None:
            progress(done, steps)

    timing: dict[str, float] = {}

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        timing[name] = now - since
        return now

    rng = np.random.default_rng(config.seed)
    ref_attrs = read_shower_attrs(reference_path)
    gen_attrs = read_shower_attrs(generated_path)
    particle, warnings = _check_inputs(config, ref_attrs, gen_attrs, reference_path, generated_path)
    binning = _resolve_binning(
        config, particle, ref_attrs, gen_attrs, reference_path, generated_path
    )
    ref = _subset(read_showers(reference_path, binning=binning), config.n_max, rng)
    # A poor generator may deposit more than its incident energy: that is a finding of the
    # evaluation, not a malformed file, so the deposit ceiling is off for generated showers.
    gen = _subset(
        read_showers(generated_path, binning=binning, max_deposit_ratio=None), config.n_max, rng
    )
    train: ShowerData | None = None
    if training_path is not None and "nearest_neighbour" in config.metrics:
        train = read_showers(Path(training_path), binning=binning)
    if ref.n_events < 2 or gen.n_events < 2:
        raise DataFormatError(
            f"need at least 2 showers per file, found {ref.n_events} in {reference_path} "
            f"and {gen.n_events} in {generated_path}"
        )
    all_groups = energy_groups(ref.incident_energies, gen.incident_energies)
    groups, energy_warnings = _check_energies(
        all_groups, config, reference_path, generated_path, ref.n_events, gen.n_events
    )
    warnings += energy_warnings
    for w in warnings:
        log.warning("evaluate: %s", w)
    t = lap("read", t0)
    step("read")

    if config.histogram_binning == "calochallenge":
        # the CaloChallenge evaluator zeroes voxels below its readout threshold first
        ref_obs = np.where(ref.showers < CALOCHALLENGE_THRESHOLD_MEV, 0.0, ref.showers)
        gen_obs = np.where(gen.showers < CALOCHALLENGE_THRESHOLD_MEV, 0.0, gen.showers)
    else:
        ref_obs, gen_obs = ref.showers, gen.showers
    ref_table = observable_table(ref_obs, ref.incident_energies, binning)
    gen_table = observable_table(gen_obs, gen.incident_energies, binning)
    t = lap("observables", t)
    step("observables")

    hists: dict[str, npt.NDArray[Any]] = {"energies": np.array([g.energy for g in groups])}
    observables, obs_hists = compare_observables(
        ref_table, gen_table, groups, config.n_bins, config.histogram_binning, particle
    )
    hists.update(obs_hists)
    spec_metrics = _voxel_spectrum(config, ref_obs, gen_obs, hists)
    hists["mean_shower/reference"] = normalised_voxels(ref.showers, ref.incident_energies).mean(0)
    hists["mean_shower/generated"] = normalised_voxels(gen.showers, gen.incident_energies).mean(0)
    hists.update(_examples(ref, gen, groups, config.example_showers))
    hists.update(training_curves(gen_attrs, generated_path.parent))
    t = lap("histograms", t)
    step("histograms")

    metrics: dict[str, Any] = dict.fromkeys(METRICS_KEYS)
    headline: dict[str, Any] = dict.fromkeys(HEADLINE_KEYS)
    metrics["observables"] = observables if "chi2" in config.metrics else None
    metrics["voxel_spectrum"] = spec_metrics
    if "chi2" in config.metrics:
        e_tot = observables["e_tot"]
        headline["chi2_ndf_e_tot"] = e_tot["chi2_ndf"]
        headline["chi2_ndf_e_tot_ceiling"] = e_tot["chi2_ndf_ceiling"]
        headline["chi2_e_tot_saturated"] = e_tot["saturated"]
        headline["separation_e_tot"] = e_tot["separation"]
        headline["wasserstein_response"] = observables["response"]["wasserstein"]
        c = [v["chi2_ndf"] for v in observables.values() if v["chi2_ndf"] is not None]
        sep = [v["separation"] for v in observables.values() if v["separation"] is not None]
        floor = [
            v["separation_floor"] for v in observables.values() if v["separation_floor"] is not None
        ]
        headline["chi2_ndf_mean"] = float(np.mean(c)) if c else None
        headline["n_saturated"] = sum(1 for v in observables.values() if v["saturated"])
        headline["separation_mean"] = float(np.mean(sep)) if sep else None
        headline["separation_floor_mean"] = float(np.mean(floor)) if floor else None
        step("chi2")

    if "response" in config.metrics:
        rr = response_resolution(
            ref_table["e_tot"],
            ref.incident_energies,
            gen_table["e_tot"],
            gen.incident_energies,
            groups,
        )
        metrics["response"], metrics["resolution"] = rr["response"], rr["resolution"]
        headline["response_ratio_max_deviation"] = _max_dev(rr["response"]["ratio"])
        headline["resolution_ratio_max_deviation"] = _max_dev(rr["resolution"]["ratio"])
        step("response")
    t = lap("binned", t)

    # distances and classifiers: the same number of events per energy point in both samples
    ri, gi = _matched(groups, np.random.default_rng([config.seed, 4]))
    ref_m = ShowerData(ref.incident_energies[ri], ref.showers[ri])
    gen_m = ShowerData(gen.incident_energies[gi], gen.showers[gi])
    need_features = any(m in config.metrics for m in ("fpd", "kpd", "classifier_features"))
    feature_names: list[str] = []
    f_ref = f_gen = np.zeros((0, 0))
    if need_features:
        table_r = table_g = None
        if config.features == "fastcalogan" and config.histogram_binning == "per_energy":
            table_r = {k: v[ri] for k, v in ref_table.items()}
            table_g = {k: v[gi] for k, v in gen_table.items()}
        feature_names, f_ref = feature_set(
            config.features, ref_m.showers, ref_m.incident_energies, binning, table_r
        )
        _, f_gen = feature_set(
            config.features, gen_m.showers, gen_m.incident_energies, binning, table_g
        )
    distance_common = {
        "features": config.features,
        "feature_names": feature_names,
        "scaling": "max_abs",
        "clip_quantile": config.clip_quantile,
        "n_reference": len(ri),
        "n_generated": len(gi),
    }
    if "fpd" in config.metrics:
        cpu = time.process_time()
        r = frechet_physics_distance(
            f_ref,
            f_gen,
            np.random.default_rng([config.seed, 1]),
            config.fpd_min_samples,
            config.fpd_max_samples,
            config.fpd_batches,
            config.fpd_points,
            config.clip_quantile,
            "max_abs",
        )
        _record_distance("fpd", r, cpu, distance_common, metrics, headline)
        t = lap("fpd", t)
        step("fpd")
    if "kpd" in config.metrics:
        cpu = time.process_time()
        r = kernel_physics_distance(
            f_ref,
            f_gen,
            np.random.default_rng([config.seed, 2]),
            config.kpd_batch_size,
            config.kpd_batches,
            config.clip_quantile,
            "max_abs",
        )
        _record_distance("kpd", r, cpu, distance_common, metrics, headline)
        t = lap("kpd", t)
        step("kpd")

    classifier: dict[str, Any] = {"voxels": None, "features": None}
    for kind in ("voxels", "features"):
        if f"classifier_{kind}" not in config.metrics:
            continue
        xr: npt.NDArray[Any]
        xg: npt.NDArray[Any]
        if kind == "voxels":
            transform = config.classifier.voxel_transform
            xr = voxel_inputs(ref_m.showers, ref_m.incident_energies, transform)
            xg = voxel_inputs(gen_m.showers, gen_m.incident_energies, transform)
        else:
            xr, xg = f_ref, f_gen
        c_res = classifier_test(xr, xg, config.classifier, seed=config.seed)
        classifier[kind] = {
            "auc": c_res.auc,
            "auc_error": c_res.auc_error,
            "jsd": c_res.jsd,
            "jsd_error": c_res.jsd_error,
            "auc_folds": list(c_res.auc_folds),
            "n_events": c_res.n_events,
            "folds": c_res.folds,
            "best_epochs": list(c_res.best_epochs),
            "epochs_run": list(c_res.epochs_run),
            "test_loss": c_res.test_loss,
            "cpu_seconds": c_res.cpu_seconds,
            "inputs": (
                f"voxels ({config.classifier.voxel_transform}) and log10 E_inc"
                if kind == "voxels"
                else f"{config.features} features"
            ),
        }
        headline[f"auc_{kind}"] = c_res.auc
        headline[f"auc_{kind}_error"] = c_res.auc_error
        headline[f"jsd_{kind}"] = c_res.jsd
        t = lap(f"classifier_{kind}", t)
        step(f"classifier_{kind}")
    if any(m.startswith("classifier") for m in config.metrics):
        metrics["classifier"] = classifier

    if "nearest_neighbour" in config.metrics:
        nn = nearest_neighbour_check(
            normalised_voxels(ref_m.showers, ref_m.incident_energies),
            normalised_voxels(gen_m.showers, gen_m.incident_energies),
            np.random.default_rng([config.seed, 3]),
            training=None
            if train is None
            else normalised_voxels(train.showers, train.incident_energies),
            tree_events=config.nn_tree_events,
            query_events=config.nn_query_events,
        )
        metrics["nearest_neighbour"] = {
            "memory": nn.memory,
            "memorisation_ratio": nn.memorisation_ratio,
            "collapse_ratio": nn.collapse_ratio,
            "copy_fraction": nn.copy_fraction,
            "median_gen_to_memory": float(np.median(nn.gen_to_memory)),
            "median_ref_to_memory": float(np.median(nn.ref_to_memory)),
            "median_gen_to_gen": float(np.median(nn.gen_to_gen)),
            "median_ref_to_ref": float(np.median(nn.ref_to_ref)),
            "n_query": len(nn.gen_to_gen),
        }
        dists = {
            "gen_to_memory": nn.gen_to_memory,
            "ref_to_memory": nn.ref_to_memory,
            "gen_to_gen": nn.gen_to_gen,
            "ref_to_ref": nn.ref_to_ref,
        }
        nn_edges = reference_edges(
            np.concatenate([nn.ref_to_memory, nn.ref_to_ref]), config.n_bins, (0.0, 1.0), log=True
        )
        hists["nn/edges"] = nn_edges
        for key, d in dists.items():
            hists[f"nn/{key}"] = histogram_counts(d, nn_edges)
        headline["nn_memorisation_ratio"] = nn.memorisation_ratio
        headline["nn_collapse_ratio"] = nn.collapse_ratio
        t = lap("nearest_neighbour", t)
        step("nearest_neighbour")

    metrics["suites"] = _run_suites(config, ref, gen, binning, ref_attrs, hists, timing, rng)
    step("suites")

    metrics.update(
        schema_version=METRICS_SCHEMA_VERSION,
        fastcalogan_version=__version__,
        git_commit=git_hash(),
        config=config.model_dump(mode="json"),
        inputs={
            "reference": str(reference_path),
            "generated": str(generated_path),
            "training": str(training_path) if training_path is not None else None,
            "n_reference": ref.n_events,
            "n_generated": gen.n_events,
            "n_training": train.n_events if train is not None else None,
            "n_matched": len(ri),
            "particle": particle,
            "eta": _eta(ref_attrs),
            "reference_attrs": {k: v for k, v in ref_attrs.items() if _jsonable(v)},
            "generated_attrs": {k: v for k, v in gen_attrs.items() if _jsonable(v)},
        },
        warnings=warnings,
        binning=geometry_to_mapping(binning),
        headline=headline,
        energy_points=[g.energy for g in groups],
    )
    timing["total"] = time.perf_counter() - t0
    metrics["timing"] = timing
    metrics = json_safe(metrics)
    metrics_path = write_json(out / "metrics.json", metrics)
    hist_path = _save_npz(out / "histograms.npz", hists)
    step("write")
    report_path = None
    if reporter is not None:
        report_path = reporter(metrics, hists, out)
        step("report")
    seconds = time.perf_counter() - t0
    log.info("evaluate: %s vs %s in %.1f s", generated_path, reference_path, seconds)
    return EvaluateResult(
        metrics_path, hist_path, report_path, metrics["headline"], seconds, tuple(warnings)
    )


def _run_suites(
    config: EvaluateConfig,
    ref: ShowerData,
    gen: ShowerData,
    geometry: Geometry,
    attrs: Mapping[str, Any],
    hists: dict[str, npt.NDArray[Any]],
    timing: dict[str, float],
    rng: np.random.Generator,
) -> dict[str, Any]:
    """Run the observable suites that apply (or those named); their histograms go to ``hists``."""
    out: dict[str, Any] = {}
    unknown = sorted(set(config.suite_options) - set(registered_suites()))
    if unknown:
        raise ConfigError(
            f"suite_options: unknown observable suite(s) {unknown} "
            f"(registered: {', '.join(registered_suites())})"
        )
    for suite in suites_for(geometry, attrs, config.suites):
        suite = suite.configure(config.suite_options.get(suite.name, {}))
        t = time.perf_counter()
        result = suite.compute(ref, gen, geometry, rng)
        hists.update({f"suite/{suite.name}/{k}": v for k, v in result.histograms.items()})
        out[suite.name] = {
            "title": suite.title,
            "note": suite.note,
            "labels": result.labels,
            "table": result.table,
            **result.metrics,
        }
        timing[f"suite_{suite.name}"] = time.perf_counter() - t
    return out


def _eta(attrs: Mapping[str, Any]) -> list[float] | None:
    try:
        return [float(attrs["eta_min"]), float(attrs["eta_max"])]
    except (KeyError, TypeError, ValueError):
        return None


def _voxel_spectrum(
    config: EvaluateConfig,
    ref_showers: npt.NDArray[Any],
    gen_showers: npt.NDArray[Any],
    hists: dict[str, npt.NDArray[Any]],
) -> dict[str, Any]:
    """Spectrum of filled voxels over log10(E / MeV): binned comparison and its numbers."""
    threshold = config.voxel_threshold_mev
    if config.histogram_binning == "calochallenge":
        threshold = max(threshold, CALOCHALLENGE_THRESHOLD_MEV * (1 - 1e-9))
    spec_r = np.log10(voxel_spectrum(ref_showers, threshold))
    spec_g = np.log10(voxel_spectrum(gen_showers, threshold))
    if config.histogram_binning == "calochallenge" and spec_r.size:
        edges = np.linspace(0.0, max(float(spec_r.max()), 1.0), 50)
        spec = compare_samples(spec_r, spec_g, edges, "drop")
    else:
        spec = compare_samples(spec_r, spec_g, reference_edges(spec_r, config.n_bins))
    hists["voxel_spectrum/edges"] = spec.edges
    hists["voxel_spectrum/reference"] = spec.reference
    hists["voxel_spectrum/generated"] = spec.generated
    hists["voxel_spectrum/reference_flow"] = spec.reference_flow
    hists["voxel_spectrum/generated_flow"] = spec.generated_flow
    return {
        "chi2_ndf": spec.chi2.chi2_ndf,
        "ndf": spec.chi2.ndf,
        "chi2_ndf_ceiling": spec.chi2.ceiling,
        "saturated": spec.chi2.saturated,
        "separation": spec.separation,
        "separation_floor": spec.separation_floor,
        "n_reference": int(spec_r.size),
        "n_generated": int(spec_g.size),
        "threshold_mev": threshold,
    }


def _examples(
    ref: ShowerData, gen: ShowerData, groups: list[EnergyGroup], k: int
) -> dict[str, npt.NDArray[Any]]:
    """``k`` showers of each sample at the common energy point nearest 65 GeV (seeded)."""
    if k == 0 or not groups:
        return {}
    g = min(groups, key=lambda g: abs(np.log(g.energy / 65536.0)))
    rng = np.random.default_rng(7)
    out: dict[str, npt.NDArray[Any]] = {}
    for who, data, mask in (("reference", ref, g.reference), ("generated", gen, g.generated)):
        idx = np.flatnonzero(mask)
        pick = np.sort(rng.choice(idx, min(k, len(idx)), replace=False))
        out[f"examples/{who}"] = np.asarray(data.showers[pick], dtype=np.float64)
        out[f"examples/{who}_energy"] = np.asarray(data.incident_energies[pick], dtype=np.float64)
    return out


def _jsonable(v: Any) -> bool:
    return isinstance(v, str | int | float | bool | list) or v is None
