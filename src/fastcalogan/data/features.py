"""High-level shower features: one row of physics observables per event.

These feed the Frechet and kernel physics distances (FPD, KPD) and the classifier test on
high-level features, and they are the per-event observables the evaluation histograms.

Two feature sets (:data:`FEATURE_SETS`): ``"fastcalogan"`` (:func:`feature_matrix`: energies
over E_inc, centroids, widths and the CaloGAN depth variables) and ``"calochallenge"``
(:func:`calochallenge_features`: the CaloChallenge evaluator's high-level set, so FPD/KPD
and classifier numbers can stand beside the published ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from ..geometry import LAYER_NAMES, Geometry, get_particle
from . import observables as obs

__all__ = [
    "CALOCHALLENGE_THRESHOLD_MEV",
    "FEATURE_SETS",
    "FeatureSet",
    "calochallenge_edges",
    "calochallenge_features",
    "feature_matrix",
    "feature_set",
    "high_level_features",
    "observable_table",
]

#: The feature sets :func:`feature_set` builds.
FeatureSet = Literal["fastcalogan", "calochallenge"]
FEATURE_SETS: tuple[FeatureSet, ...] = get_args(FeatureSet)
#: Voxels below this (MeV) are zeroed by the CaloChallenge evaluator for dataset 1
#: (``min_energy`` of its ``evaluate.py``) before any feature is computed.
CALOCHALLENGE_THRESHOLD_MEV = 1.0


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


def calochallenge_features(
    showers: npt.NDArray[Any],
    incident_energies: npt.ArrayLike,
    binning: Geometry,
    threshold_mev: float = CALOCHALLENGE_THRESHOLD_MEV,
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The CaloChallenge evaluator's high-level features (its ``cls-high``, FPD and KPD input).

    Voxels below ``threshold_mev`` are zeroed first. Columns, in the evaluator's order:
    ``log10 E_inc``; ``log10(E_layer + 1e-8)`` per layer (MeV); centroid and width in eta,
    then in phi, per alpha-binned layer (mm / 100); ``log10(E_tot + 1e-8)``; the fraction of
    *empty* voxels per layer (its "sparsity"); centroid and width in r per layer (mm / 100).
    Reference: CaloChallenge ``code/evaluate.py`` (``prepare_high_data_for_classifier``) and
    ``HighLevelFeatures.py``; Krause et al., arXiv:2410.21611.

    Args:
        showers: ``(n_events, n_voxels)`` MeV.
        incident_energies: ``(n_events,)`` MeV.
        binning: the voxel binning.
        threshold_mev: readout threshold of the evaluator (dataset 1: 1 MeV).

    Returns:
        ``(names, features)``, features of shape ``(n_events, n_features)``.
    """
    inc = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
    s = np.asarray(showers, dtype=np.float64)
    s = np.where(s < threshold_mev, 0.0, s)
    names = list(binning.layer_names)
    alpha_names = [binning.layer(i).name for i in obs.alpha_binned_layers(binning)]
    e_layers = obs.layer_energies(s, binning)
    moments = obs.layer_moments(s, binning)
    empty = 1.0 - obs.sparsity(s, binning)
    cols: list[tuple[str, npt.NDArray[np.float64]]] = [("log10_e_inc", np.log10(inc))]
    cols += [(f"log10_e_layer_{n}", np.log10(e_layers[:, j] + 1e-8)) for j, n in enumerate(names)]
    for key in ("centroid_eta", "centroid_phi", "width_eta", "width_phi"):
        cols += [
            (f"{key}_{n}/100mm", moments[key][:, j] / 100.0) for j, n in enumerate(alpha_names)
        ]
    cols.append(("log10_e_tot", np.log10(e_layers.sum(axis=1) + 1e-8)))
    cols += [(f"empty_fraction_{n}", empty[:, j]) for j, n in enumerate(names)]
    for key in ("centroid_r", "width_r"):
        cols += [(f"{key}_{n}/100mm", moments[key][:, j] / 100.0) for j, n in enumerate(names)]
    return [c[0] for c in cols], np.stack([c[1] for c in cols], axis=1)


