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
from ..geometry import Geometry, load_geometry
from ._h5 import AtomicH5Writer, open_h5, require_dataset
from .showers import (
    DEFAULT_MAX_DEPOSIT_RATIO,
    ShowerData,
    _plain,
    geometry_attrs,
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


def _datasets(
    f: h5py.File, path: Path
) -> tuple[h5py.Dataset, h5py.Dataset, h5py.Dataset, h5py.Dataset | None]:
    inc = require_dataset(f, path, "incident_energies", (1, 2))
    showers = require_dataset(f, path, "showers", 2)
    align = require_dataset(f, path, "alignment", 2)
    overflow = require_dataset(f, path, "overflow", 2) if "overflow" in f else None
    n = showers.shape[0]
    if align.shape != (n, 2) or not np.issubdtype(align.dtype, np.integer):
        raise DataFormatError(
            f"{path}: field 'alignment' must be integers of shape ({n}, 2) (phi 0-3, eta 0-1), "
            f"found shape {align.shape} dtype {align.dtype}"
        )
    if overflow is not None and overflow.shape[0] != n:
        raise DataFormatError(
            f"{path}: field 'overflow' must have {n} events, found shape {overflow.shape}"
        )
    return inc, showers, align, overflow


def atlas_cells_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File attributes plus ``n_events``, ``n_voxels`` and ``layout``."""
    path = Path(path)
    with open_h5(path) as f:
        _inc, showers, _a, _o = _datasets(f, path)
        attrs = {k: _plain(v) for k, v in f.attrs.items()}
        attrs["n_events"] = int(showers.shape[0])
        attrs["n_voxels"] = int(showers.shape[1])
    attrs.setdefault("binning", ATLAS_CELLS_GEOMETRY)
    attrs["layout"] = "atlas-cells"
    return attrs


def _check_alignment(path: Path | str, align: npt.NDArray[Any], first: int) -> None:
    for col, (name, size) in enumerate(zip(ALIGNMENT_NAMES, ALIGNMENT_RANGES, strict=True)):
        bad = (align[:, col] < 0) | (align[:, col] >= size)
        if np.any(bad):
            row = int(np.argmax(bad))
            raise DataFormatError(
                f"{path}: field 'alignment': {name} must be 0..{size - 1}, found "
                f"{int(align[row, col])} in event {row + first}"
            )


def iter_atlas_cells(
    path: str | os.PathLike[str],
    chunk_events: int = 50_000,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Iterator[ShowerData]:
    """Stream an ATLAS cells file with the alignments as conditions.

    Yields at least one block (empty for a file without events).
    """
    path = Path(path)
    attrs = atlas_cells_attrs(path)
    with open_h5(path) as f:
        inc, showers, align, _overflow = _datasets(f, path)
        n = showers.shape[0]
        for start in range(0, max(n, 1), chunk_events):
            sl = slice(start, min(n, start + chunk_events))
            try:
                e = np.asarray(inc[sl])
                s = np.asarray(showers[sl])
                a = np.asarray(align[sl])
            except (OSError, RuntimeError) as err:
                raise DataFormatError(
                    f"{path}: cannot read events {sl.start}..{sl.stop} (truncated or corrupt: "
                    f"{err})"
                ) from err
            validate_showers(e, s, str(path), binning, max_deposit_ratio, first_event=start)
            _check_alignment(path, a, start)
            yield ShowerData(
                e.reshape(-1).astype(np.float64), s, attrs, a.astype(np.float64), ALIGNMENT_NAMES
            )


class AtlasCellsWriter(AtomicH5Writer):
    """Append showers to an ATLAS cells file, published atomically on close."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        geometry: Geometry | None = None,
        attrs: Mapping[str, Any] | None = None,
        dtype: npt.DTypeLike = np.float32,
        chunk_events: int = 1024,
    ) -> None:
        self.geometry = geometry or load_geometry(ATLAS_CELLS_GEOMETRY)
        super().__init__(path)
        g = self.geometry
        self._inc = self._extendable("incident_energies", (1,), np.float64, 4096)
        self._showers = self._extendable("showers", (g.n_voxels,), dtype, chunk_events)
        self._align = self._extendable("alignment", (2,), np.int8, 4096)
        self._overflow = self._extendable("overflow", (g.n_layers,), dtype, 4096)
        for key, value in {**(attrs or {}), **geometry_attrs(g)}.items():
            self._file.attrs[key] = value
        self.n_events = 0

    def append(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        conditions: npt.ArrayLike | None = None,
        overflow: npt.ArrayLike | None = None,
    ) -> None:
        """Append energies (n,) MeV, showers (n, 266) MeV, alignments (n, 2) (the conditions)
        and the overflow (n, 4) MeV (zeros when not given)."""
        e = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        n, g = e.shape[0], self.geometry
        s = np.asarray(showers)
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
