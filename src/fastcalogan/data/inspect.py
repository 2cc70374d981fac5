"""Per-energy-point summaries of shower and hit files (what ``fastcalogan inspect`` prints)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..geometry import Geometry, default_layer_names
from .hits import HitShowers
from .observables import layer_energies
from .showers import ShowerData

__all__ = ["energy_points", "summarise_hits", "summarise_showers"]


def energy_points(
    incident_energies: npt.NDArray[np.float64], max_points: int = 64
) -> list[tuple[float, npt.NDArray[np.bool_]]]:
    """Group events by incident energy: discrete points, or log bins for continuous spectra.

    Returns ``(energy, mask)`` pairs sorted by energy (bin centre for continuous spectra).
    """
    e = np.asarray(incident_energies, dtype=np.float64)
    values = np.unique(e)
    if len(values) <= max_points:
        return [(float(v), e == v) for v in values]
    edges = np.geomspace(e.min(), e.max() * (1 + 1e-12), 16)
    idx = np.clip(np.searchsorted(edges, e, side="right") - 1, 0, len(edges) - 2)
    return [
        (float(np.sqrt(edges[i] * edges[i + 1])), idx == i)
        for i in range(len(edges) - 1)
        if np.any(idx == i)
    ]


def _summary(
    inc: npt.NDArray[np.float64], e_layers: npt.NDArray[np.float64], names: list[str]
) -> dict[str, Any]:
    total = e_layers.sum(axis=1)
    points = []
    for energy, mask in energy_points(inc):
        ratio = total[mask] / inc[mask]
        lt = e_layers[mask].sum(axis=1, keepdims=True)
        frac = np.divide(e_layers[mask], lt, out=np.zeros_like(e_layers[mask]), where=lt > 0)
        points.append(
            {
                "energy": energy,
                "events": int(mask.sum()),
                "response": float(ratio.mean()),
                "resolution": float(total[mask].std() / total[mask].mean())
                if total[mask].mean() > 0
                else float("nan"),
                "layer_fractions": frac.mean(axis=0).tolist(),
            }
        )
    return {
        "n_events": len(inc),
        "n_points": len(points),
        "layer_names": names,
        "points": points,
    }


def summarise_showers(data: ShowerData, binning: Geometry) -> dict[str, Any]:
    """Events, response, resolution and mean layer fractions per energy point.

    Files with per-event conditions also get ``conditions``: per condition its name, min,
    mean and max.
    """
    out = _summary(
        data.incident_energies,
        layer_energies(data.showers, binning),
        list(binning.layer_names),
    )
    out["n_voxels"] = binning.n_voxels
    cond = np.asarray(data.conditions)
    if data.n_conditions and cond.shape[0]:
        out["conditions"] = [
            {
                "name": name,
                "min": float(cond[:, j].min()),
                "mean": float(cond[:, j].mean()),
                "max": float(cond[:, j].max()),
            }
            for j, name in enumerate(data.condition_names)
        ]
    return out


def summarise_hits(hits: HitShowers) -> dict[str, Any]:
    """The same summary from hits, with the layers present in the file.

    Layers are named by :func:`~fastcalogan.geometry.default_layer_names` (ATLAS names when
    every id is an ATLAS sampling id).
    """
    ids = np.unique(hits.layer).astype(int)
    pos = np.searchsorted(ids, hits.layer)
    e_layers = np.zeros((hits.n_events, len(ids)))
    np.add.at(e_layers, (hits.event_id, pos), hits.energy)
    out = _summary(hits.incident_energies, e_layers, list(default_layer_names(ids)))
    out["mean_hits"] = hits.n_hits / max(1, hits.n_events)
    return out
