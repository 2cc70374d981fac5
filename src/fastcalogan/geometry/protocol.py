"""The geometry protocol: what every later stage may ask of a detector's voxels.

A geometry is a list of layers with plain integer ids (>= 0), sorted by id. Each layer is an
image of voxels with a 2-D shape in voxel order; the showers of one event are the layers'
images flattened row-major and concatenated in layer order, so a shower array has shape
``(n_events, n_voxels)`` and layer ``i`` occupies columns ``layer_offsets[i]:
layer_offsets[i + 1]``.

Every kind places its voxel centres in the plane transverse to the particle, in mm, along two
axes called *eta* and *phi* as CaloChallenge does (the local directions of increasing eta and
phi at the impact point). Stages that only need sizes, slices, names and positions use
:class:`Geometry` and work for every kind; code that needs one kind's binning (voxelising
(r, alpha) hits, say) asks for it by kind and refuses the others in one line.

Kinds: ``polar`` (:class:`~fastcalogan.geometry.Binning`, (r, alpha) bins around the
particle direction) and ``cartesian`` (:class:`~fastcalogan.geometry.CartesianGeometry`,
rectangular cell grids centred on it).
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

from ..errors import BinningError

__all__ = ["Geometry", "GeometryLayer"]


def common_layer_fields(data: Any) -> dict[str, Any]:
    """The optional keys every layer kind reads: ``name``, ``depth_mm``, ``thickness_x0``."""
    out: dict[str, Any] = {}
    if data.get("name") is not None:
        out["name"] = str(data["name"])
    for key in ("depth_mm", "thickness_x0"):
        if data.get(key) is not None:
            out[key] = float(data[key])
    return out


@dataclass(frozen=True)
class GeometryLayer(ABC):
    """One layer of a geometry: an image of voxels.

    Attributes:
        layer_id: plain integer id >= 0 (for ATLAS binnings, the sampling id).
        name: layer name (``EMB2``, ``layer 7``, ...); empty means "name it by the
            geometry's rule" and is filled in when the layer joins a geometry.
        depth_mm: optional depth of the layer centre along the particle direction, mm from the
            calorimeter front face.
        thickness_x0: optional thickness of the layer in radiation lengths.
    """

    layer_id: int
    name: str = field(default="", kw_only=True)
    depth_mm: float | None = field(default=None, kw_only=True)
    thickness_x0: float | None = field(default=None, kw_only=True)

    def _check_common(self) -> None:
        if int(self.layer_id) < 0 or int(self.layer_id) != self.layer_id:
            raise BinningError(f"layer id must be an integer >= 0, found {self.layer_id!r}")
        for key in ("depth_mm", "thickness_x0"):
            value = getattr(self, key)
            if value is not None and not (np.isfinite(value) and value >= 0):
                raise BinningError(
                    f"layer {self.layer_id}: {key} must be a finite number >= 0, found {value!r}"
                )

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int]:
        """The layer's image shape in voxel order (row-major flattening gives its voxels)."""

    @property
    def n_voxels(self) -> int:
        """Voxels in this layer: the product of :attr:`shape`."""
        rows, cols = self.shape
        return rows * cols

    @abstractmethod
    def voxel_eta(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along eta in mm, shape ``(n_voxels,)``, voxel order."""

    @abstractmethod
    def voxel_phi(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along phi in mm, shape ``(n_voxels,)``, voxel order."""

    @property
    @abstractmethod
    def resolves_position(self) -> bool:
        """Whether the layer's voxels tell where the energy sits in the transverse plane.

        False for a polar layer without alpha bins (its centroid is 0 by construction).
        """

    @abstractmethod
    def voxel_key(self) -> tuple[Any, ...]:
        """What defines the voxels (not the name or depth): equal keys, identical voxels."""

    @abstractmethod
    def to_mapping(self) -> dict[str, Any]:
        """The layer in the serialised form (see ``geometry_to_mapping``)."""

    @abstractmethod
    def describe(self) -> str:
        """One line: id, name, bins, voxels."""

    def _extra_mapping(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.depth_mm is not None:
            out["depth_mm"] = float(self.depth_mm)
        if self.thickness_x0 is not None:
            out["thickness_x0"] = float(self.thickness_x0)
        return out


@dataclass(frozen=True)
class Geometry(ABC):
    """The voxels of one detector (or one particle's binning of it) in one |eta| slice.

    Attributes:
        name: short identifier, e.g. ``ds1-photons``.
        particle: particle name the geometry is used for.
        eta_min, eta_max: the |eta| slice, or both ``None`` (a test-beam detector has none).
        layers: the layers, sorted by id, each with at least one voxel.
    """

    #: the kind's name in the serialised form (``polar``, ``cartesian``)
    kind: ClassVar[str] = ""

    name: str
    particle: str
    eta_min: float | None
    eta_max: float | None
    layers: tuple[GeometryLayer, ...] = ()

    def __post_init__(self) -> None:
        ids = [lay.layer_id for lay in self.layers]
        if not ids:
            raise BinningError(f"geometry {self.name}: no layer has voxels")
        if ids != sorted(set(ids)):
            raise BinningError(
                f"geometry {self.name}: layers must be unique and sorted by id, found {ids}"
            )
        if (self.eta_min is None) != (self.eta_max is None):
            raise BinningError(
                f"geometry {self.name}: give both eta_min and eta_max or neither, "
                f"found {self.eta_min}..{self.eta_max}"
            )
        if self.eta_min is not None and self.eta_max is not None:
            if not (0.0 <= self.eta_min < self.eta_max):
                raise BinningError(
                    f"geometry {self.name}: need 0 <= eta_min < eta_max, "
                    f"found {self.eta_min}..{self.eta_max}"
                )
        if any(not lay.name for lay in self.layers):
            defaults = self._default_layer_names()
            named = tuple(
                lay if lay.name else dataclasses.replace(lay, name=defaults[i])
                for i, lay in enumerate(self.layers)
            )
            object.__setattr__(self, "layers", named)
        names = [lay.name for lay in self.layers]
        if len(set(names)) != len(names):
            raise BinningError(f"geometry {self.name}: layer names must be unique, found {names}")

    @abstractmethod
    def _default_layer_names(self) -> tuple[str, ...]:
        """Names of the layers when none is given (one per layer, in order)."""

    # ----- labels ------------------------------------------------------------------------------
    @property
    def eta(self) -> tuple[float, float] | None:
        """The |eta| slice ``(eta_min, eta_max)``, or ``None`` when the geometry has none."""
        if self.eta_min is None or self.eta_max is None:
            return None
        return (float(self.eta_min), float(self.eta_max))

    def relabel(
        self,
        particle: str | None = None,
        eta: tuple[float, float] | None = None,
        name: str | None = None,
    ) -> Self:
        """The same voxels for another particle, |eta| slice or name (``None`` keeps each)."""
        return dataclasses.replace(
            self,
            name=self.name if name is None else name,
            particle=self.particle if particle is None else particle,
            eta_min=self.eta_min if eta is None else float(eta[0]),
            eta_max=self.eta_max if eta is None else float(eta[1]),
        )

    # ----- sizes and offsets -------------------------------------------------------------------
    @property
    def layer_ids(self) -> tuple[int, ...]:
        """Ids of the layers, increasing."""
        return tuple(lay.layer_id for lay in self.layers)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Names of the layers, in layer order."""
        return tuple(lay.name for lay in self.layers)

    @property
    def n_layers(self) -> int:
        """Number of layers."""
        return len(self.layers)

    @property
    def n_voxels(self) -> int:
        """Total number of voxels (368 for dataset-1 photons, 533 for pions)."""
        return sum(lay.n_voxels for lay in self.layers)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """Voxels per layer, in layer order."""
        return tuple(lay.n_voxels for lay in self.layers)

    @property
    def layer_shapes(self) -> tuple[tuple[int, int], ...]:
        """Each layer's image shape in voxel order (polar ``(n_alpha, n_r)``)."""
        return tuple(lay.shape for lay in self.layers)

    @property
    def layer_depths_mm(self) -> tuple[float | None, ...]:
        """Each layer's depth (mm from the front face) where known, else ``None``."""
        return tuple(lay.depth_mm for lay in self.layers)

    @cached_property
    def layer_offsets(self) -> npt.NDArray[np.int64]:
        """First voxel index of each layer plus the end, shape ``(n_layers + 1,)``."""
        return np.concatenate([[0], np.cumsum(self.layer_sizes)]).astype(np.int64)

    @property
    def transverse_layer_ids(self) -> tuple[int, ...]:
        """Ids of the layers whose voxels resolve the transverse position.

        Eta/phi centroids and widths are defined on these layers only (polar: ``n_alpha > 1``,
        as in CaloChallenge; Cartesian: more than one cell).
        """
        return tuple(lay.layer_id for lay in self.layers if lay.resolves_position)

    def _unused(self, layer_id: int) -> BinningError:
        return BinningError(
            f"geometry {self.name}: layer {layer_id} is not used (used: {list(self.layer_ids)})"
        )

    def layer(self, layer_id: int) -> GeometryLayer:
        """One layer by id."""
        for lay in self.layers:
            if lay.layer_id == layer_id:
                return lay
        raise self._unused(layer_id)

    def layer_position(self, layer_id: int) -> int:
        """Position of a layer id among the layers (0, 1, ...)."""
        try:
            return self.layer_ids.index(layer_id)
        except ValueError as err:
            raise self._unused(layer_id) from err

    def layer_slice(self, layer_id: int) -> slice:
        """Columns of one layer in a ``(n_events, n_voxels)`` shower array."""
        i = self.layer_position(layer_id)
        return slice(int(self.layer_offsets[i]), int(self.layer_offsets[i + 1]))

    def layer_shape(self, layer_id: int) -> tuple[int, int]:
        """Image shape of one layer in voxel order."""
        return self.layer(layer_id).shape

    def layer_images(self, showers: npt.ArrayLike, layer_id: int) -> npt.NDArray[Any]:
        """One layer's voxels as images, ``(n_events, *layer_shape(layer_id))``.

        Args:
            showers: ``(n_events, n_voxels)`` in voxel order (or ``(n_voxels,)`` for one).
        """
        s = np.asarray(showers)
        if s.shape[-1] != self.n_voxels:
            raise BinningError(
                f"geometry {self.name}: showers of shape {s.shape} do not have "
                f"{self.n_voxels} voxels"
            )
        block = s[..., self.layer_slice(layer_id)]
        return block.reshape(*s.shape[:-1], *self.layer_shape(layer_id))

    # ----- per-voxel maps ----------------------------------------------------------------------
    @cached_property
    def voxel_layer(self) -> npt.NDArray[np.int64]:
        """Layer id of each voxel, shape ``(n_voxels,)``."""
        return np.concatenate(
            [np.full(lay.n_voxels, lay.layer_id, dtype=np.int64) for lay in self.layers]
        )

    @cached_property
    def voxel_eta(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along eta in mm, shape ``(n_voxels,)``."""
        return np.concatenate([lay.voxel_eta() for lay in self.layers])

    @cached_property
    def voxel_phi(self) -> npt.NDArray[np.float64]:
        """Voxel-centre position along phi in mm, shape ``(n_voxels,)``."""
        return np.concatenate([lay.voxel_phi() for lay in self.layers])

    @cached_property
    def voxel_r_centre(self) -> npt.NDArray[np.float64]:
        """Distance of each voxel centre from the particle axis in mm, shape ``(n_voxels,)``."""
        return np.hypot(self.voxel_eta, self.voxel_phi)

    # ----- derived geometries and comparisons --------------------------------------------------
    def with_layers(self, layer_ids: Iterable[int], name: str | None = None) -> Self:
        """The geometry restricted to ``layer_ids`` (e.g. the relevant layers).

        The name becomes ``<name>[i,j,...]`` unless given; layers keep their names.
        """
        keep = sorted(set(int(i) for i in layer_ids))
        layers = tuple(self.layer(i) for i in keep)
        return dataclasses.replace(
            self, name=name or f"{self.name}[{','.join(map(str, keep))}]", layers=layers
        )

    def same_voxels(self, other: Geometry) -> bool:
        """True when both define identical voxels (names, particle and eta may differ)."""
        return self.kind == other.kind and [lay.voxel_key() for lay in self.layers] == [
            lay.voxel_key() for lay in other.layers
        ]

    def describe(self) -> str:
        """A header line, then one line per layer."""
        eta = self.eta
        where = f"|eta| {eta[0]:.2f}-{eta[1]:.2f}" if eta else "no |eta| slice"
        rows = [
            f"{self.name} ({self.kind}): {self.particle}, {where}, {self.n_layers} layers, "
            f"{self.n_voxels} voxels"
        ]
        rows += [lay.describe() for lay in self.layers]
        return "\n".join(rows)

    # ----- serialised form ---------------------------------------------------------------------
    def to_mapping(self) -> dict[str, Any]:
        """The serialised form (plain YAML/JSON types); see ``geometry_to_mapping``."""
        return {
            "kind": self.kind,
            "name": self.name,
            "particle": self.particle,
            "eta": list(self.eta) if self.eta else None,
            "n_voxels": self.n_voxels,
            "layers": [lay.to_mapping() for lay in self.layers],
        }

    @classmethod
    @abstractmethod
    def layer_from_mapping(cls, data: Any, where: str) -> GeometryLayer:
        """One layer of this kind from its serialised form; errors name ``where``."""
