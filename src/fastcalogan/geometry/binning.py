"""The polar geometry kind: voxel binnings in (r, alpha, layer) around the particle direction.

A :class:`Binning` holds, for one particle and one |eta| slice, the used layers in increasing
id, each with its radial edges (mm) and its number of uniform alpha bins over (-pi, pi].
Voxels are flattened as CaloChallenge does: by layer, then alpha (outer), then r (inner)::

    index = layer_offset + alpha_bin * n_r + r_bin

so each layer's image has shape ``(n_alpha, n_r)``. Layer ids are plain integers >= 0; when
every id is an ATLAS sampling id (0..23, as in the dataset-1 binnings) unnamed layers take the
ATLAS names (``EMB2``, ``TileBar0``, ...), otherwise ``layer <id>``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import BinningError
from .layers import default_layer_names
from .protocol import Geometry, GeometryLayer, common_layer_fields

__all__ = ["Binning", "LayerBinning", "require_polar"]


@dataclass(frozen=True)
class LayerBinning(GeometryLayer):
    """Binning of one calorimeter layer in (r, alpha).

    Attributes:
        layer_id: plain integer id >= 0 (ATLAS sampling id in the dataset-1 binnings).
        r_edges: radial bin edges in mm, strictly increasing, starting at 0.
        n_alpha: number of uniform alpha bins over (-pi, pi]; 1 means no alpha binning.
        name, depth_mm, thickness_x0: see :class:`~fastcalogan.geometry.GeometryLayer`.
    """

    r_edges: tuple[float, ...]
    n_alpha: int = 1

    def __post_init__(self) -> None:
        self._check_common()
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

    @property
    def n_r(self) -> int:
        """Number of radial bins."""
        return len(self.r_edges) - 1

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape in voxel order: ``(n_alpha, n_r)``."""
        return (int(self.n_alpha), self.n_r)

    @property
    def r_max(self) -> float:
        """Outer radial edge (mm); energy beyond it is leakage."""
        return float(self.r_edges[-1])

    @property
    def resolves_position(self) -> bool:
        """True with alpha bins (``n_alpha > 1``)."""
        return self.n_alpha > 1

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

    def voxel_eta(self) -> npt.NDArray[np.float64]:
        """``r cos(alpha)`` at the voxel centres (mm), as CaloChallenge defines it."""
        r = np.tile(self.r_centres(), self.n_alpha)
        return r * np.cos(np.repeat(self.alpha_centres(), self.n_r))

    def voxel_phi(self) -> npt.NDArray[np.float64]:
        """``r sin(alpha)`` at the voxel centres (mm)."""
        r = np.tile(self.r_centres(), self.n_alpha)
        return r * np.sin(np.repeat(self.alpha_centres(), self.n_r))

    def voxel_key(self) -> tuple[Any, ...]:
        """``(layer_id, r_edges, n_alpha)``."""
        return (self.layer_id, tuple(float(x) for x in self.r_edges), int(self.n_alpha))

    def to_mapping(self) -> dict[str, Any]:
        """``{id, name, n_alpha, r_edges}`` plus the optional depth keys."""
        return {
            "id": int(self.layer_id),
            "name": self.name,
            "n_alpha": int(self.n_alpha),
            "r_edges": [float(x) for x in self.r_edges],
            **self._extra_mapping(),
        }

    def describe(self) -> str:
        """One line: id, name, radial and alpha bins, voxels, outer edge."""
        return (
            f"  layer {self.layer_id:2d} {self.name:<11s} n_r={self.n_r:2d} "
            f"n_alpha={self.n_alpha:2d} voxels={self.n_voxels:3d} r_max={self.r_max:g} mm"
        )


