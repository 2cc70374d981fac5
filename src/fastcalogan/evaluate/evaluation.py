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
from ..data.distances import frechet_physics_distance, kernel_physics_distance
from ..data.features import feature_matrix, observable_table
from ..data.observables import voxel_spectrum
from ..data.stats import compare_samples, histogram_counts, reference_edges
from ..errors import BinningError, DataFormatError
from ..geometry import Geometry, geometry_to_mapping
from .classifier import classifier_test, voxel_inputs
from .comparison import compare_observables, energy_groups, response_resolution
from .config import EvaluateConfig
from .neighbours import nearest_neighbour_check, normalised_voxels

__all__ = [
    "HEADLINE_KEYS",
    "METRICS_KEYS",
    "EvaluateResult",
    "Reporter",
    "evaluate",
    "load_histograms",
]

log = logging.getLogger(__name__)

#: Version of the metrics.json layout.
METRICS_SCHEMA_VERSION = 1
#: Top-level keys of metrics.json (always present; a metric not computed is ``null``).
METRICS_KEYS = (
    "schema_version",
    "fastcalogan_version",
    "git_commit",
    "config",
    "inputs",
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
    "timing",
)
#: Keys of ``metrics["headline"]``.
HEADLINE_KEYS = (
    "chi2_ndf_e_tot",
    "chi2_ndf_mean",
    "separation_mean",
    "response_ratio_max_deviation",
    "resolution_ratio_max_deviation",
    "fpd",
    "fpd_error",
    "kpd",
    "kpd_error",
    "auc_voxels",
    "auc_features",
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
    """

    metrics_path: Path
    histograms_path: Path
    report_path: Path | None
    headline: Mapping[str, float | None] = field(default_factory=dict)
    seconds: float = 0.0


def _resolve_binning(
    config: EvaluateConfig, reference_path: Path, generated_path: Path
) -> tuple[Geometry, dict[str, Any], dict[str, Any]]:
    ref_attrs = read_shower_attrs(reference_path)
    gen_attrs = read_shower_attrs(generated_path)
    binning = geometry_of_file(ref_attrs, config.binning, config.particle, str(reference_path))
    if gen_attrs["n_voxels"] != ref_attrs["n_voxels"]:
        raise BinningError(
            f"{generated_path}: {gen_attrs['n_voxels']} voxels per shower, but the reference "
            f"{reference_path.name} has {ref_attrs['n_voxels']} ({binning.name}); both files "
            "must use the same binning"
        )
    try:
        other = geometry_of_file(gen_attrs, config.binning, config.particle, str(generated_path))
    except BinningError:
        other = binning  # no usable attribute: the voxel count already matches
    if not other.same_voxels(binning):
        raise BinningError(
            f"{generated_path}: binning {other.name} differs from the reference's "
            f"{binning.name}; both files must use the same binning"
        )
    return binning, ref_attrs, gen_attrs


def _subset(data: ShowerData, n_max: int | None, rng: np.random.Generator) -> ShowerData:
    if n_max is None or data.n_events <= n_max:
        return data
    idx = np.sort(rng.choice(data.n_events, n_max, replace=False))
    return ShowerData(data.incident_energies[idx], data.showers[idx], dict(data.attrs))


def _max_dev(values: list[float | None]) -> float | None:
    v = [abs(x - 1.0) for x in values if x is not None and math.isfinite(x)]
    return max(v) if v else None


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

    Both files are CaloChallenge shower files with the same binning. Writes, atomically,
    into ``out_dir``: ``metrics.json`` (top-level keys :data:`METRICS_KEYS`) and
    ``histograms.npz`` (``energies``; ``e_tot/<i>/{edges,reference,generated}`` per energy
    point; ``pooled/<observable>/{edges,reference,generated}``;
    ``voxel_spectrum/{edges,reference,generated}`` over log10(E_voxel / MeV);
    ``mean_shower/{reference,generated}`` the mean of E_voxel / E_inc, ``(n_voxels,)``;
    ``nn/edges`` and ``nn/{gen_to_memory,ref_to_memory,gen_to_gen,ref_to_ref}`` counts of
    nearest-neighbour distances), then calls
    ``reporter`` if given.

    Args:
        config: what to compute.
        reference_path: the reference (e.g. Geant4 or reference-simulator) showers.
        generated_path: the showers to judge.
        out_dir: output folder (created).
        progress: ``callback(done, total)`` over the evaluation's steps.
        training_path: showers the generator was trained on, for the memorisation check.
        reporter: writes the report from ``(metrics, histograms, out_dir)``.

    Raises:
        DataFormatError: unreadable or invalid shower files.
        BinningError: the files do not share one binning, or it does not fit them.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    reference_path, generated_path = Path(reference_path), Path(generated_path)
    steps = 4 + len(config.metrics) + (1 if reporter else 0)
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
    binning, ref_attrs, gen_attrs = _resolve_binning(config, reference_path, generated_path)
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
    t = lap("read", t0)
    step("read")

    ref_table = observable_table(ref.showers, ref.incident_energies, binning)
    gen_table = observable_table(gen.showers, gen.incident_energies, binning)
    t = lap("observables", t)
    step("observables")

    groups = energy_groups(ref.incident_energies, gen.incident_energies)
    hists: dict[str, npt.NDArray[Any]] = {"energies": np.array([g.energy for g in groups])}
    observables, obs_hists = compare_observables(ref_table, gen_table, groups, config.n_bins)
    hists.update(obs_hists)
    spec_r = np.log10(voxel_spectrum(ref.showers, config.voxel_threshold_mev) + 1e-30)
    spec_g = np.log10(voxel_spectrum(gen.showers, config.voxel_threshold_mev) + 1e-30)
    spec = compare_samples(spec_r, spec_g, reference_edges(spec_r, config.n_bins))
    hists["voxel_spectrum/edges"] = spec.edges
    hists["voxel_spectrum/reference"] = spec.reference
    hists["voxel_spectrum/generated"] = spec.generated
    hists["mean_shower/reference"] = normalised_voxels(ref.showers, ref.incident_energies).mean(0)
    hists["mean_shower/generated"] = normalised_voxels(gen.showers, gen.incident_energies).mean(0)
    t = lap("histograms", t)
    step("histograms")

    metrics: dict[str, Any] = dict.fromkeys(METRICS_KEYS)
    headline: dict[str, float | None] = dict.fromkeys(HEADLINE_KEYS)
    metrics["observables"] = observables if "chi2" in config.metrics else None
    metrics["voxel_spectrum"] = {
        "chi2_ndf": spec.chi2.chi2_ndf,
        "separation": spec.separation,
        "n_reference": int(spec_r.size),
        "n_generated": int(spec_g.size),
    }
    if "chi2" in config.metrics:
        headline["chi2_ndf_e_tot"] = observables["e_tot"]["chi2_ndf"]
        c = [v["chi2_ndf"] for v in observables.values() if v["chi2_ndf"] is not None]
        s = [v["separation"] for v in observables.values() if v["separation"] is not None]
        headline["chi2_ndf_mean"] = float(np.mean(c)) if c else None
        headline["separation_mean"] = float(np.mean(s)) if s else None
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

    feature_names, f_ref = feature_matrix(ref_table, ref.incident_energies, binning)
    _, f_gen = feature_matrix(gen_table, gen.incident_energies, binning)
    if "fpd" in config.metrics:
        r = frechet_physics_distance(
            f_ref,
            f_gen,
            np.random.default_rng([config.seed, 1]),
            config.fpd_min_samples,
            config.fpd_max_samples,
            config.fpd_batches,
            config.fpd_points,
            config.feature_clip_quantile,
        )
        metrics["fpd"] = {
            "value": r.value,
            "error": r.error,
            "method": r.method,
            "n_batches": r.n_batches,
            "features": feature_names,
        }
        headline["fpd"], headline["fpd_error"] = r.value, r.error
        t = lap("fpd", t)
        step("fpd")
    if "kpd" in config.metrics:
        r = kernel_physics_distance(
            f_ref,
            f_gen,
            np.random.default_rng([config.seed, 2]),
            config.kpd_batch_size,
            config.kpd_batches,
            config.feature_clip_quantile,
        )
        metrics["kpd"] = {
            "value": r.value,
            "error": r.error,
            "method": r.method,
            "n_batches": r.n_batches,
            "features": feature_names,
        }
        headline["kpd"], headline["kpd_error"] = r.value, r.error
        t = lap("kpd", t)
        step("kpd")

    classifier: dict[str, Any] = {"voxels": None, "features": None}
    for kind in ("voxels", "features"):
        if f"classifier_{kind}" not in config.metrics:
            continue
        xr: npt.NDArray[Any]
        xg: npt.NDArray[Any]
        if kind == "voxels":
            xr = voxel_inputs(ref.showers, ref.incident_energies)
            xg = voxel_inputs(gen.showers, gen.incident_energies)
        else:
            xr, xg = f_ref, f_gen
        c_res = classifier_test(xr, xg, config.classifier, seed=config.seed)
        classifier[kind] = {
            "auc": c_res.auc,
            "auc_error": c_res.auc_error,
            "n_train": c_res.n_train,
            "n_validation": c_res.n_validation,
            "n_test": c_res.n_test,
            "best_epoch": c_res.best_epoch,
            "test_loss": c_res.test_loss,
        }
        headline[f"auc_{kind}"] = c_res.auc
        t = lap(f"classifier_{kind}", t)
        step(f"classifier_{kind}")
    if any(m.startswith("classifier") for m in config.metrics):
        metrics["classifier"] = classifier

    if "nearest_neighbour" in config.metrics:
        nn = nearest_neighbour_check(
            normalised_voxels(ref.showers, ref.incident_energies),
            normalised_voxels(gen.showers, gen.incident_energies),
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
            "particle": config.particle,
            "reference_attrs": {k: v for k, v in ref_attrs.items() if _jsonable(v)},
            "generated_attrs": {k: v for k, v in gen_attrs.items() if _jsonable(v)},
        },
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
    return EvaluateResult(metrics_path, hist_path, report_path, metrics["headline"], seconds)


def _jsonable(v: Any) -> bool:
    return isinstance(v, str | int | float | bool | list) or v is None
