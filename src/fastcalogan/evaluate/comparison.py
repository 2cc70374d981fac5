"""Binned comparisons per observable and per incident-energy point; response and resolution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data.stats import compare_samples, histogram_counts, reference_edges

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
    uniq = np.unique(x)
    if 0 < len(uniq) <= min(n_bins, 12):
        if len(uniq) == 1:
            pad = 0.5 * max(abs(float(uniq[0])), 1e-3)
            return np.array([uniq[0] - pad, uniq[0] + pad])
        mid = 0.5 * (uniq[1:] + uniq[:-1])
        return np.concatenate([[2 * uniq[0] - mid[0]], mid, [2 * uniq[-1] - mid[-1]]])
    return reference_edges(x, n_bins, log=log)


def compare_observables(
    reference: dict[str, npt.NDArray[np.float64]],
    generated: dict[str, npt.NDArray[np.float64]],
    groups: list[EnergyGroup],
    n_bins: int,
) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.float64]]]:
    """Chi2/NDF and separation power of every observable, per energy point and combined.

    Per energy point both samples are histogrammed on ``n_bins`` bins spanning the
    reference's 0.1-99.9 % quantiles (outliers folded into the outer bins). The combined
    chi2/NDF is sum(chi2) / sum(NDF) over the points; the combined separation power is the
    mean over the points. Points with fewer than 10 events in either sample are skipped
    (``null`` in the per-energy lists).

    Returns:
        ``(metrics, histograms)``: metrics by observable name; histograms for the report:
        ``e_tot/<i>/{edges,reference,generated}`` per energy point ``i`` and
        ``pooled/<name>/{edges,reference,generated}`` over all energies.
    """
    metrics: dict[str, Any] = {}
    hists: dict[str, npt.NDArray[np.float64]] = {}
    for name, ref_all in reference.items():
        gen_all = generated[name]
        chi2s: list[float | None] = []
        seps: list[float | None] = []
        chi2_sum, ndf_sum = 0.0, 0
        for i, g in enumerate(groups):
            r, q = ref_all[g.reference], gen_all[g.generated]
            if len(r) < MIN_EVENTS or len(q) < MIN_EVENTS:
                chi2s.append(None)
                seps.append(None)
                continue
            c = compare_samples(r, q, _edges(r, n_bins))
            chi2s.append(c.chi2.chi2_ndf)
            seps.append(c.separation)
            chi2_sum += c.chi2.chi2
            ndf_sum += c.chi2.ndf
            if name == "e_tot":
                hists[f"e_tot/{i}/edges"] = c.edges
                hists[f"e_tot/{i}/reference"] = c.reference
                hists[f"e_tot/{i}/generated"] = c.generated
        valid = [s for s in seps if s is not None]
        metrics[name] = {
            "chi2_ndf": chi2_sum / ndf_sum if ndf_sum else None,
            "separation": float(np.mean(valid)) if valid else None,
            "per_energy": {"chi2_ndf": chi2s, "separation": seps},
        }
        log = name.startswith(LOG_BINNED)
        edges = _edges(ref_all, n_bins, log=log) if len(ref_all) else np.linspace(0, 1, 2)
        hists[f"pooled/{name}/edges"] = edges
        hists[f"pooled/{name}/reference"] = histogram_counts(ref_all, edges)
        hists[f"pooled/{name}/generated"] = histogram_counts(gen_all, edges)
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
