"""Check a binning against a fine-grained proxy binning on the same hits.

Both binnings voxelise the same hits; per layer the mean energy and the energy centroids in
eta (``r cos alpha``) and phi (``r sin alpha``, mm), computed at voxel centres as CaloChallenge
does, are compared. Coarse voxels shift centroids (a layer without alpha bins puts every
voxel at alpha = 0, so its phi centroid is 0 and its eta centroid is the mean radius): the
differences show how much of that bias a binning carries.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import HitShowers
from ..errors import BinningError
from ..geometry import Binning, Geometry, LayerBinning, require_polar
from .voxelise import hit_slots

__all__ = ["BinningValidation", "LayerComparison", "proxy_binning", "validate_binning"]


def proxy_binning(
    binning: Geometry, step_mm: float = 1.0, step_mm_tile: float = 5.0, n_alpha: int = 64
) -> Binning:
    """A fine binning with the layers and r_max of ``binning``.

    Args:
        binning: the binning to imitate.
        step_mm: radial step in non-Tile layers (mm).
        step_mm_tile: radial step in Tile layers (mm; layers named ``Tile...``).
        n_alpha: alpha bins per layer.

    >>> from fastcalogan.geometry import load_geometry
    >>> p = proxy_binning(load_geometry("ds1-photons"))
    >>> [(lay.n_r, lay.n_alpha) for lay in p.layers]
    [(600, 64), (200, 64), (400, 64), (600, 64), (400, 64)]
    """
    binning = require_polar(binning, "a proxy binning")
    layers = []
    for lay in binning.layers:
        step = step_mm_tile if lay.name.startswith("Tile") else step_mm
        edges = np.arange(0.0, lay.r_max, step)
        if lay.r_max - edges[-1] < 1e-6 * step:  # avoid a sliver bin from float noise
            edges = edges[:-1]
        r_edges = (*edges.tolist(), lay.r_max)
        layers.append(LayerBinning(lay.layer_id, r_edges, n_alpha, name=lay.name))
    return Binning(
        f"{binning.name}-proxy", binning.particle, binning.eta_min, binning.eta_max, tuple(layers)
    )


@dataclass(frozen=True)
class LayerComparison:
    """One layer: binning vs proxy. Energies in MeV (mean per event), centroids in mm.

    ``*_diff`` is binning minus proxy. ``energy_rel_diff`` is relative to the proxy energy;
    ``centroid_*_rel_diff`` relative to the proxy's RMS centroid. ``centroid_*_rms_diff`` is
    the RMS over events of the per-event centroid difference. Centroids average over events
    with energy in the layer in both binnings; NaN when there are none.
    """

    layer_id: int
    name: str
    n_events: int
    energy_binning: float
    energy_proxy: float
    energy_diff: float
    energy_rel_diff: float
    centroid_eta_binning: float
    centroid_eta_proxy: float
    centroid_eta_diff: float
    centroid_eta_rel_diff: float
    centroid_eta_rms_diff: float
    centroid_phi_binning: float
    centroid_phi_proxy: float
    centroid_phi_diff: float
    centroid_phi_rel_diff: float
    centroid_phi_rms_diff: float


def _json_number(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


@dataclass(frozen=True)
class BinningValidation:
    """Result of :func:`validate_binning`.

    Attributes:
        binning, proxy: the names compared. n_events: showers used.
        total_energy_binning, total_energy_proxy: mean voxelised energy per event (MeV).
        total_energy_diff, total_energy_rel_diff: binning minus proxy, and relative to proxy.
        layers: one :class:`LayerComparison` per layer of the binning.
    """

    binning: str
    proxy: str
    n_events: int
    total_energy_binning: float
    total_energy_proxy: float
    total_energy_diff: float
    total_energy_rel_diff: float
    layers: tuple[LayerComparison, ...]

    def layer(self, layer_id: int) -> LayerComparison:
        """The comparison of one layer by sampling id."""
        for lay in self.layers:
            if lay.layer_id == layer_id:
                return lay
        raise BinningError(f"binning {self.binning}: no layer {layer_id} in the validation")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready mapping (NaN becomes null)."""
        d = asdict(self)
        d["layers"] = [{k: _json_number(v) for k, v in lay.items()} for lay in d["layers"]]
        return {k: _json_number(v) for k, v in d.items()}

    def to_text(self) -> str:
        """A short table: one row per layer, energies in MeV, centroids in mm."""
        head = (
            f"{'layer':<16s} {'E_bin':>11s} {'E_proxy':>11s} {'dE/E':>9s} "
            f"{'<eta>_bin':>9s} {'<eta>_prx':>9s} {'d_eta':>8s} {'rms':>7s} "
            f"{'<phi>_bin':>9s} {'<phi>_prx':>9s} {'d_phi':>8s} {'rms':>7s}"
        )
        rows = [
            f"binning {self.binning} vs {self.proxy}, {self.n_events} events; "
            f"total energy {self.total_energy_binning:.6g} vs {self.total_energy_proxy:.6g} MeV "
            f"(rel. diff {self.total_energy_rel_diff:.2e})",
            head,
        ]
        for lay in self.layers:
            rows.append(
                f"{lay.layer_id:>2d} {lay.name:<13s} {lay.energy_binning:11.5g} "
                f"{lay.energy_proxy:11.5g} {lay.energy_rel_diff:9.2e} "
                f"{lay.centroid_eta_binning:9.3f} {lay.centroid_eta_proxy:9.3f} "
                f"{lay.centroid_eta_diff:8.3f} {lay.centroid_eta_rms_diff:7.3f} "
                f"{lay.centroid_phi_binning:9.3f} {lay.centroid_phi_proxy:9.3f} "
                f"{lay.centroid_phi_diff:8.3f} {lay.centroid_phi_rms_diff:7.3f}"
            )
        return "\n".join(rows)


