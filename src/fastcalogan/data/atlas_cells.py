"""The ATLAS cells layout: 266 EM barrel cells around the impact cell, with their alignment.

A file holds, for N photons (ATL-SOFT-PUB-2018-001):

* ``incident_energies`` (N, 1), MeV;
* ``showers`` (N, 266), MeV: presampler 7 x 3, strips 56 x 3, middle 7 x 7, back 4 x 7 cells
  (eta x phi), layers in that order, each row-major in (eta, phi) (the built-in geometry
  ``atlas-cells``);
* ``alignment`` (N, 2) integers: the phi alignment (0-3) of the presampler and strip windows
  and the eta alignment (0-1) of the back window with respect to the impact cell;
* optionally ``overflow`` (N, 4): energy of each layer outside its window, MeV.

Readers return the alignments as the conditions :data:`ALIGNMENT_NAMES` (float64).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ..geometry import Geometry
from ._h5 import require_dataset
from ._layout_io import (
    BlockRequest,
    EventBlock,
    EventFields,
    GeometryFileWriter,
    LayoutBlock,
    LayoutReader,
    LayoutWriter,
    optional_dataset,
)
from .showers import (
    DEFAULT_MAX_DEPOSIT_RATIO,
    ShowerData,
    validate_showers,
)

__all__ = [
    "ALIGNMENT_NAMES",
    "ALIGNMENT_RANGES",
    "ATLAS_CELLS_GEOMETRY",
    "AtlasCellsWriter",
    "atlas_cells_attrs",
    "iter_atlas_cells",
    "write_atlas_cells",
]

#: the conditions of the layout: phi alignment of presampler/strips, eta alignment of the back
ALIGNMENT_NAMES = ("phi_alignment", "eta_alignment")
#: number of values each alignment takes (0..3 and 0..1)
ALIGNMENT_RANGES = (4, 2)
#: the built-in geometry of the layout
ATLAS_CELLS_GEOMETRY = "atlas-cells"


def _fields(f: h5py.File, path: Path) -> EventFields:
    """``incident_energies``, ``showers`` and ``alignment``; the overflow is checked only."""
    inc = require_dataset(f, path, "incident_energies", (1, 2))
    showers = require_dataset(f, path, "showers", 2)
    align = require_dataset(f, path, "alignment", 2)
    n = showers.shape[0]
    if align.shape != (n, 2) or not np.issubdtype(align.dtype, np.integer):
        raise DataFormatError(
            f"{path}: field 'alignment' must be integers of shape ({n}, 2) (phi 0-3, eta 0-1), "
            f"found shape {align.shape} dtype {align.dtype}"
        )
    optional_dataset(f, path, "overflow", 2, n)
    return EventFields(
        {"incident_energies": inc, "showers": showers, "alignment": align}, n, showers.shape[1]
    )


def _check_alignment(path: Path | str, align: npt.NDArray[Any], first: int) -> None:
    for col, (name, size) in enumerate(zip(ALIGNMENT_NAMES, ALIGNMENT_RANGES, strict=True)):
        bad = (align[:, col] < 0) | (align[:, col] >= size)
        if np.any(bad):
            row = int(np.argmax(bad))
            raise DataFormatError(
                f"{path}: field 'alignment': {name} must be 0..{size - 1}, found "
                f"{int(align[row, col])} in event {row + first}"
            )


def _showers(read: BlockRequest, block: EventBlock) -> ShowerData:
    """Showers and energies checked, alignments in range and as float conditions."""
    e, s, a = (block.rows[k] for k in ("incident_energies", "showers", "alignment"))
    validate_showers(
        e, s, str(read.path), read.binning, read.max_deposit_ratio, first_event=block.start
    )
    _check_alignment(read.path, a, block.start)
    return ShowerData(
        e.reshape(-1).astype(np.float64), s, read.attrs, a.astype(np.float64), ALIGNMENT_NAMES
    )


_READER = LayoutReader("atlas-cells", ATLAS_CELLS_GEOMETRY, _fields, _showers)


def atlas_cells_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File attributes plus ``n_events``, ``n_voxels`` and ``layout``."""
    return _READER.attrs(path)


def iter_atlas_cells(
    path: str | os.PathLike[str],
    chunk_events: int = 50_000,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Iterator[ShowerData]:
    """Stream an ATLAS cells file with the alignments as conditions.

    Each block is checked: alignments in range (:data:`ALIGNMENT_RANGES`), energies in MeV.
    Yields at least one block (empty for a file without events).
    """
    return _READER.blocks(path, chunk_events, binning, max_deposit_ratio)


class AtlasCellsWriter(LayoutWriter, GeometryFileWriter):
    """Append showers to an ATLAS cells file, published atomically on close.

    :meth:`append` takes energies (n,) MeV, showers (n, 266) MeV, the alignments (n, 2) (the
    conditions) and the overflow (n, 4) MeV (zeros when not given).

    Args:
        path: output file.
        geometry: the cells' geometry (default: the built-in ``atlas-cells``).
        attrs: file attributes (the file carries its geometry too).
        dtype: storage dtype of the cells and the overflow.
        chunk_events: events per HDF5 chunk of the showers.
    """

    default_geometry = ATLAS_CELLS_GEOMETRY

    def _create_datasets(self, dtype: npt.DTypeLike, chunk_events: int) -> None:
        g = self.geometry
        self._inc = self._extendable("incident_energies", (1,), np.float64, 4096)
        self._showers = self._extendable("showers", (g.n_voxels,), dtype, chunk_events)
        self._align = self._extendable("alignment", (2,), np.int8, 4096)
        self._overflow = self._extendable("overflow", (g.n_layers,), dtype, 4096)

    def _append_block(self, block: LayoutBlock) -> None:
        e, s, conditions, overflow = block
        n, g = e.shape[0], self.geometry
        if s.shape != (n, g.n_voxels):
            raise DataFormatError(
                f"{self.path}: block of shape {s.shape} does not fit ({n}, {g.n_voxels})"
            )
        if conditions is None:
            raise DataFormatError(f"{self.path}: the ATLAS cells layout needs the alignments")
        a = np.asarray(conditions)
        if a.shape != (n, 2) or not np.all(a == np.round(a)):
            raise DataFormatError(
                f"{self.path}: alignments of shape {a.shape}; expected integers ({n}, 2)"
            )
        _check_alignment(self.path, a, self.n_events)
        o = np.zeros((n, g.n_layers)) if overflow is None else np.asarray(overflow)
        self._grow(self._inc, e[:, None])
        self._grow(self._showers, s)
        self._grow(self._align, a.astype(np.int8))
        self._grow(self._overflow, o.reshape(n, g.n_layers))
        self.n_events += n


def write_atlas_cells(
    path: str | os.PathLike[str],
    incident_energies: npt.ArrayLike,
    showers: npt.ArrayLike,
    alignment: npt.ArrayLike,
    attrs: Mapping[str, Any] | None = None,
    geometry: Geometry | None = None,
    overflow: npt.ArrayLike | None = None,
) -> Path:
    """Write showers (n, 266) MeV with their alignments (n, 2), atomically."""
    with AtlasCellsWriter(path, geometry, attrs) as w:
        w.append(incident_energies, showers, alignment, overflow)
    return Path(path)
