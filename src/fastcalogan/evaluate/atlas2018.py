"""The ATLAS 2018 photon study's figures of merit (ATL-SOFT-PUB-2018-001), as a suite.

For files of the ``atlas-cells`` geometry (266 cells around the impact cell):

* the energy in the middle layer (EMB2), over the photon energy, per energy point;
* the shower depth ``sum_i E_i d_i / E_tot`` with ``d_i`` the layers' depths (mm from the
  front face, the geometry's ``depth_mm``), per energy point;
* the total energy over the photon energy per energy point, its mean (the response) and its
  resolution (RMS / mean of E_tot);
* the mean lateral profiles in eta and in phi of every layer: the mean cell energy over the
  photon energy summed along the other direction, in bins of one cell around the impact
  cell, pooled over the energy points with equal weight per point.

Every distribution gets a chi2: the binned two-sample chi2 (with under- and overflow bins)
summed over the energy points for the histograms, and ``sum (m_ref - m_gen)^2 / (s_ref^2 +
s_gen^2)`` over the bins for the mean profiles (``s``: standard errors of the means).
``metrics["chi2"]`` holds one entry per distribution; ``fastcalogan compare`` puts those of
several models side by side.

Why cell-wide bins make the profiles "around the impact point" without per-event shifts:
the alignments place the impact cell's centre at most 3/8 of a cell from the centre of the
presampler and strip windows in phi (a quarter of a 2pi/64 cell per alignment step) and 1/4
of a cell from the centre of the back window in eta; every cell's offset from the impact
cell therefore falls in the bin of its own index.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import ShowerData, compare_samples, layer_energies, reference_edges
from ..geometry import CartesianLayer, Geometry, load_geometry
from .comparison import MIN_EVENTS, energy_groups
from .suites import Suite, SuiteResult, register_suite

__all__ = ["Atlas2018Suite", "lateral_profiles", "profile_chi2", "shower_depth_mm"]

F64 = npt.NDArray[np.float64]

#: Histogram bins of the per-energy distributions.
N_BINS = 30


def shower_depth_mm(showers: npt.NDArray[Any], geometry: Geometry) -> F64:
    """``sum_i E_i d_i / E_tot`` per shower (mm), ``(n_events,)``; NaN for an empty shower.

    Args:
        showers: ``(n_events, n_voxels)``, MeV.
        geometry: with a ``depth_mm`` on every layer.

    >>> from fastcalogan.geometry import load_geometry
    >>> g = load_geometry("atlas-cells")
    >>> s = np.zeros((1, 266)); s[0, 21] = 1.0; s[0, 189] = 1.0  # one cell in EMB1, one in EMB2
    >>> shower_depth_mm(s, g).tolist()  # (122 + 314) / 2
    [218.0]
    """
    depths = geometry.layer_depths_mm
    if depths is None:
        raise ValueError(f"geometry {geometry.name} has no layer depths")
    e = layer_energies(showers, geometry)
    total = e.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((e @ np.asarray(depths, dtype=np.float64)) / total, dtype=np.float64)


def lateral_profiles(
    showers: npt.NDArray[Any], incident_energies: npt.ArrayLike, geometry: Geometry, layer_id: int
) -> tuple[F64, F64]:
    """Per-shower profiles of one layer in eta and in phi, cells over the photon energy.

    Returns:
        ``(eta_profile (n_events, n_eta), phi_profile (n_events, n_phi))``: the layer's
        image summed over phi, and over eta, divided by the incident energy.
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1, 1, 1)
    images = np.asarray(geometry.layer_images(showers, layer_id), dtype=np.float64) / inc
    return images.sum(axis=2), images.sum(axis=1)


