"""The Cartesian geometry kind: per-layer rectangular cell grids centred on the particle axis.

Each layer is a grid of ``n_eta x n_phi`` cells of ``size_eta x size_phi`` mm (the two local
transverse directions), flattened row-major: ``index = layer_offset + i_eta * n_phi + i_phi``,
so the layer's image has shape ``(n_eta, n_phi)``. The grid is centred on the particle axis:
cell ``(i, j)`` has its centre at ``((i + 1/2 - n_eta/2) size_eta, (j + 1/2 - n_phi/2)
size_phi)`` mm. Layers have plain integer ids (any number of them) and are named ``layer <id>``
unless named explicitly; each may carry its depth (mm) and thickness (X0).

Examples: the CaloGAN calorimeter (three layers of 3x96, 12x12 and 12x6 cells; Paganini et al.,
PRD 97 (2018) 014021), the ATLAS cells around the impact cell, the LHCb ECAL cells.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import BinningError
from .protocol import Geometry, GeometryLayer, common_layer_fields

__all__ = ["CartesianGeometry", "CartesianLayer"]


@dataclass(frozen=True)
class CartesianLayer(GeometryLayer):
    """One layer of rectangular cells.

    Attributes:
        layer_id: plain integer id >= 0.
        cells: ``(n_eta, n_phi)`` cells, each >= 1; the layer's image shape.
        cell_size_mm: ``(size_eta, size_phi)`` of one cell in mm, each > 0.
        name, depth_mm, thickness_x0: see :class:`~fastcalogan.geometry.GeometryLayer`.
    """

    cells: tuple[int, int]
    cell_size_mm: tuple[float, float]

    def __post_init__(self) -> None:
        self._check_common()
        where = f"layer {self.layer_id}"
        if len(self.cells) != 2 or any(int(n) != n or int(n) < 1 for n in self.cells):
            raise BinningError(
                f"{where}: cells must be two integers >= 1 (n_eta, n_phi), found {self.cells!r}"
            )
        size = np.asarray(self.cell_size_mm, dtype=float)
        if size.shape != (2,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
            raise BinningError(
                f"{where}: cell_size_mm must be two sizes > 0 mm (eta, phi), "
                f"found {self.cell_size_mm!r}"
            )
        object.__setattr__(self, "cells", (int(self.cells[0]), int(self.cells[1])))
        object.__setattr__(self, "cell_size_mm", (float(size[0]), float(size[1])))

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape in voxel order: ``(n_eta, n_phi)``."""
        return self.cells

    @property
    def resolves_position(self) -> bool:
        """True with more than one cell."""
        return self.n_voxels > 1

    def eta_edges(self) -> npt.NDArray[np.float64]:
        """Cell edges along eta in mm, ``(n_eta + 1,)``, centred on 0."""
        n, d = self.cells[0], self.cell_size_mm[0]
        return (np.arange(n + 1, dtype=np.float64) - n / 2) * d

    def phi_edges(self) -> npt.NDArray[np.float64]:
        """Cell edges along phi in mm, ``(n_phi + 1,)``, centred on 0."""
        n, d = self.cells[1], self.cell_size_mm[1]
        return (np.arange(n + 1, dtype=np.float64) - n / 2) * d

    def voxel_eta(self) -> npt.NDArray[np.float64]:
        """Cell-centre position along eta (mm), ``(n_voxels,)``, row-major."""
        e = self.eta_edges()
        return np.repeat(0.5 * (e[1:] + e[:-1]), self.cells[1])

    def voxel_phi(self) -> npt.NDArray[np.float64]:
        """Cell-centre position along phi (mm), ``(n_voxels,)``, row-major."""
        e = self.phi_edges()
        return np.tile(0.5 * (e[1:] + e[:-1]), self.cells[0])

    def voxel_key(self) -> tuple[Any, ...]:
        """``(layer_id, cells, cell_size_mm)``."""
        return (self.layer_id, self.cells, self.cell_size_mm)

    def to_mapping(self) -> dict[str, Any]:
        """``{id, name, cells, cell_size_mm}`` plus the optional depth keys."""
        return {
            "id": int(self.layer_id),
            "name": self.name,
            "cells": list(self.cells),
            "cell_size_mm": list(self.cell_size_mm),
            **self._extra_mapping(),
        }

    def describe(self) -> str:
        """One line: id, name, cells, cell size, voxels and depth if known."""
        depth = f" depth={self.depth_mm:g} mm" if self.depth_mm is not None else ""
        return (
            f"  layer {self.layer_id:2d} {self.name:<11s} cells={self.cells[0]}x{self.cells[1]} "
            f"size={self.cell_size_mm[0]:g}x{self.cell_size_mm[1]:g} mm "
            f"voxels={self.n_voxels:3d}{depth}"
        )


@dataclass(frozen=True)
class CartesianGeometry(Geometry):
    """A detector of rectangular cell grids, one per layer.

    >>> g = CartesianGeometry.from_layers(
    ...     "calogan", "photon", None,
    ...     [(0, (3, 96), (160, 5)), (1, (12, 12), (40, 40)), (2, (12, 6), (40, 80))])
    >>> g.n_voxels, g.layer_shapes[0], g.layer_names
    (504, (3, 96), ('layer 0', 'layer 1', 'layer 2'))
    """

    kind = "cartesian"

    layers: tuple[CartesianLayer, ...] = ()

    def _default_layer_names(self) -> tuple[str, ...]:
        return tuple(f"layer {i}" for i in self.layer_ids)

    def layer(self, layer_id: int) -> CartesianLayer:
        """One layer by id."""
        for lay in self.layers:
            if lay.layer_id == layer_id:
                return lay
        raise self._unused(layer_id)

    @classmethod
    def layer_from_mapping(cls, data: Any, where: str) -> CartesianLayer:
        """A layer from ``{id, cells, cell_size_mm[, name, depth_mm, thickness_x0]}``."""
        try:
            cells = tuple(int(n) for n in data["cells"])
            size = tuple(float(x) for x in data["cell_size_mm"])
            if len(cells) != 2 or len(size) != 2:
                raise ValueError("cells and cell_size_mm take two values each")
            return CartesianLayer(
                int(data["id"]),
                (cells[0], cells[1]),
                (size[0], size[1]),
                **common_layer_fields(data),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise BinningError(
                f"{where}: needs id, cells [n_eta, n_phi] and cell_size_mm [eta, phi] ({err!r})"
            ) from err

    @staticmethod
    def from_layers(
        name: str,
        particle: str,
        eta: Sequence[float] | None,
        layers: Iterable[tuple[int, Sequence[int], Sequence[float]]],
    ) -> CartesianGeometry:
        """Build from ``(layer_id, (n_eta, n_phi), (size_eta, size_phi))`` triples."""
        return CartesianGeometry(
            name=name,
            particle=particle,
            eta_min=None if eta is None else float(eta[0]),
            eta_max=None if eta is None else float(eta[1]),
            layers=tuple(
                CartesianLayer(int(i), (int(c[0]), int(c[1])), (float(s[0]), float(s[1])))
                for i, c, s in sorted(layers, key=lambda t: t[0])
            ),
        )