def feature_set(
    name: FeatureSet,
    showers: npt.NDArray[Any],
    incident_energies: npt.ArrayLike,
    binning: Geometry,
    table: dict[str, npt.NDArray[np.float64]] | None = None,
) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The features of set ``name`` (:data:`FEATURE_SETS`), ``(names, (n_events, n_features))``.

    Args:
        name: ``"fastcalogan"`` (:func:`feature_matrix`) or ``"calochallenge"``
            (:func:`calochallenge_features`).
        showers: ``(n_events, n_voxels)`` MeV.
        incident_energies: ``(n_events,)`` MeV.
        binning: the voxel binning.
        table: an :func:`observable_table` of these showers, if already computed.
    """
    if name == "calochallenge":
        return calochallenge_features(showers, incident_energies, binning)
    if name != "fastcalogan":
        raise ValueError(f"feature set must be one of {list(FEATURE_SETS)}, found {name!r}")
    if table is None:
        table = observable_table(showers, incident_energies, binning)
    return feature_matrix(table, incident_energies, binning)


_LAYER_IDS = {name: lid for lid, name in LAYER_NAMES.items()}


def calochallenge_edges(
    name: str,
    reference: npt.ArrayLike,
    particle: str,
    energy: float | None = None,
) -> npt.NDArray[np.float64] | None:
    """The CaloChallenge evaluator's fixed bin edges for an observable of dataset 1.

    From its ``evaluate_plotting_helper.py`` (Krause et al., arXiv:2410.21611): E_tot/E_inc
    pooled over all energies on 0.5-1.5 (100 bins), and per incident-energy point on 0.4-1.4
    (20 bins; photons from 4 GeV on 0.9-1.1); layer energies on 39 log bins from the 1 MeV
    threshold to the reference's maximum; centroids in eta and phi on +-100 mm (TileBar0 and
    1: +-500), their widths on 0-100 mm (0-400), centroids and widths in r on 0-500 mm
    (Tile layers: 0-1500), each in 100 bins; sparsity on 0-1 (20 bins). Entries outside
    are left out by the evaluator.

    Args:
        name: observable name of :func:`observable_table` (``response``, ``e_layer_EMB2``,
            ``centroid_eta_EMB1``, ...); ``e_tot`` takes the per-point E_tot/E_inc edges,
            scaled by ``energy``.
        reference: the reference values (for the log ranges that end at its maximum).
        particle: the particle (photon binnings differ at high energy).
        energy: the incident energy of a per-point comparison (MeV), else ``None``.

    Returns:
        The edges, or ``None`` for observables the evaluator does not histogram.

    >>> calochallenge_edges("response", [0.9], "photon")[[0, -1]].tolist()
    [0.5, 1.5]
    >>> calochallenge_edges("centroid_r_TileBar1", [1.0], "pion")[-1]
    np.float64(1500.0)
    """
    em = get_particle(particle).shower == "em"
    ref = np.asarray(reference, dtype=np.float64).reshape(-1)
    if name in ("response", "e_tot"):
        if energy is None:
            return np.linspace(0.5, 1.5, 101) if name == "response" else None
        lo, hi = (0.9, 1.1) if em and energy >= 4096.0 else (0.4, 1.4)
        scale = float(energy) if name == "e_tot" else 1.0
        return np.linspace(lo, hi, 21) * scale
    prefix, _, layer = name.rpartition("_")
    lid = _LAYER_IDS.get(layer)
    if lid is None:
        return None
    if prefix == "e_layer":
        top = float(ref.max()) if ref.size and ref.max() > CALOCHALLENGE_THRESHOLD_MEV else 10.0
        return np.logspace(np.log10(CALOCHALLENGE_THRESHOLD_MEV), np.log10(top), 40)
    if prefix == "sparsity":
        return np.linspace(0.0, 1.0, 21)
    tile = lid in (12, 13)
    limits = {
        "centroid_eta": (-500.0, 500.0) if tile else (-100.0, 100.0),
        "centroid_phi": (-500.0, 500.0) if tile else (-100.0, 100.0),
        "width_eta": (0.0, 400.0) if tile else (0.0, 100.0),
        "width_phi": (0.0, 400.0) if tile else (0.0, 100.0),
        "centroid_r": (0.0, 1500.0) if lid in (12, 13, 14) else (0.0, 500.0),
        "width_r": (0.0, 1500.0) if lid in (12, 13, 14) else (0.0, 500.0),
    }.get(prefix)
    if limits is None:
        return None
    return np.linspace(*limits, 101)
