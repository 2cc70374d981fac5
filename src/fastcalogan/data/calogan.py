"""The public CaloGAN HDF5 layout (Paganini, de Oliveira, Nachman, PRD 97 (2018) 014021).

A file holds, for N showers:

* ``layer_0`` (N, 3, 96), ``layer_1`` (N, 12, 12), ``layer_2`` (N, 12, 6): cell energies, MeV;
* ``overflow`` (N, 3): energy of each layer outside its cells, MeV;
* ``energy`` (N, 1): incident energy, **GeV**.

Inside the toolkit showers are flat in the geometry's voxel order (``layer_0`` then ``layer_1``
then ``layer_2``, each row-major, as the built-in geometry ``calogan`` says) and energies are in
MeV: the readers multiply ``energy`` by 1000 and the writer divides by it. A file whose deposits
exceed ``max_deposit_ratio`` times its incident energy is refused: that is how a unit mix-up
shows (``energy`` stored in MeV reads as a thousand times too much energy, layers in GeV as far
too little, and cells in keV as far too much).
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
from ._h5 import open_h5, require_dataset
from ._layout_io import (
    BlockRequest,
    EventBlock,
    EventFields,
    GeometryFileWriter,
    LayoutReader,
    optional_dataset,
)
from .showers import (
    DEFAULT_MAX_DEPOSIT_RATIO,
    NEGATIVE_TOLERANCE_MEV,
    ShowerData,
    _deposit_offset,
    validate_showers,
)

__all__ = [
    "CALOGAN_GEOMETRY",
    "CaloGANWriter",
    "calogan_attrs",
    "iter_calogan",
    "read_calogan_overflow",
    "write_calogan",
]

#: the built-in geometry of the layout
CALOGAN_GEOMETRY = "calogan"
GEV = 1000.0


def _layer_names(f: h5py.File) -> list[str]:
    names: list[str] = []
    while f"layer_{len(names)}" in f:
        names.append(f"layer_{len(names)}")
    return names


def _datasets(
    f: h5py.File, path: Path
) -> tuple[list[h5py.Dataset], h5py.Dataset, h5py.Dataset | None]:
    """The layers, the energy and the optional overflow, with consistent event counts."""
    layers = [require_dataset(f, path, name, 3) for name in _layer_names(f)]
    if not layers:
        raise DataFormatError(f"{path}: missing dataset 'layer_0' (found {sorted(f.keys())})")
    energy = require_dataset(f, path, "energy", (1, 2))
    overflow = optional_dataset(f, path, "overflow", 2)
    n = layers[0].shape[0]
    for name, ds in [(ds.name.lstrip("/"), ds) for ds in layers] + [("energy", energy)]:
        if ds.shape[0] != n:
            raise DataFormatError(
                f"{path}: field '{name}' has {ds.shape[0]} events but 'layer_0' has {n}"
            )
    if energy.ndim == 2 and energy.shape[1] != 1:
        raise DataFormatError(
            f"{path}: field 'energy' must have shape (N, 1) in GeV, found {energy.shape}"
        )
    if overflow is not None and overflow.shape != (n, len(layers)):
        raise DataFormatError(
            f"{path}: field 'overflow' must have shape ({n}, {len(layers)}), found {overflow.shape}"
        )
    return layers, energy, overflow


def _fields(f: h5py.File, path: Path) -> EventFields:
    """``layer_0``, ``layer_1``, ... and ``energy``, in that order."""
    layers, energy, _overflow = _datasets(f, path)
    return EventFields(
        {**{f"layer_{k}": ds for k, ds in enumerate(layers)}, "energy": energy},
        layers[0].shape[0],
        sum(ds.shape[1] * ds.shape[2] for ds in layers),
    )


def _check_block(
    path: Path,
    images: list[npt.NDArray[Any]],
    energy_gev: npt.NDArray[Any],
    first: int,
    max_deposit_ratio: float | None,
    offset: float,
) -> None:
    """Finite, non-negative layers; finite, positive energies; deposits below the ceiling."""
    for k, image in enumerate(images):
        if not np.issubdtype(image.dtype, np.floating):
            raise DataFormatError(
                f"{path}: field 'layer_{k}' must hold floating-point MeV, found {image.dtype}"
            )
        if not np.all(np.isfinite(image)):
            row = int(np.argwhere(~np.isfinite(image))[0][0]) + first
            raise DataFormatError(f"{path}: field 'layer_{k}' holds NaN or inf (event {row})")
        if image.size and image.min() < -NEGATIVE_TOLERANCE_MEV:
            row = int(np.argwhere(image < -NEGATIVE_TOLERANCE_MEV)[0][0]) + first
            raise DataFormatError(
                f"{path}: field 'layer_{k}' holds a negative energy (event {row}); expected >= 0"
            )
    if not np.all(np.isfinite(energy_gev)) or np.any(energy_gev <= 0):
        row = int(np.argwhere(~(np.isfinite(energy_gev) & (energy_gev > 0)))[0][0]) + first
        raise DataFormatError(f"{path}: field 'energy' must be finite and > 0 GeV (event {row})")
    if max_deposit_ratio is None:
        return
    deposit = sum(im.reshape(im.shape[0], -1).sum(axis=1, dtype=np.float64) for im in images)
    ratio = deposit / (energy_gev * GEV + offset)
    if np.any(ratio > max_deposit_ratio):
        row = int(np.argmax(ratio > max_deposit_ratio))
        raise DataFormatError(
            f"{path}: event {row + first} deposits {ratio[row]:.3g} x its energy "
            f"({energy_gev[row]:.6g} GeV in field 'energy'); expected at most "
            f"{max_deposit_ratio:g} x (layers in MeV, energy in GeV?)"
        )


def _showers(read: BlockRequest, block: EventBlock) -> ShowerData:
    """Layers and energy (GeV) checked, then flat showers and energies in MeV."""
    images = [im for name, im in block.rows.items() if name != "energy"]
    e_gev = np.asarray(block.rows["energy"], dtype=np.float64).reshape(-1)
    offset = _deposit_offset(read.attrs)
    _check_block(read.path, images, e_gev, block.start, read.max_deposit_ratio, offset)
    flat = np.concatenate([im.reshape(im.shape[0], -1) for im in images], axis=1)
    e_mev = e_gev * GEV
    validate_showers(e_mev, flat, str(read.path), read.binning, None, first_event=block.start)
    return ShowerData(e_mev, flat, read.attrs)


_READER = LayoutReader("calogan", CALOGAN_GEOMETRY, _fields, _showers)


def calogan_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File attributes plus ``n_events``, ``n_voxels`` and ``layout``, without reading showers.

    Files without a geometry get ``binning: calogan`` (the public files carry no attributes).
    """
    return _READER.attrs(path)