def _layer_moments(
    hits: HitShowers, binning: Binning
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per event and layer: energy, sum E * eta_centre, sum E * phi_centre; each ``(N, L)``.

    Only the hits' slots are needed, not the ``(N, n_voxels)`` matrix, so a proxy with many
    thousand voxels per layer costs no more memory than the hits.
    """
    n_vox, n_layers, n = binning.n_voxels, binning.n_layers, hits.n_events
    slots = hit_slots(hits.layer, hits.r, hits.alpha, binning)
    inside = slots < n_vox
    voxel = slots[inside]
    energy = hits.energy[inside]
    voxel_pos = np.repeat(np.arange(n_layers), np.diff(binning.layer_offsets))
    key = hits.event_id[inside] * n_layers + voxel_pos[voxel]
    size = n * n_layers

    def total(weights: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        sums = np.bincount(key, weights=weights, minlength=size)
        return np.asarray(sums, dtype=np.float64).reshape(n, n_layers)

    return (
        total(energy),
        total(energy * binning.voxel_eta[voxel]),
        total(energy * binning.voxel_phi[voxel]),
    )


def _ratio(num: float, den: float) -> float:
    if den != 0.0:
        return num / den
    return 0.0 if num == 0.0 else math.nan


def _centroids(
    e_b: npt.NDArray[np.float64],
    x_b: npt.NDArray[np.float64],
    e_p: npt.NDArray[np.float64],
    x_p: npt.NDArray[np.float64],
) -> tuple[float, float, float, float, float]:
    """Mean centroids (binning, proxy), mean diff, relative diff, RMS of per-event diffs."""
    both = (e_b > 0) & (e_p > 0)
    if not both.any():
        return (math.nan,) * 5
    c_b = x_b[both] / e_b[both]
    c_p = x_p[both] / e_p[both]
    diff = c_b - c_p
    mean_diff = float(diff.mean())
    scale = float(np.sqrt(np.mean(c_p**2)))
    return (
        float(c_b.mean()),
        float(c_p.mean()),
        mean_diff,
        _ratio(mean_diff, scale),
        float(np.sqrt(np.mean(diff**2))),
    )


def validate_binning(
    hits: HitShowers, binning: Binning, proxy: Binning | None = None
) -> BinningValidation:
    """Compare ``binning`` with a fine proxy binning on the same hits.

    Args:
        hits: hit showers (r mm, alpha rad, layer sampling id, energy MeV).
        binning: the binning to check.
        proxy: the reference binning; default :func:`proxy_binning` (1 mm radial steps, 5 mm
            in Tile layers, 64 alpha bins, same r_max). It must use every layer of ``binning``.

    Returns:
        :class:`BinningValidation` with total energy, energy per layer and eta/phi centroids
        per layer in both binnings and their differences.

    Raises:
        BinningError: the proxy lacks a layer of the binning.
    """
    ref = proxy if proxy is not None else proxy_binning(binning)
    missing = sorted(set(binning.layer_ids) - set(ref.layer_ids))
    if missing:
        raise BinningError(
            f"proxy binning {ref.name} lacks layer(s) {missing} of binning {binning.name}"
        )
    if ref.layer_ids != binning.layer_ids:
        ref = ref.with_layers(binning.layer_ids, name=ref.name)
    e_b, x_b, y_b = _layer_moments(hits, binning)
    e_p, x_p, y_p = _layer_moments(hits, ref)
    n = max(hits.n_events, 1)
    layers = []
    for i, lb in enumerate(binning.layers):
        eb, ep = float(e_b[:, i].sum()) / n, float(e_p[:, i].sum()) / n
        eta = _centroids(e_b[:, i], x_b[:, i], e_p[:, i], x_p[:, i])
        phi = _centroids(e_b[:, i], y_b[:, i], e_p[:, i], y_p[:, i])
        layers.append(
            LayerComparison(
                lb.layer_id,
                lb.name,
                int(((e_b[:, i] > 0) & (e_p[:, i] > 0)).sum()),
                eb,
                ep,
                eb - ep,
                _ratio(eb - ep, ep),
                *eta,
                *phi,
            )
        )
    tb, tp = float(e_b.sum()) / n, float(e_p.sum()) / n
    return BinningValidation(
        binning=binning.name,
        proxy=ref.name,
        n_events=hits.n_events,
        total_energy_binning=tb,
        total_energy_proxy=tp,
        total_energy_diff=tb - tp,
        total_energy_rel_diff=_ratio(tb - tp, tp),
        layers=tuple(layers),
    )
