"""The LHCb ECAL study's figures of merit, as two observable suites.

After Chekalina et al., "Generative Models for Fast Calorimeter Simulation: the LHCb case",
EPJ Web Conf. 214 (2019) 02034 (arXiv:1812.01319), who judge generated 30 x 30 electron
images by physics observables as functions of the particle's parameters, and issue 17:

* ``lhcb-ecal`` (:class:`LhcbShowerSuite`): per shower, the cluster **asymmetry** along and
  across the particle's transverse direction, the **shower widths** along x and y, and the
  **sparsity** (the share of cells above a fraction of the shower's energy); their
  distributions, their means in bins of |p| and of the impact point x and y (the table: the
  reference's and the generated mean with the pull of their difference), maps of the
  positive ones over the impact point, and the sparsity level against the fraction;
* ``lhcb-regressor`` (:class:`LhcbRegressorSuite`): how well the regressor the GAN was
  conditioned with (found through the generated file's ``source`` run) recovers the
  requested conditions from the generated images, against how well it recovers the true
  ones from the reference images: bias (mean residual) and resolution (standard deviation
  of the residuals) per parameter, in MeV and mm.

Definitions (x along the images' rows, y along their columns, as the ``lhcb-ecal``
geometry's cell centres; ``docs/lhcb.md``):

* the shower axis is taken where the track reaches the depth of the longitudinal maximum of
  an electron shower, ``t_max = ln(|p| / E_c) - 0.5`` radiation lengths (PDG, "Passage of
  particles through matter"; X0 and E_c of the 2 mm Pb + 4 mm scintillator structure,
  :data:`RADIATION_LENGTH_MM`, :data:`CRITICAL_ENERGY_MEV`): ``(x + t_x z, y + t_y z)``;
* asymmetry along = (E(s > 0) - E(s < 0)) / E with ``s`` the cell centre's distance from
  the axis along the unit transverse direction ``(t_x, t_y) / |t|`` (x when the track is
  normal); across: the same with the perpendicular direction;
* width along x (y) = the energy-weighted RMS of the cell centres' x (y) about the shower's
  centroid, mm;
* sparsity(alpha) = the share of the cells with E_cell >= alpha E_shower; the scalar
  observable is alpha = :data:`SPARSITY_ALPHA`, the curve runs over :data:`SPARSITY_ALPHAS`.
"""

from __future__ import annotations

import itertools
import logging
from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.stats
import torch

from ..data import ShowerData
from ..errors import FastCaloGANError
from ..geometry import Geometry
from ..models import LoadedRegressor, load_regressor
from ..preprocess import Preprocessor
from ..train import RunFolder
from .suites import Suite, SuiteResult, histogram_entry, register_suite

__all__ = [
    "CRITICAL_ENERGY_MEV",
    "LHCB_CONDITIONS",
    "OBSERVABLES",
    "RADIATION_LENGTH_MM",
    "SPARSITY_ALPHA",
    "SPARSITY_ALPHAS",
    "LhcbRegressorSuite",
    "LhcbShowerSuite",
    "lhcb_observables",
    "regressor_residuals",
    "sparsity_level",
]

log = logging.getLogger(__name__)

#: The conditions, in the order of the study.
LHCB_CONDITIONS = ("px", "py", "pz", "x", "y")
#: X0 of 2 mm Pb + 4 mm scintillator (docs/reference-simulator.md, section 7).
RADIATION_LENGTH_MM = 16.4
#: E_c of the same structure.
CRITICAL_ENERGY_MEV = 9.43
#: The sparsity observable's fraction of the shower energy.
SPARSITY_ALPHA = 1e-3
#: The sparsity level's fractions.
SPARSITY_ALPHAS = tuple(float(a) for a in np.logspace(-5, 0, 26))
#: Observables, their report labels and whether they are positive (drawn as maps).
OBSERVABLES: dict[str, tuple[str, bool]] = {
    "asymmetry along": ("asymmetry along the transverse direction", False),
    "asymmetry across": ("asymmetry across the transverse direction", False),
    "width x": ("shower width along x [mm]", True),
    "width y": ("shower width along y [mm]", True),
    "sparsity": (f"share of cells above {SPARSITY_ALPHA:g} E_shower", True),
}
#: Bins of |p| (log-spaced) and of each impact coordinate (linear) in the binned table.
N_CONDITION_BINS = 6
_UNITS = {"px": "MeV", "py": "MeV", "pz": "MeV", "x": "mm", "y": "mm"}