def iter_calogan(
    path: str | os.PathLike[str],
    chunk_events: int = 50_000,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Iterator[ShowerData]:
    """Stream a CaloGAN file as flat showers in MeV, in blocks of ``chunk_events``.

    Each block is checked in the file's units (cells in MeV, ``energy`` in GeV) before the
    energies are converted to MeV. Yields at least one block (empty for a file without events).
    """
    return _READER.blocks(path, chunk_events, binning, max_deposit_ratio)


def read_calogan_overflow(path: str | os.PathLike[str]) -> npt.NDArray[np.float64]:
    """The ``overflow`` field, shape ``(N, n_layers)``, MeV (zeros when the file has none)."""
    path = Path(path)
    with open_h5(path) as f:
        layers, _energy, overflow = _datasets(f, path)
        if overflow is None:
            return np.zeros((layers[0].shape[0], len(layers)))
        return np.asarray(overflow, dtype=np.float64)


class CaloGANWriter(GeometryFileWriter):
    """Append showers to a file in the CaloGAN layout, published atomically on close.

    Args:
        path: output file.
        geometry: the showers' geometry (default: the built-in ``calogan``); layer ``k`` of it
            becomes ``layer_k`` with its image shape.
        attrs: file attributes (the public files have none; ours carry the geometry too).
        dtype: storage dtype of the cells and the overflow.
        chunk_events: events per HDF5 chunk of the layers.
    """

    default_geometry = CALOGAN_GEOMETRY

    def _create_datasets(self, dtype: npt.DTypeLike, chunk_events: int) -> None:
        self._layers = [
            self._extendable(f"layer_{k}", shape, dtype, chunk_events)
            for k, shape in enumerate(self.geometry.layer_shapes)
        ]
        self._overflow = self._extendable("overflow", (self.geometry.n_layers,), dtype, 4096)
        self._energy = self._extendable("energy", (1,), np.float64, 4096)

    def append(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        overflow: npt.ArrayLike | None = None,
    ) -> None:
        """Append ``incident_energies`` (n,) MeV, flat ``showers`` (n, n_voxels) MeV and the
        ``overflow`` (n, n_layers) MeV (zeros when not given)."""
        e = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        s = np.asarray(showers)
        g = self.geometry
        if s.shape != (e.shape[0], g.n_voxels):
            raise DataFormatError(
                f"{self.path}: block of shape {s.shape} with {e.shape[0]} energies does not fit "
                f"({e.shape[0]}, {g.n_voxels})"
            )
        o = np.zeros((e.shape[0], g.n_layers)) if overflow is None else np.asarray(overflow)
        if o.shape != (e.shape[0], g.n_layers):
            raise DataFormatError(
                f"{self.path}: overflow of shape {o.shape} does not fit ({e.shape[0]}, "
                f"{g.n_layers})"
            )
        for ds, lid in zip(self._layers, g.layer_ids, strict=True):
            self._grow(ds, g.layer_images(s, lid))
        self._grow(self._overflow, o)
        self._grow(self._energy, (e / GEV)[:, None])
        self.n_events += e.shape[0]
        self.check_io()


def write_calogan(
    path: str | os.PathLike[str],
    incident_energies: npt.ArrayLike,
    showers: npt.ArrayLike,
    overflow: npt.ArrayLike | None = None,
    attrs: Mapping[str, Any] | None = None,
    geometry: Geometry | None = None,
) -> Path:
    """Write flat showers (MeV) and incident energies (MeV) in the CaloGAN layout, atomically.

    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "eplus.h5"
    >>> _ = write_calogan(out, [10_000.0], np.full((1, 504), 10.0))
    >>> with h5py.File(out) as f:
    ...     f["layer_0"].shape, f["layer_2"].shape, float(f["energy"][0, 0])
    ((1, 3, 96), (1, 12, 6), 10.0)
    """
    with CaloGANWriter(path, geometry, attrs) as w:
        w.append(incident_energies, showers, overflow)
    return Path(path)
