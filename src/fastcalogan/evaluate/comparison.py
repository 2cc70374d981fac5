"""Binned comparisons per observable and per incident-energy point; response and resolution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data.features import calochallenge_edges
from ..data.stats import (
    SATURATION_FRACTION,
    SampleComparison,
    compare_samples,
    reference_edges,
    wasserstein_1d,
)
from .config import HistogramBinning

__all__ = [
    "LOG_BINNED",
    "EnergyGroup",
    "compare_observables",
    "energy_groups",
    "response_resolution",
]

#: Observables (name prefixes) shown on log-spaced bins in the pooled display histograms.
LOG_BINNED = ("e_tot", "e_layer_", "depth_weighted_energy")
#: Minimum events per sample for a per-energy comparison to count.
MIN_EVENTS = 10


@dataclass(frozen=True)
class EnergyGroup:
    """Events of one incident-energy point (or log bin for continuous spectra).

    Attributes:
        energy: the point (MeV) or the bin's geometric centre.
        reference: boolean mask over reference events.
        generated: boolean mask over generated events.
    """

    energy: float
    reference: npt.NDArray[np.bool_]
    generated: npt.NDArray[np.bool_]


def energy_groups(
    reference_energies: npt.ArrayLike,
    generated_energies: npt.ArrayLike,
    max_points: int = 32,
    n_log_bins: int = 10,
) -> list[EnergyGroup]:
    """Group both samples by incident energy.

    Discrete spectra (at most ``max_points`` distinct reference values, e.g. the 15 dataset-1
    points) group by value, with generated energies matched to the nearest reference value
    within 0.1 %; continuous ones by ``n_log_bins`` log-spaced bins over the common range.
    Groups empty in both samples are dropped.
    """
    er = np.asarray(reference_energies, dtype=np.float64).reshape(-1)
    eg = np.asarray(generated_energies, dtype=np.float64).reshape(-1)
    values = np.unique(er)
    groups = []
    if 0 < len(values) <= max_points:
        # nearest reference value for each generated energy
        pos = np.clip(np.searchsorted(values, eg), 1, len(values) - 1) if len(values) > 1 else None
        if pos is None:
            nearest = np.zeros(len(eg), dtype=np.int64)
        else:
            left, right = values[pos - 1], values[pos]
            nearest = np.where(np.abs(eg - left) <= np.abs(eg - right), pos - 1, pos)
        match = np.abs(eg - values[nearest]) <= 1e-3 * values[nearest]
        for i, v in enumerate(values):
            groups.append(EnergyGroup(float(v), er == v, match & (nearest == i)))
        return groups
    both = np.concatenate([er, eg])
    if both.size == 0:
        return []
    edges = np.geomspace(both.min(), both.max() * (1 + 1e-12), n_log_bins + 1)
    ir = np.clip(np.searchsorted(edges, er, side="right") - 1, 0, n_log_bins - 1)
    ig = np.clip(np.searchsorted(edges, eg, side="right") - 1, 0, n_log_bins - 1)
    for i in range(n_log_bins):
        mr, mg = ir == i, ig == i
        if mr.any() or mg.any():
            groups.append(EnergyGroup(float(np.sqrt(edges[i] * edges[i + 1])), mr, mg))
    return groups


def _edges(x: npt.NDArray[np.float64], n_bins: int, log: bool = False) -> npt.NDArray[np.float64]:
    """Reference-based edges; discrete observables get one bin per reference value."""
    uniq = np.unique(x[np.isfinite(x)])
    if uniq.size > 1:
        # values that differ by float rounding only (a sum in float32) are one value
        tol = 1e-6 * float(np.abs(uniq).max())
        uniq = uniq[np.concatenate([[True], np.diff(uniq) > tol])]
    if 0 < len(uniq) <= min(n_bins, 12):
        if len(uniq) == 1:
            pad = 0.5 * max(abs(float(uniq[0])), 1e-3)
            return np.array([uniq[0] - pad, uniq[0] + pad])
        mid = 0.5 * (uniq[1:] + uniq[:-1])
        return np.concatenate([[2 * uniq[0] - mid[0]], mid, [2 * uniq[-1] - mid[-1]]])
    return reference_edges(x, n_bins, log=log)


def _store(hists: dict[str, npt.NDArray[np.float64]], key: str, c: SampleComparison) -> None:
    hists[f"{key}/edges"] = c.edges
    hists[f"{key}/reference"] = c.reference
    hists[f"{key}/generated"] = c.generated
    hists[f"{key}/reference_flow"] = c.reference_flow
    hists[f"{key}/generated_flow"] = c.generated_flow


def _summary(comparisons: list[SampleComparison], w1: list[float], binning: str) -> dict[str, Any]:
    """Combined numbers of one observable over its comparisons (energy points or one pool)."""
    chi2 = float(sum(c.chi2.chi2 for c in comparisons))
    ndf = int(sum(c.chi2.ndf for c in comparisons))
    n_ref = int(sum(c.chi2.n_reference for c in comparisons))
    n_gen = int(sum(c.chi2.n_generated for c in comparisons))
    seps = [c.separation for c in comparisons if np.isfinite(c.separation)]
    floors = [c.separation_floor for c in comparisons if np.isfinite(c.separation_floor)]
    w = [x for x in w1 if np.isfinite(x)]
    return {
        "chi2": chi2 if comparisons else None,
        "ndf": ndf,
        "chi2_ndf": chi2 / ndf if ndf else None,
        "chi2_ndf_ceiling": (n_ref + n_gen) / ndf if ndf else None,
        "saturated": bool(ndf and chi2 > SATURATION_FRACTION * (n_ref + n_gen)),
        "n_reference": n_ref,
        "n_generated": n_gen,
        "separation": float(np.mean(seps)) if seps else None,
        "separation_floor": float(np.mean(floors)) if floors else None,
        "wasserstein": float(np.mean(w)) if w else None,
        "binning": binning,
    }


def _per_energy_lists(
    comparisons: list[SampleComparison | None], w1: list[float | None]
) -> dict[str, list[Any]]:
    def pick(f: Callable[[SampleComparison], Any]) -> list[Any]:
        return [None if c is None else f(c) for c in comparisons]

    return {
        "chi2_ndf": pick(lambda c: c.chi2.chi2_ndf),
        "ndf": pick(lambda c: c.chi2.ndf),
        "chi2_ndf_ceiling": pick(lambda c: c.chi2.ceiling),
        "saturated": pick(lambda c: c.chi2.saturated),
        "n_reference": pick(lambda c: int(c.chi2.n_reference)),
        "n_generated": pick(lambda c: int(c.chi2.n_generated)),
        "separation": pick(lambda c: c.separation),
        "separation_floor": pick(lambda c: c.separation_floor),
        "wasserstein": list(w1),
    }


def compare_observables(
    reference: dict[str, npt.NDArray[np.float64]],
    generated: dict[str, npt.NDArray[np.float64]],
    groups: list[EnergyGroup],
    n_bins: int,
    mode: HistogramBinning = "per_energy",
    particle: str = "photon",
) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.float64]]]:
    """Chi2/NDF (with its N and ceiling), separation power (with its floor) and the 1-D
    Wasserstein distance of every observable.

    ``mode="per_energy"``: per energy point both samples are histogrammed on ``n_bins``
    bins spanning the reference's 0.1-99.9 % quantiles, plus an underflow and an overflow
    bin; the combined chi2/NDF is sum(chi2) / sum(NDF) over the points, its ceiling
    sum(N + M) / sum(NDF), the separation power, its floor and the Wasserstein distance the
    means over the points. Points with fewer than 10 events in either sample are skipped
    (``null`` in the per-energy lists).

    ``mode="calochallenge"``: every observable pooled over all energies on the CaloChallenge
    evaluator's fixed edges (:func:`~fastcalogan.data.features.calochallenge_edges`; the
    reference's quantile range where it has none), entries outside left out; ``e_tot`` per
    energy point on the evaluator's per-point E_tot/E_inc edges (scaled by the point's
    energy). The tables should then be observables of showers cut at 1 MeV.

    Returns:
        ``(metrics, histograms)``: metrics by observable name (``chi2``, ``ndf``,
        ``chi2_ndf``, ``chi2_ndf_ceiling``, ``saturated``, ``n_reference``,
        ``n_generated``, ``separation``, ``separation_floor``, ``wasserstein`` in the
        observable's unit, ``binning``, ``per_energy`` lists or ``null``); histograms
        for the report: ``e_tot/<i>/...`` per energy point ``i`` and ``pooled/<name>/...``,
        each with ``edges``, ``reference``, ``generated``, ``reference_flow``,
        ``generated_flow`` (entries below / above the edges).
    """
    if mode not in ("per_energy", "calochallenge"):
        raise ValueError(f"mode must be per_energy or calochallenge, found {mode!r}")
    metrics: dict[str, Any] = {}
    hists: dict[str, npt.NDArray[np.float64]] = {}
    pooled_mode = mode == "calochallenge"
    flow = "drop" if pooled_mode else "bins"
    for name, ref_all in reference.items():
        gen_all = generated[name]
        log = name.startswith(LOG_BINNED)
        per_point = name == "e_tot" or not pooled_mode
        cc_edges = None if per_point else calochallenge_edges(name, ref_all, particle)
        if per_point:
            comps: list[SampleComparison | None] = []
            w1: list[float | None] = []
            for i, g in enumerate(groups):
                r, q = ref_all[g.reference], gen_all[g.generated]
                if len(r) < MIN_EVENTS or len(q) < MIN_EVENTS:
                    comps.append(None)
                    w1.append(None)
                    continue
                edges = (
                    calochallenge_edges("e_tot", r, particle, g.energy)
                    if pooled_mode
                    else _edges(r, n_bins)
                )
                assert edges is not None  # e_tot always has per-point edges
                c = compare_samples(r, q, edges, flow)
                comps.append(c)
                w1.append(wasserstein_1d(r, q))
                if name == "e_tot":
                    _store(hists, f"e_tot/{i}", c)
            valid = [c for c in comps if c is not None]
            summary = _summary(
                valid, [x for x in w1 if x is not None], "calochallenge" if pooled_mode else mode
            )
            summary["per_energy"] = _per_energy_lists(comps, w1)
            metrics[name] = summary
            edges = _edges(ref_all, n_bins, log=log) if len(ref_all) else np.linspace(0, 1, 2)
            _store(hists, f"pooled/{name}", compare_samples(ref_all, gen_all, edges))
            continue
        edges = cc_edges if cc_edges is not None else _edges(ref_all, n_bins, log=log)
        c = compare_samples(ref_all, gen_all, edges, flow)
        summary = _summary(
            [c],
            [wasserstein_1d(ref_all, gen_all)],
            "calochallenge" if cc_edges is not None else "pooled_reference_range",
        )
        summary["per_energy"] = None
        metrics[name] = summary
        _store(hists, f"pooled/{name}", c)
    return metrics, hists


def _point_stats(
    e_tot: npt.NDArray[np.float64], inc: npt.NDArray[np.float64]
) -> tuple[float, float, float, float]:
    """Response, its error, resolution, its error of one energy point."""
    n = len(e_tot)
    ratio = e_tot / inc
    resp = float(ratio.mean())
    resp_err = float(ratio.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    mean = float(e_tot.mean())
    res = float(e_tot.std(ddof=1) / mean) if n > 1 and mean > 0 else float("nan")
    # error of an RMS/mean for a near-Gaussian sample: res / sqrt(2 (n - 1))
    res_err = res / np.sqrt(2.0 * (n - 1)) if n > 1 else float("nan")
    return resp, resp_err, res, float(res_err)


def response_resolution(
    reference_e_tot: npt.NDArray[np.float64],
    reference_inc: npt.NDArray[np.float64],
    generated_e_tot: npt.NDArray[np.float64],
    generated_inc: npt.NDArray[np.float64],
    groups: list[EnergyGroup],
) -> dict[str, dict[str, list[float | None]]]:
    """Response (mean E_tot/E_inc) and resolution (RMS/mean of E_tot) per energy point.

    Returns ``{"response": {...}, "resolution": {...}}``, each with lists over the points:
    ``energy``, ``reference``, ``reference_error``, ``generated``, ``generated_error``,
    ``ratio`` (generated / reference) and ``ratio_error``; ``null`` where a sample has fewer
    than 2 events.
    """
    out: dict[str, dict[str, list[float | None]]] = {}
    keys = ("energy", "reference", "reference_error", "generated", "generated_error", "ratio")
    for what in ("response", "resolution"):
        out[what] = {k: [] for k in (*keys, "ratio_error")}
    for g in groups:
        er, eg = reference_e_tot[g.reference], generated_e_tot[g.generated]
        ok = len(er) > 1 and len(eg) > 1
        stats_r = _point_stats(er, reference_inc[g.reference]) if ok else None
        stats_g = _point_stats(eg, generated_inc[g.generated]) if ok else None
        for j, what in enumerate(("response", "resolution")):
            d = out[what]
            d["energy"].append(g.energy)
            if stats_r is None or stats_g is None:
                for k in (*keys[1:], "ratio_error"):
                    d[k].append(None)
                continue
            vr, sr = stats_r[2 * j], stats_r[2 * j + 1]
            vg, sg = stats_g[2 * j], stats_g[2 * j + 1]
            ratio = vg / vr if vr > 0 else float("nan")
            ratio_err = (
                abs(ratio) * float(np.hypot(sr / vr, sg / vg)) if vr > 0 and vg > 0 else None
            )
            d["reference"].append(vr)
            d["reference_error"].append(sr)
            d["generated"].append(vg)
            d["generated_error"].append(sg)
            d["ratio"].append(ratio)
            d["ratio_error"].append(ratio_err)
    return out