def profile_chi2(
    reference_mean: F64, reference_error: F64, generated_mean: F64, generated_error: F64
) -> tuple[float, int]:
    """``(chi2, ndf)`` of two mean profiles: ``sum (m_r - m_g)^2 / (s_r^2 + s_g^2)``.

    Bins where both errors vanish (empty in both samples) are left out.

    >>> chi2, ndf = profile_chi2(np.array([1.0, 0.0]), np.array([0.1, 0.0]),
    ...                          np.array([1.2, 0.0]), np.array([0.1, 0.0]))
    >>> round(chi2, 9), ndf
    (2.0, 1)
    """
    var = reference_error**2 + generated_error**2
    ok = var > 0
    return float(np.sum((reference_mean[ok] - generated_mean[ok]) ** 2 / var[ok])), int(ok.sum())


def _gev(energy_mev: float) -> str:
    gev = energy_mev / 1000.0
    return f"{gev:03.0f} GeV" if abs(gev - round(gev)) < 1e-6 else f"{gev:07.3f} GeV"


def _pooled(profiles: list[F64]) -> tuple[F64, F64]:
    """Mean over energy points (equal weights) of per-point means, and its standard error."""
    means = np.stack([p.mean(axis=0) for p in profiles])
    sems = np.stack([p.std(axis=0, ddof=1) / np.sqrt(len(p)) for p in profiles])
    k = len(profiles)
    return means.mean(axis=0), np.sqrt((sems**2).sum(axis=0)) / k


def _mean_error(values: F64) -> tuple[float, float]:
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def _resolution(e_tot: F64) -> tuple[float, float]:
    """RMS / mean of E_tot and its error ``res / sqrt(2 (n - 1))`` (near-Gaussian sample)."""
    mean = float(e_tot.mean())
    res = float(e_tot.std(ddof=1) / mean) if mean > 0 else float("nan")
    return res, res / float(np.sqrt(2.0 * (len(e_tot) - 1)))