@dataclass(frozen=True)
class Binning(Geometry):
    """The polar voxel binning of one particle in one |eta| slice.

    Attributes:
        name: short identifier, e.g. ``ds1-photons``.
        particle: particle name the binning was made for.
        eta_min, eta_max: the |eta| slice (both ``None`` when the binning has none).
        layers: used layers, sorted by id.
    """

    kind = "polar"

    layers: tuple[LayerBinning, ...] = ()

    def _default_layer_names(self) -> tuple[str, ...]:
        return default_layer_names(self.layer_ids)

    def layer(self, layer_id: int) -> LayerBinning:
        """The binning of one layer by id."""
        for lay in self.layers:
            if lay.layer_id == layer_id:
                return lay
        raise self._unused(layer_id)

    def voxel_index(
        self, layer_id: int, alpha_bin: npt.ArrayLike, r_bin: npt.ArrayLike
    ) -> npt.NDArray[np.int64]:
        """Flat voxel index of (layer, alpha bin, r bin).

        >>> from fastcalogan.geometry import load_geometry
        >>> int(load_geometry("ds1-photons").voxel_index(1, 0, 0))
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

    # ----- per-voxel bin maps (polar only) -----------------------------------------------------
    @cached_property
    def voxel_alpha_bin(self) -> npt.NDArray[np.int64]:
        """Alpha bin of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate([np.repeat(np.arange(lay.n_alpha), lay.n_r) for lay in self.layers])

    @cached_property
    def voxel_r_bin(self) -> npt.NDArray[np.int64]:
        """Radial bin of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate([np.tile(np.arange(lay.n_r), lay.n_alpha) for lay in self.layers])

    @cached_property
    def voxel_alpha_centre(self) -> npt.NDArray[np.float64]:
        """Alpha mid-point of each voxel in rad, shape ``(n_voxels,)`` (0 without alpha bins)."""
        return np.concatenate([np.repeat(lay.alpha_centres(), lay.n_r) for lay in self.layers])

    @cached_property
    def voxel_r_centre(self) -> npt.NDArray[np.float64]:
        """Radial mid-point of each voxel in mm, shape ``(n_voxels,)``."""
        return np.concatenate([np.tile(lay.r_centres(), lay.n_alpha) for lay in self.layers])

    # ----- construction ------------------------------------------------------------------------
    @classmethod
    def layer_from_mapping(cls, data: Any, where: str) -> LayerBinning:
        """A layer from ``{id, r_edges, n_alpha[, name, depth_mm, thickness_x0]}``."""
        try:
            return LayerBinning(
                int(data["id"]),
                tuple(float(x) for x in data["r_edges"]),
                int(data["n_alpha"]),
                **common_layer_fields(data),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BinningError(
                f"{where}: needs id, r_edges (list of mm) and n_alpha ({err!r})"
            ) from err

    @staticmethod
    def from_layers(
        name: str,
        particle: str,
        eta: Sequence[float] | None,
        layers: Iterable[tuple[int, Sequence[float], int]],
    ) -> Binning:
        """Build a binning from ``(layer_id, r_edges, n_alpha)`` triples (names by default)."""
        return Binning(
            name=name,
            particle=particle,
            eta_min=None if eta is None else float(eta[0]),
            eta_max=None if eta is None else float(eta[1]),
            layers=tuple(
                LayerBinning(int(i), tuple(float(x) for x in edges), int(n))
                for i, edges, n in sorted(layers, key=lambda t: t[0])
            ),
        )


def require_polar(geometry: Geometry, what: str) -> Binning:
    """``geometry`` as a polar :class:`Binning`, or one line saying ``what`` needs one.

    >>> from fastcalogan.geometry import CartesianGeometry, CartesianLayer
    >>> g = CartesianGeometry("grid", "photon", None, None, (CartesianLayer(0, (2, 2), (5, 5)),))
    >>> require_polar(g, "voxelising hits")
    Traceback (most recent call last):
    ...
    fastcalogan.errors.BinningError: geometry grid is cartesian; voxelising hits needs a polar ...
    """
    if not isinstance(geometry, Binning):
        raise BinningError(
            f"geometry {geometry.name} is {geometry.kind}; {what} needs a polar (r, alpha) binning"
        )
    return geometry
