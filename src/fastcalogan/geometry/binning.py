"""Voxel binnings in (r, alpha, layer) around the particle direction.

A :class:`Binning` holds, for one particle and one |eta| slice, the used layers in
increasing sampling id, each with its radial edges (mm) and its number of uniform alpha
bins over (-pi, pi]. Voxels are flattened as CaloChallenge does: by layer, then alpha (outer),
then r (inner)::

    index = layer_offset + alpha_bin * n_r + r_bin
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from ..errors import BinningError
from .layers import layer_name

__all__ = ["Binning", "LayerBinning"]


@dataclass(frozen=True)
class LayerBinning:
    """Binning of one calorimeter layer.

    Attributes:
        layer_id: ATLAS sampling id (0..23).
        r_edges: radial bin edges in mm, strictly increasing, starting at 0.
        n_alpha: number of uniform alpha bins over (-pi, pi]; 1 means no alpha binning.
    """

    layer_id: int
    r_edges: tuple[float, ...]
    n_alpha: int = 1

    def __post_init__(self) -> None:
        edges = np.asarray(self.r_edges, dtype=float)
        where = f"layer {self.layer_id}"
        if edges.ndim != 1 or edges.size < 2:
            raise BinningError(f"{where}: r_edges needs at least 2 edges, found {list(edges)}")
        if not np.all(np.isfinite(edges)) or edges[0] != 0.0:
            raise BinningError(f"{where}: r_edges must start at 0 mm, found {edges[0]}")
        if np.any(np.diff(edges) <= 0):
            raise BinningError(f"{where}: r_edges must increase strictly, found {list(edges)}")
        if int(self.n_alpha) < 1:
            raise BinningError(f"{where}: n_alpha must be >= 1, found {self.n_alpha}")
        layer_name(self.layer_id)  # raises for ids that are no ATLAS sampling

    @property
    def name(self) -> str:
        """ATLAS name of the layer, e.g. ``EMB2``."""
        return layer_name(self.layer_id)

    @property
    def n_r(self) -> int:
        """Number of radial bins."""
        return len(self.r_edges) - 1

    @property
    def n_voxels(self) -> int:
        """Voxels in this layer: ``n_alpha * n_r``."""
        return self.n_alpha * self.n_r

    @property
    def r_max(self) -> float:
        """Outer radial edge (mm); energy beyond it is leakage."""
        return float(self.r_edges[-1])

    def alpha_edges(self) -> npt.NDArray[np.float64]:
        """Alpha bin edges, shape ``(n_alpha + 1,)``, from -pi to pi."""
        return np.linspace(-math.pi, math.pi, self.n_alpha + 1)

    def r_centres(self) -> npt.NDArray[np.float64]:
        """Radial bin mid-points (mm), shape ``(n_r,)``."""
        e = np.asarray(self.r_edges, dtype=float)
        return 0.5 * (e[1:] + e[:-1])

    def alpha_centres(self) -> npt.NDArray[np.float64]:
        """Alpha bin mid-points (rad), shape ``(n_alpha,)``; 0 for a single bin."""
        e = self.alpha_edges()
        return 0.5 * (e[1:] + e[:-1])


@dataclass(frozen=True)
class Binning:
    """The voxel binning of one particle in one |eta| slice.

    Attributes:
        name: short identifier, e.g. ``ds1-photons``.
        particle: particle name the binning was made for.
        eta_min, eta_max: the |eta| slice.
        layers: used layers, sorted by sampling id.
    """

    name: str
    particle: str
    eta_min: float
    eta_max: float
    layers: tuple[LayerBinning, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        ids = [lay.layer_id for lay in self.layers]
        if not ids:
            raise BinningError(f"binning {self.name}: no layer has voxels")
        if ids != sorted(set(ids)):
            raise BinningError(
                f"binning {self.name}: layers must be unique and sorted by id, found {ids}"
            )
        if not (0.0 <= self.eta_min < self.eta_max):
            raise BinningError(
                f"binning {self.name}: need 0 <= eta_min < eta_max, "
                f"found {self.eta_min}..{self.eta_max}"
            )

    # ----- sizes and offsets ---------------------------------------------------------------
    @property
    def layer_ids(self) -> tuple[int, ...]:
        """Sampling ids of the used layers."""
        return tuple(lay.layer_id for lay in self.layers)

    @property
    def n_layers(self) -> int:
        """Number of used layers."""
        return len(self.layers)

    @property
    def n_voxels(self) -> int:
        """Total number of voxels (368 for dataset-1 photons, 533 for pions)."""
        return sum(lay.n_voxels for lay in self.layers)

    @cached_property
    def layer_offsets(self) -> npt.NDArray[np.int64]:
        """First voxel index of each layer plus the end, shape ``(n_layers + 1,)``."""
        return np.concatenate([[0], np.cumsum([lay.n_voxels for lay in self.layers])]).astype(
            np.int64
        )

    def layer(self, layer_id: int) -> LayerBinning:
        """The binning of one layer by sampling id."""
        for lay in self.layers:
            if lay.layer_id == layer_id:
                return lay
        raise BinningError(
            f"binning {self.name}: layer {layer_id} is not used (used: {list(self.layer_ids)})"
        )

    def layer_position(self, layer_id: int) -> int:
        """Position of a sampling id among the used layers."""
        try:
            return self.layer_ids.index(layer_id)
        except ValueError as err:
            raise BinningError(
                f"binning {self.name}: layer {layer_id} is not used (used: {list(self.layer_ids)})"
            ) from err

    def layer_slice(self, layer_id: int) -> slice:
        """Columns of one layer in a ``(n_events, n_voxels)`` shower array."""
        i = self.layer_position(layer_id)
        return slice(int(self.layer_offsets[i]), int(self.layer_offsets[i + 1]))

    def voxel_index(
        self, layer_id: int, alpha_bin: npt.ArrayLike, r_bin: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Flat voxel index of (layer, alpha bin, r bin).

        >>> from fastcalogan.geometry import load_binning
        >>> int(load_binning("ds1-photons").voxel_index(1, 0, 0))
        8
        """
        lay = self.layer(layer_id)
        i = self.layer_position(layer_id)
        a = np.asarray(alpha_bin, dtype=np.int64)
        r = np.asarray(r_bin, dtype=np.int64)
        if np.any((a < 0) | (a >= lay.n_alpha)) or np.any((r < 0) | (r >= lay.n_r)):
            raise BinningError(
                f"binning {self.name}: bin out of range for layer {layer_id} "
                f"(n_alpha={lay.n_alpha}, n_r={lay.n_r})"
            )
        return self.layer_offsets[i] + a * lay.n_r + r

    # ----- per-voxel maps ------------------------------------------------------------------
    @cached_property
    def voxel_layer(self) -> npt.NDArray[np.int64]:
        """Sampling id of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate([np.full(lay.n_voxels, lay.layer_id) for lay in self.layers])

    @cached_property
    def voxel_alpha_bin(self) -> npt.NDArray[np.int64]:
        """Alpha bin of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate([np.repeat(np.arange(lay.n_alpha), lay.n_r) for lay in self.layers])

    @cached_property
    def voxel_r_bin(self) -> npt.NDArray[np.int64]:
        """Radial bin of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate([np.tile(np.arange(lay.n_r), lay.n_alpha) for lay in self.layers])

    @cached_property
    def voxel_r_centre(self) -> npt.NDArray[np.float64]:
        """Radial mid-point of each voxel in mm, shape ``(n_voxels,)``."""
        return np.concatenate([np.tile(lay.r_centres(), lay.n_alpha) for lay in self.layers])

    @cached_property
    def voxel_alpha_centre(self) -> npt.NDArray[np.float64]:
        """Alpha mid-point of each voxel in rad, shape ``(n_voxels,)`` (0 without alpha bins)."""
        return np.concatenate([np.repeat(lay.alpha_centres(), lay.n_r) for lay in self.layers])

    @property
    def voxel_eta(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along eta in mm: ``r cos(alpha)``, as CaloChallenge defines it."""
        return self.voxel_r_centre * np.cos(self.voxel_alpha_centre)

    @property
    def voxel_phi(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along phi in mm: ``r sin(alpha)``."""
        return self.voxel_r_centre * np.sin(self.voxel_alpha_centre)

    # ----- derived binnings ----------------------------------------------------------------
    def with_layers(self, layer_ids: Iterable[int], name: str | None = None) -> Binning:
        """A binning restricted to ``layer_ids`` (e.g. the relevant layers)."""
        keep = sorted(set(int(i) for i in layer_ids))
        for i in keep:
            self.layer(i)
        return Binning(
            name=name or f"{self.name}[{','.join(map(str, keep))}]",
            particle=self.particle,
            eta_min=self.eta_min,
            eta_max=self.eta_max,
            layers=tuple(self.layer(i) for i in keep),
        )

    def describe(self) -> str:
        """One line per layer: id, name, radial bins, alpha bins, voxels."""
        rows = [
            f"{self.name}: {self.particle}, |eta| {self.eta_min:.2f}-{self.eta_max:.2f}, "
            f"{self.n_voxels} voxels"
        ]
        for lay in self.layers:
            rows.append(
                f"  layer {lay.layer_id:2d} {lay.name:<11s} n_r={lay.n_r:2d} "
                f"n_alpha={lay.n_alpha:2d} voxels={lay.n_voxels:3d} r_max={lay.r_max:g} mm"
            )
        return "\n".join(rows)

    def same_voxels(self, other: Binning) -> bool:
        """True when both binnings define identical voxels (names and eta may differ)."""
        return [(lay.layer_id, lay.r_edges, lay.n_alpha) for lay in self.layers] == [
            (lay.layer_id, lay.r_edges, lay.n_alpha) for lay in other.layers
        ]

    @staticmethod
    def from_layers(
        name: str,
        particle: str,
        eta: Sequence[float],
        layers: Iterable[tuple[int, Sequence[float], int]],
    ) -> Binning:
        """Build a binning from ``(layer_id, r_edges, n_alpha)`` triples."""
        return Binning(
            name=name,
            particle=particle,
            eta_min=float(eta[0]),
            eta_max=float(eta[1]),
            layers=tuple(
                LayerBinning(int(i), tuple(float(x) for x in edges), int(n))
                for i, edges, n in sorted(layers, key=lambda t: t[0])
            ),
        )
