"""High-level shower features: one row of physics observables per event.

These feed the Frechet and kernel physics distances (FPD, KPD) and the classifier test on
high-level features, and they are the per-event observables the evaluation histograms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..geometry import Geometry
from . import observables as obs

__all__ = ["feature_matrix", "high_level_features", "observable_table"]


def observable_table(
    showers: npt.NDArray[Any], incident_energies: npt.ArrayLike, binning: Geometry
) -> dict[str, npt.NDArray[np.float64]]:
    """Every scalar observable of every shower, by name; each value has shape ``(n_events,)``.

    Names (``L`` is the layer name, e.g. ``EMB2`` or ``layer 7``): ``e_tot`` (MeV), ``response``
    (E_tot/E_inc), ``e_layer_L`` (MeV), ``fraction_L``, ``centroid_r_L`` and ``width_r_L``
    (mm), ``sparsity_L``, ``e_ratio_hottest_L``, ``lateral_width_L`` (mm); for layers that
    resolve the transverse position (polar: alpha-binned) ``centroid_eta_L``,
    ``centroid_phi_L``, ``width_eta_L``, ``width_phi_L`` (mm); and
    ``deepest_layer``, ``depth_weighted_energy`` (MeV), ``shower_depth``,
    ``shower_depth_width`` (layer positions).

    Args:
        showers: ``(n_events, n_voxels)`` MeV.
        incident_energies: ``(n_events,)`` MeV.
        binning: the geometry of ``showers`` (any kind).
    """
    names = list(binning.layer_names)
    alpha_names = [binning.layer(i).name for i in obs.alpha_binned_layers(binning)]
    e_layers = obs.layer_energies(showers, binning)
    out: dict[str, npt.NDArray[np.float64]] = {
        "e_tot": e_layers.sum(axis=1),
        "response": obs.response(showers, incident_energies),
    }
    moments = obs.layer_moments(showers, binning)
    per_layer: list[tuple[str, list[str], Callable[[], npt.NDArray[Any]]]] = [
        ("e_layer", names, lambda: e_layers),
        ("fraction", names, lambda: obs.layer_fractions(showers, binning)),
        ("centroid_r", names, lambda: moments["centroid_r"]),
        ("width_r", names, lambda: moments["width_r"]),
        ("sparsity", names, lambda: obs.sparsity(showers, binning)),
        ("e_ratio_hottest", names, lambda: obs.energy_ratio_hottest(showers, binning)),
        ("lateral_width", names, lambda: moments["lateral_width"]),
        ("centroid_eta", alpha_names, lambda: moments["centroid_eta"]),
        ("centroid_phi", alpha_names, lambda: moments["centroid_phi"]),
        ("width_eta", alpha_names, lambda: moments["width_eta"]),
        ("width_phi", alpha_names, lambda: moments["width_phi"]),
    ]
    for prefix, cols, compute in per_layer:
        if not cols:
            continue
        table = compute()
        for j, col in enumerate(cols):
            out[f"{prefix}_{col}"] = np.asarray(table[:, j], dtype=np.float64)
    filled = e_layers > 0
    last = e_layers.shape[1] - 1 - np.argmax(filled[:, ::-1], axis=1)
    out["deepest_layer"] = np.where(filled.any(axis=1), last, 0).astype(np.float64)
    depth = np.arange(e_layers.shape[1], dtype=np.float64)
    out["depth_weighted_energy"] = e_layers @ depth
    out["shower_depth"], out["shower_depth_width"] = obs._moments(e_layers, depth)
    return out


def high_level_features(
    showers: npt.NDArray[Any], incident_energies: npt.ArrayLike, binning: Geometry
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The feature set for FPD, KPD and the high-level classifier.

    Columns: ``log10_e_inc`` (log10 MeV), ``response``, ``e_layer_L / E_inc`` per layer,
    ``centroid_eta_L``, ``centroid_phi_L``, ``width_eta_L``, ``width_phi_L`` per alpha-binned
    layer, ``centroid_r_L``, ``width_r_L`` per layer, ``shower_depth``, ``shower_depth_width``
    (the CaloChallenge high-level set plus the CaloGAN depth variables).

    Returns:
        ``(names, features)`` with ``features`` of shape ``(n_events, n_features)``.
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    table = observable_table(showers, inc, binning)
    return feature_matrix(table, inc, binning)


def feature_matrix(
    table: dict[str, npt.NDArray[np.float64]], incident_energies: npt.ArrayLike, binning: Geometry
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Assemble :func:`high_level_features` from an :func:`observable_table` already computed."""
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    names = list(binning.layer_names)
    alpha_names = [binning.layer(i).name for i in obs.alpha_binned_layers(binning)]
    cols: list[tuple[str, npt.NDArray[np.float64]]] = [
        ("log10_e_inc", np.log10(inc)),
        ("response", table["response"]),
    ]
    cols += [(f"e_layer_{n}/e_inc", table[f"e_layer_{n}"] / inc) for n in names]
    for prefix in ("centroid_eta", "centroid_phi", "width_eta", "width_phi"):
        cols += [(f"{prefix}_{n}", table[f"{prefix}_{n}"]) for n in alpha_names]
    for prefix in ("centroid_r", "width_r"):
        cols += [(f"{prefix}_{n}", table[f"{prefix}_{n}"]) for n in names]
    cols += [("shower_depth", table["shower_depth"])]
    cols += [("shower_depth_width", table["shower_depth_width"])]
    if not cols or inc.size == 0:
        return [c[0] for c in cols], np.zeros((inc.size, len(cols)))
    return [c[0] for c in cols], np.stack([c[1] for c in cols], axis=1)