def _lhcb_geometry(geometry: Geometry) -> bool:
    return geometry.kind == "cartesian" and geometry.n_layers == 1 and "lhcb" in geometry.name


def _conditions(data: ShowerData) -> npt.NDArray[np.float64] | None:
    """The five conditions ``(N, 5)`` of a sample, or ``None`` when it lacks any."""
    if data.conditions is None or any(n not in data.condition_names for n in LHCB_CONDITIONS):
        return None
    columns = [data.condition_names.index(n) for n in LHCB_CONDITIONS]
    return np.asarray(data.conditions[:, columns], dtype=np.float64)


def sparsity_level(
    showers: npt.ArrayLike, alphas: tuple[float, ...] = SPARSITY_ALPHAS
) -> npt.NDArray[np.float64]:
    """Share of the cells with ``E_cell >= alpha E_shower``, shape ``(n_events, n_alphas)``.

    >>> sparsity_level([[1.0, 0.0, 0.0, 3.0]], (0.1, 0.5)).tolist()
    [[0.5, 0.25]]
    """
    s = np.asarray(showers, dtype=np.float64)
    total = s.sum(axis=1, keepdims=True)
    return np.stack([(s >= a * total).mean(axis=1) for a in alphas], axis=1)


def lhcb_observables(
    showers: npt.ArrayLike, conditions: npt.ArrayLike, geometry: Geometry
) -> dict[str, npt.NDArray[np.float64]]:
    """The suite's per-shower observables (module docstring), each ``(n_events,)``.

    Args:
        showers: ``(n_events, n_cells)`` MeV, the geometry's cell order.
        conditions: ``(n_events, 5)``: px, py, pz (MeV), x, y (mm).
        geometry: one Cartesian layer (cell centres ``voxel_eta`` = x, ``voxel_phi`` = y).

    Empty showers give NaN (left out of every statistic).
    """
    s = np.asarray(showers, dtype=np.float64)
    c = np.asarray(conditions, dtype=np.float64)
    cx, cy = geometry.voxel_eta[None, :], geometry.voxel_phi[None, :]
    total = s.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        inv = np.where(total > 0, 1.0 / total, np.nan)
        p = np.linalg.norm(c[:, :3], axis=1)
        tx, ty = c[:, 0] / c[:, 2], c[:, 1] / c[:, 2]
        depth = RADIATION_LENGTH_MM * np.clip(np.log(p / CRITICAL_ENERGY_MEV) - 0.5, 0.0, None)
        ax, ay = c[:, 3] + tx * depth, c[:, 4] + ty * depth
        norm = np.hypot(tx, ty)
        normal = norm < 1e-12
        ux = np.where(normal, 1.0, tx / np.where(normal, 1.0, norm))[:, None]
        uy = np.where(normal, 0.0, ty / np.where(normal, 1.0, norm))[:, None]
        along = (cx - ax[:, None]) * ux + (cy - ay[:, None]) * uy
        across = -(cx - ax[:, None]) * uy + (cy - ay[:, None]) * ux
        mx = (s * cx).sum(axis=1) * inv
        my = (s * cy).sum(axis=1) * inv
        width_x = np.sqrt(np.clip((s * cx**2).sum(axis=1) * inv - mx**2, 0.0, None))
        width_y = np.sqrt(np.clip((s * cy**2).sum(axis=1) * inv - my**2, 0.0, None))
        sparsity = sparsity_level(s, (SPARSITY_ALPHA,))[:, 0]
    return {
        "asymmetry along": (np.sign(along) * s).sum(axis=1) * inv,
        "asymmetry across": (np.sign(across) * s).sum(axis=1) * inv,
        "width x": width_x,
        "width y": width_y,
        "sparsity": np.where(total > 0, sparsity, np.nan),
    }