class Atlas2018Suite(Suite):
    """The figures of merit of ATL-SOFT-PUB-2018-001 on the ``atlas-cells`` geometry."""

    name = "atlas-2018"
    title = "ATLAS 2018 photon study: middle-layer energy, shower depth, response, lateral profiles"
    note = (
        "The figures of merit of ATL-SOFT-PUB-2018-001 on the 266 cells around the impact cell. "
        "Per energy point: the middle-layer (EMB2) energy and the total energy over the photon "
        "energy, and the shower depth sum_i E_i d_i / E_tot (d_i: layer depths, mm); the "
        "table gives the response and resolution (RMS/mean of E_tot) per point. Lateral "
        "profiles: mean cell energy over the photon energy summed along the other direction, in "
        "bins of one cell around the impact cell, averaged over the energy points; their panels "
        "show the shapes (each normalised to unit area, with counting errors that do not apply), "
        "their chi2 compares the mean profiles with their standard errors. chi2 of histograms: "
        "binned two-sample chi2 with under/overflow bins, summed over the energy points."
    )

    def applies(self, geometry: Geometry, attrs: Mapping[str, Any]) -> bool:
        """Files of the ``atlas-cells`` cells (any name or labels)."""
        return geometry.kind == "cartesian" and geometry.same_voxels(load_geometry("atlas-cells"))

    def compute(
        self,
        reference: ShowerData,
        generated: ShowerData,
        geometry: Geometry,
        rng: np.random.Generator,
    ) -> SuiteResult:
        """Histograms per energy point, mean profiles, and the chi2 of every distribution."""
        inc_r = reference.incident_energies.reshape(-1).astype(np.float64)
        inc_g = generated.incident_energies.reshape(-1).astype(np.float64)
        groups = [
            g
            for g in energy_groups(inc_r, inc_g)
            if g.reference.sum() >= MIN_EVENTS and g.generated.sum() >= MIN_EVENTS
        ]
        middle_pos = geometry.layer_position(2)
        le_r = layer_energies(reference.showers, geometry)
        le_g = layer_energies(generated.showers, geometry)
        observables = {
            "E_mid/E_inc": (le_r[:, middle_pos] / inc_r, le_g[:, middle_pos] / inc_g),
            "E_tot/E_inc": (le_r.sum(axis=1) / inc_r, le_g.sum(axis=1) / inc_g),
            "depth": (
                shower_depth_mm(reference.showers, geometry),
                shower_depth_mm(generated.showers, geometry),
            ),
        }
        labels_of = {
            "E_mid/E_inc": r"$E_\mathrm{EMB2}/E_\mathrm{inc}$",
            "E_tot/E_inc": r"$E_\mathrm{tot}/E_\mathrm{inc}$",
            "depth": r"shower depth $\sum_i E_i d_i/E_\mathrm{tot}$ [mm]",
        }
        names = {
            "E_mid/E_inc": "middle-layer energy",
            "E_tot/E_inc": "total energy",
            "depth": "shower depth",
        }
        hists: dict[str, F64] = {}
        labels: dict[str, str] = {}
        chi2: dict[str, dict[str, float]] = {}
        per_energy: dict[str, Any] = {"energy_mev": [g.energy for g in groups]}
        rows: list[list[Any]] = []
        means: dict[str, list[tuple[float, float, float, float]]] = {}
        for obs, (r_all, g_all) in observables.items():
            total, ndf, n_r, n_g = 0.0, 0, 0.0, 0.0
            point: dict[str, list[float]] = {"chi2": [], "ndf": [], "chi2_ndf": []}
            means[obs] = []
            for grp in groups:
                r = r_all[grp.reference]
                g = g_all[grp.generated]
                r, g = r[np.isfinite(r)], g[np.isfinite(g)]
                c = compare_samples(r, g, reference_edges(r, N_BINS))
                key = f"{obs} {_gev(grp.energy)}"
                hists[f"{key}/edges"] = c.edges
                hists[f"{key}/reference"] = c.reference
                hists[f"{key}/generated"] = c.generated
                hists[f"{key}/reference_flow"] = c.reference_flow
                hists[f"{key}/generated_flow"] = c.generated_flow
                labels[key] = labels_of[obs]
                total += c.chi2.chi2
                ndf += c.chi2.ndf
                n_r += c.chi2.n_reference
                n_g += c.chi2.n_generated
                point["chi2"].append(c.chi2.chi2)
                point["ndf"].append(c.chi2.ndf)
                point["chi2_ndf"].append(c.chi2.chi2_ndf)
                means[obs].append((*_mean_error(r), *_mean_error(g)))
            per_energy[names[obs]] = point
            chi2[names[obs]] = _chi2_entry(total, ndf, n_r, n_g)

        profiles: dict[str, Any] = {}
        for layer in geometry.layers:
            if not isinstance(layer, CartesianLayer):  # pragma: no cover - applies() checked
                continue
            per_r = [
                lateral_profiles(
                    reference.showers[g.reference], inc_r[g.reference], geometry, layer.layer_id
                )
                for g in groups
            ]
            per_g = [
                lateral_profiles(
                    generated.showers[g.generated], inc_g[g.generated], geometry, layer.layer_id
                )
                for g in groups
            ]
            for axis, (edges, label) in enumerate(
                ((layer.eta_edges(), "eta"), (layer.phi_edges(), "phi"))
            ):
                if len(edges) < 3:  # one cell: no profile
                    continue
                m_r, s_r = _pooled([p[axis] for p in per_r])
                m_g, s_g = _pooled([p[axis] for p in per_g])
                c2, nd = profile_chi2(m_r, s_r, m_g, s_g)
                key = f"profile {layer.name} {label}"
                n_ref = float(sum(g.reference.sum() for g in groups))
                n_gen = float(sum(g.generated.sum() for g in groups))
                hists[f"{key}/edges"] = np.asarray(edges, dtype=np.float64)
                # an energy-weighted histogram of cell positions (sum over events), whose
                # normalised shape is the mean profile's
                hists[f"{key}/reference"] = m_r * n_ref
                hists[f"{key}/generated"] = m_g * n_gen
                hists[f"{key}/reference_mean"] = m_r
                hists[f"{key}/generated_mean"] = m_g
                hists[f"{key}/reference_error"] = s_r
                hists[f"{key}/generated_error"] = s_g
                labels[key] = (
                    f"{label} distance from the impact cell [mm] ({layer.name}, one bin per cell)"
                )
                chi2[key] = _chi2_entry(c2, nd, n_ref, n_gen)
                profiles[key] = {
                    "edges_mm": edges.tolist(),
                    "reference": m_r.tolist(),
                    "reference_error": s_r.tolist(),
                    "generated": m_g.tolist(),
                    "generated_error": s_g.tolist(),
                }

        response, resolution = _response_tables(groups, observables["E_tot/E_inc"], inc_r, inc_g)
        for obs in ("E_mid/E_inc", "depth"):
            for grp, (mr, er, mg, eg) in zip(groups, means[obs], strict=True):
                rows.append(_row(f"{names[obs]} (mean)", grp.energy, mr, er, mg, eg, None))
        for what, table, chi2_ndf in (
            ("response <E_tot/E_inc>", response, per_energy["total energy"]["chi2_ndf"]),
            ("resolution RMS/mean of E_tot", resolution, None),
        ):
            for j, grp in enumerate(groups):
                rows.append(
                    _row(
                        what,
                        grp.energy,
                        table["reference"][j],
                        table["reference_error"][j],
                        table["generated"][j],
                        table["generated_error"][j],
                        None if chi2_ndf is None else chi2_ndf[j],
                    )
                )
        for name, entry in chi2.items():
            rows.append([f"chi2 of {name}", "all", "", "", _fmt_chi2(entry)])
        return SuiteResult(
            metrics={
                "chi2": chi2,
                "per_energy": per_energy,
                "response": response,
                "resolution": resolution,
                "profiles": profiles,
            },
            histograms=hists,
            labels=labels,
            table={
                "header": ["quantity", "E", "reference", "generated", "chi2/NDF (NDF)"],
                "rows": rows,
            },
        )