def _mean_and_error(
    values: npt.NDArray[np.float64], bins: npt.NDArray[np.int64], n_bins: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    ok = np.isfinite(values) & (bins >= 0) & (bins < n_bins)
    b, v = bins[ok], values[ok]
    n = np.bincount(b, minlength=n_bins)
    s1 = np.bincount(b, weights=v, minlength=n_bins)
    s2 = np.bincount(b, weights=v * v, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / np.maximum(n, 1), np.nan)
        var = np.where(n > 1, (s2 - n * mean**2) / np.maximum(n - 1, 1), np.nan)
        error = np.sqrt(np.clip(var, 0.0, None) / np.maximum(n, 1))
    return mean, error, n


def _bin_index(values: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> Any:
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[values == edges[-1]] = len(edges) - 2
    return idx


def _flat_bins(bx: npt.NDArray[np.int64], by: npt.NDArray[np.int64]) -> Any:
    """The (x, y) bin pair as one index (row-major), -1 outside the grid."""
    inside = (bx >= 0) & (bx < N_CONDITION_BINS) & (by >= 0) & (by < N_CONDITION_BINS)
    return np.where(inside, bx * N_CONDITION_BINS + by, -1)


def _condition_edges(c: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.float64]]:
    """Bin edges of |p| (log) and of the impact point (linear) from the reference."""
    p = np.linalg.norm(c[:, :3], axis=1)
    return {
        "|p|": np.geomspace(p.min(), p.max(), N_CONDITION_BINS + 1),
        "x": np.linspace(c[:, 3].min(), c[:, 3].max(), N_CONDITION_BINS + 1),
        "y": np.linspace(c[:, 4].min(), c[:, 4].max(), N_CONDITION_BINS + 1),
    }


def _condition_values(c: npt.NDArray[np.float64]) -> dict[str, npt.NDArray[np.float64]]:
    return {"|p|": np.linalg.norm(c[:, :3], axis=1), "x": c[:, 3], "y": c[:, 4]}


def _edge_label(var: str, lo: float, hi: float) -> str:
    if var == "|p|":
        return f"{lo / 1000:.3g}-{hi / 1000:.3g} GeV"
    return f"{lo:.0f}..{hi:.0f} mm"


def _not_applicable(reason: str) -> SuiteResult:
    return SuiteResult(
        metrics={"available": False, "reason": reason},
        table={"header": ["not computed"], "rows": [[reason]]},
    )


class _LhcbSuite(Suite):
    """What both LHCb suites share: the geometry they apply to, and the five conditions of
    both samples, without which a suite reports itself not computed."""

    def applies(self, geometry: Geometry, attrs: Mapping[str, Any]) -> bool:
        """One Cartesian layer of an LHCb ECAL geometry."""
        return _lhcb_geometry(geometry)

    def compute(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        rng: np.random.Generator,
    ) -> SuiteResult:
        """:meth:`_compare` of the two samples with their conditions (module docstring)."""
        c_ref, c_gen = _conditions(reference), _conditions(generated)
        if c_ref is None or c_gen is None:
            return _not_applicable("a sample lacks the conditions px, py, pz, x, y")
        return self._compare(reference, generated, geometry, c_ref, c_gen)

    @abstractmethod
    def _compare(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        c_ref: npt.NDArray[np.float64],
        c_gen: npt.NDArray[np.float64],
    ) -> SuiteResult:
        """The suite's figures of merit; ``c_ref``, ``c_gen``: the conditions ``(N, 5)``."""


class LhcbShowerSuite(_LhcbSuite):
    """Cluster asymmetry, shower widths and sparsity, as functions of |p| and the impact
    point (Chekalina et al. 2019's physics figures of merit)."""

    name = "lhcb-ecal"
    title = "LHCb ECAL: asymmetry, widths and sparsity against the conditions"
    note = (
        "The physics figures of merit of the LHCb calorimeter GAN study (Chekalina et al., "
        "EPJ Web Conf. 214 (2019) 02034): the cluster asymmetry along and across the "
        "particle's transverse direction about the track at the depth of the shower "
        "maximum, the shower widths along x and y (energy-weighted RMS, mm) and the "
        f"sparsity (share of cells above {SPARSITY_ALPHA:g} of the shower's energy). Table: "
        "reference / generated mean in bins of |p| and of the impact point, with the pull "
        "of their difference in brackets; maps: the means over the impact point (x rows, "
        "y columns)."
    )

    def _compare(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        c_ref: npt.NDArray[np.float64],
        c_gen: npt.NDArray[np.float64],
    ) -> SuiteResult:
        """Observables of both samples, binned in the reference's conditions."""
        o_ref = lhcb_observables(reference.showers, c_ref, geometry)
        o_gen = lhcb_observables(generated.showers, c_gen, geometry)
        hists: dict[str, npt.NDArray[Any]] = {}
        labels: dict[str, str] = {}
        summary: dict[str, Any] = {}
        for key, (label, _) in OBSERVABLES.items():
            r, g = o_ref[key], o_gen[key]
            r_ok, g_ok = r[np.isfinite(r)], g[np.isfinite(g)]
            lo, hi = np.quantile(r_ok, [0.005, 0.995]) if r_ok.size else (0.0, 1.0)
            edges = np.linspace(lo, hi if hi > lo else lo + 1.0, 41)
            hists.update(histogram_entry(key, r_ok, g_ok, edges))
            labels[key] = label
            spread = float(np.std(r_ok)) if r_ok.size > 1 else float("nan")
            w1 = float(scipy.stats.wasserstein_distance(r_ok, g_ok)) if g_ok.size else None
            summary[key] = {
                "reference_mean": float(np.mean(r_ok)) if r_ok.size else None,
                "generated_mean": float(np.mean(g_ok)) if g_ok.size else None,
                "reference_std": spread,
                "generated_std": float(np.std(g_ok)) if g_ok.size > 1 else None,
                "wasserstein": w1,
                "wasserstein_over_std": w1 / spread if w1 is not None and spread > 0 else None,
            }
        edges_of = _condition_edges(c_ref)
        values_ref, values_gen = _condition_values(c_ref), _condition_values(c_gen)
        binned: dict[str, Any] = {}
        rows: list[list[Any]] = []
        for var, edges in edges_of.items():
            b_ref = _bin_index(values_ref[var], edges)
            b_gen = _bin_index(values_gen[var], edges)
            entry: dict[str, Any] = {"edges": edges.tolist()}
            rows.append(
                ["bins", var, *(_edge_label(var, lo, hi) for lo, hi in itertools.pairwise(edges))]
            )
            for key in OBSERVABLES:
                m_r, e_r, n_r = _mean_and_error(o_ref[key], b_ref, N_CONDITION_BINS)
                m_g, e_g, n_g = _mean_and_error(o_gen[key], b_gen, N_CONDITION_BINS)
                with np.errstate(invalid="ignore", divide="ignore"):
                    pull = (m_g - m_r) / np.sqrt(e_r**2 + e_g**2)
                entry[key] = {
                    "reference": m_r.tolist(),
                    "reference_error": e_r.tolist(),
                    "generated": m_g.tolist(),
                    "generated_error": e_g.tolist(),
                    "pull": pull.tolist(),
                    "n_reference": n_r.tolist(),
                    "n_generated": n_g.tolist(),
                }
                rows.append(
                    [
                        key,
                        var,
                        *(
                            f"{a:.3g} / {b:.3g} ({p:+.1f})"
                            for a, b, p in zip(m_r, m_g, pull, strict=True)
                        ),
                    ]
                )
            binned[var] = entry
        bx_r, by_r = (_bin_index(values_ref[v], edges_of[v]) for v in ("x", "y"))
        bx_g, by_g = (_bin_index(values_gen[v], edges_of[v]) for v in ("x", "y"))
        n2 = N_CONDITION_BINS * N_CONDITION_BINS
        for key, (label, positive) in OBSERVABLES.items():
            if not positive:
                continue
            flat_r, flat_g = _flat_bins(bx_r, by_r), _flat_bins(bx_g, by_g)
            m_r = _mean_and_error(o_ref[key], flat_r, n2)[0]
            m_g = _mean_and_error(o_gen[key], flat_g, n2)[0]
            shape = (N_CONDITION_BINS, N_CONDITION_BINS)
            hists[f"{key} vs impact point/reference_image"] = m_r.reshape(shape)
            hists[f"{key} vs impact point/generated_image"] = m_g.reshape(shape)
            labels[f"{key} vs impact point"] = label
        curve_r = np.nanmean(sparsity_level(reference.showers), axis=0)
        curve_g = np.nanmean(sparsity_level(generated.showers), axis=0)
        metrics = {
            "available": True,
            "n_reference": reference.n_events,
            "n_generated": generated.n_events,
            "observables": summary,
            "binned": binned,
            "sparsity_level": {
                "alphas": list(SPARSITY_ALPHAS),
                "reference": curve_r.tolist(),
                "generated": curve_g.tolist(),
            },
            "max_abs_pull": float(
                np.nanmax(
                    [
                        np.nanmax(np.abs(entry[key]["pull"]))
                        for entry in binned.values()
                        for key in OBSERVABLES
                    ]
                )
            ),
        }
        header = ["observable", "vs", *(f"bin {i + 1}" for i in range(N_CONDITION_BINS))]
        return SuiteResult(metrics, hists, labels, {"header": header, "rows": rows})


# ----- the regressor --------------------------------------------------------------------------
def _regressor_of(generated: ShowerData) -> LoadedRegressor:
    """The regressor of the run that generated ``generated`` (its ``source`` attribute).

    Raises:
        FastCaloGANError: no source, or a source without a regressor.
    """
    source = generated.attrs.get("source")
    if not source:
        raise FastCaloGANError("the generated file names no source run (attribute 'source')")
    path = Path(str(source))
    if path.is_dir():
        path = RunFolder.open(path).checkpoint_to_use()[0]
    return load_regressor(path)


def regressor_residuals(
    regressor: LoadedRegressor,
    data: ShowerData,
    conditions: npt.NDArray[np.float64],
    batch_size: int = 2048,
) -> npt.NDArray[np.float64]:
    """Predicted minus given conditions ``(n_events, 5)`` in physical units (MeV, mm).

    The images go through the regressor's preprocessing (:class:`Preprocessor` of its
    training run) and its standardised predictions back through the fitted condition
    transforms.
    """
    pre = Preprocessor.from_dict(regressor.preprocess, regressor.source)
    names = pre.condition_names
    given = np.stack([conditions[:, LHCB_CONDITIONS.index(n)] for n in names], axis=1)
    x, _ = pre.transform(data.incident_energies, data.showers, given)
    out = np.empty((x.shape[0], len(names)))
    net = regressor.network.cpu().eval()
    with torch.inference_mode():
        for start in range(0, x.shape[0], batch_size):
            out[start : start + batch_size] = net(torch.from_numpy(x[start : start + batch_size]))
    physical = np.stack(
        [out[:, j] * c.scale + c.offset for j, c in enumerate(pre.conditions)], axis=1
    )
    return np.stack(
        [physical[:, names.index(n)] - conditions[:, i] for i, n in enumerate(LHCB_CONDITIONS)],
        axis=1,
    )


class LhcbRegressorSuite(_LhcbSuite):
    """Bias and resolution of the conditioning regressor on generated and reference images."""

    name = "lhcb-regressor"
    title = "LHCb ECAL: the regressor recovers the conditions"
    note = (
        "The frozen regressor that conditioned the GAN (Chekalina et al. 2019; found through "
        "the generated file's source run) predicts px, py, pz, x and y from every image: on "
        "the reference images against their true parameters (the regressor's own bias and "
        "resolution), on the generated ones against the requested parameters. A generator "
        "that follows its conditions shows the reference's bias and resolution; the "
        "histograms show the residuals (predicted - given)."
    )

    def _compare(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        c_ref: npt.NDArray[np.float64],
        c_gen: npt.NDArray[np.float64],
    ) -> SuiteResult:
        """Residuals of both samples per parameter."""
        try:
            regressor = _regressor_of(generated)
            r_ref = regressor_residuals(regressor, reference, c_ref)
            r_gen = regressor_residuals(regressor, generated, c_gen)
        except FastCaloGANError as err:
            log.info("lhcb-regressor suite skipped: %s", err)
            return _not_applicable(str(err))
        hists: dict[str, npt.NDArray[Any]] = {}
        labels: dict[str, str] = {}
        per: dict[str, Any] = {}
        rows: list[list[Any]] = []
        for i, name in enumerate(LHCB_CONDITIONS):
            a, b = r_ref[:, i], r_gen[:, i]
            lo, hi = np.quantile(a, [0.005, 0.995])
            hists.update(histogram_entry(f"residual {name}", a, b, np.linspace(lo, hi, 41)))
            labels[f"residual {name}"] = f"{name} predicted - given [{_UNITS[name]}]"
            bias_r, res_r = float(np.mean(a)), float(np.std(a))
            bias_g, res_g = float(np.mean(b)), float(np.std(b))
            ratio = res_g / res_r if res_r > 0 else None
            per[name] = {
                "unit": _UNITS[name],
                "reference_bias": bias_r,
                "reference_resolution": res_r,
                "generated_bias": bias_g,
                "generated_resolution": res_g,
                "resolution_ratio": ratio,
            }
            rows.append([f"{name} [{_UNITS[name]}]", bias_r, res_r, bias_g, res_g, ratio])
        p_ref = np.linalg.norm(c_ref[:, :3], axis=1)
        p_gen = np.linalg.norm(c_gen[:, :3], axis=1)
        metrics = {
            "available": True,
            "regressor": regressor.source,
            "regressor_iteration": regressor.iteration,
            "parameters": per,
            "pz_relative_resolution": {
                "reference": float(np.std(r_ref[:, 2] / p_ref)),
                "generated": float(np.std(r_gen[:, 2] / p_gen)),
            },
        }
        header = [
            "parameter",
            "reference bias",
            "reference resolution",
            "generated bias",
            "generated resolution",
            "resolution ratio gen/ref",
        ]
        return SuiteResult(metrics, hists, labels, {"header": header, "rows": rows})


register_suite(LhcbShowerSuite())
register_suite(LhcbRegressorSuite())