def _chi2_entry(chi2: float, ndf: int, n_ref: float, n_gen: float) -> dict[str, float]:
    return {
        "chi2": chi2,
        "ndf": ndf,
        "chi2_ndf": chi2 / ndf if ndf > 0 else float("nan"),
        "n_reference": n_ref,
        "n_generated": n_gen,
    }


def _fmt_chi2(entry: Mapping[str, float]) -> str:
    return f"{entry['chi2_ndf']:.3g} ({int(entry['ndf'])})"


def _row(
    what: str,
    energy: float,
    ref: float | None,
    ref_err: float | None,
    gen: float | None,
    gen_err: float | None,
    chi2_ndf: float | None,
) -> list[Any]:
    def pm(v: float | None, e: float | None) -> str:
        return "" if v is None else f"{v:.4g} ± {e:.2g}" if e is not None else f"{v:.4g}"

    return [
        what,
        _gev(energy).lstrip("0") or "0 GeV",
        pm(ref, ref_err),
        pm(gen, gen_err),
        "" if chi2_ndf is None else f"{chi2_ndf:.3g}",
    ]


def _response_tables(
    groups: list[Any], ratio: tuple[F64, F64], inc_r: F64, inc_g: F64
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Response (mean E_tot/E_inc) and resolution (RMS/mean of E_tot) per energy point."""
    keys = ("energy_mev", "reference", "reference_error", "generated", "generated_error")
    response: dict[str, list[float]] = {k: [] for k in keys}
    resolution: dict[str, list[float]] = {k: [] for k in keys}
    for grp in groups:
        r, g = ratio[0][grp.reference], ratio[1][grp.generated]
        for table, (vr, er), (vg, eg) in (
            (response, _mean_error(r), _mean_error(g)),
            (
                resolution,
                _resolution(r * inc_r[grp.reference]),
                _resolution(g * inc_g[grp.generated]),
            ),
        ):
            table["energy_mev"].append(grp.energy)
            table["reference"].append(vr)
            table["reference_error"].append(er)
            table["generated"].append(vg)
            table["generated_error"].append(eg)
    return response, resolution


register_suite(Atlas2018Suite())
