"""CaloChallenge shower files: ``incident_energies`` (N, 1) MeV and ``showers`` (N, n_voxels) MeV.

The readers (:func:`read_showers`, :func:`iter_showers`, :func:`read_shower_attrs`) also
recognise the other layouts (the public CaloGAN HDF5, the LHCb ECAL HDF5 and npz, the ATLAS
cells; ``data.layouts``) and return the same :class:`ShowerData`.

Files are written atomically, gzip-compressed and chunked by events, so that files larger
than memory can be streamed with :func:`iter_showers`. Every read is validated: missing
datasets, shapes against the binning, dtypes, NaN/inf, negative energies and deposits
larger than ``max_deposit_ratio`` times the incident energy.

Files carry their geometry: writers given one store its serialised form as JSON text in the
``geometry`` attribute and its name in ``binning`` (:func:`geometry_attrs`), so any reader can
rebuild it (:func:`~fastcalogan.data.geometry_of_file`) without being told.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import numpy.typing as npt

from ..errors import ConfigError, DataFormatError
from ..geometry import Geometry, get_particle
from ._detect import detect_layout
from ._h5 import AtomicH5Writer, open_h5
from ._layout_io import (
    file_attrs,
    geometry_attrs,
    iter_event_blocks,
    names_attr,
    write_file_attrs,
)

__all__ = [
    "ShowerData",
    "ShowerWriter",
    "geometry_attrs",
    "iter_showers",
    "read_shower_attrs",
    "read_showers",
    "shower_file_bytes",
    "validate_showers",
    "write_showers",
]

#: Voxel energies below this (MeV) count as zero when checking for negative deposits.
NEGATIVE_TOLERANCE_MEV = 1e-3
#: Default ceiling of E_deposit / E_incident; antiprotons need more (rest mass).
DEFAULT_MAX_DEPOSIT_RATIO = 2.0
#: Optional dataset of per-event conditions beyond the incident energy, ``(N, k)``; its
#: attribute ``names`` lists the k column names.
CONDITIONS_DATASET = "conditions"


def shower_file_bytes(n_events: int, n_voxels: int, itemsize: int = 4) -> int:
    """An upper bound of a shower file's size: its data uncompressed, and 64 KiB of metadata.

    >>> shower_file_bytes(1000, 368)
    1545536
    """
    return int(n_events) * (int(n_voxels) * int(itemsize) + 8) + (64 << 10)


@dataclass(frozen=True)
class ShowerData:
    """Voxelised showers in memory.

    Attributes:
        incident_energies: shape ``(n_events,)``, MeV.
        showers: shape ``(n_events, n_voxels)``, MeV, CaloChallenge voxel order.
        attrs: file attributes (particle, eta slice, binning name, provenance).
        conditions: per-event conditions beyond the incident energy, shape
            ``(n_events, n_conditions)`` (e.g. momentum components and impact point, or cell
            alignments); ``None`` is read as no conditions, shape ``(n_events, 0)``.
        condition_names: one name per column of ``conditions``.
    """

    incident_energies: npt.NDArray[np.float64]
    showers: npt.NDArray[np.floating[Any]]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    conditions: npt.NDArray[np.float64] | None = None
    condition_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = int(self.showers.shape[0])
        cond = (
            np.zeros((n, 0))
            if self.conditions is None
            else np.asarray(self.conditions, dtype=np.float64)
        )
        if cond.ndim != 2 or cond.shape[0] != n or cond.shape[1] != len(self.condition_names):
            raise DataFormatError(
                f"conditions of shape {cond.shape} with names {list(self.condition_names)} do "
                f"not fit {n} events"
            )
        object.__setattr__(self, "conditions", cond)

    @property
    def n_conditions(self) -> int:
        """Conditions per event beyond the incident energy (0 for plain CaloChallenge files)."""
        return len(self.condition_names)

    @property
    def n_events(self) -> int:
        """Number of showers."""
        return int(self.showers.shape[0])

    @property
    def n_voxels(self) -> int:
        """Number of voxels per shower."""
        return int(self.showers.shape[1])

    def total_energy(self) -> npt.NDArray[np.float64]:
        """Deposited energy per shower, shape ``(n_events,)``, MeV."""
        return self.showers.sum(axis=1, dtype=np.float64)

    def select(self, mask: npt.NDArray[np.bool_]) -> ShowerData:
        """The showers where ``mask`` is true."""
        assert self.conditions is not None  # set by __post_init__
        return ShowerData(
            self.incident_energies[mask],
            self.showers[mask],
            dict(self.attrs),
            self.conditions[mask],
            self.condition_names,
        )


def validate_showers(
    incident_energies: npt.NDArray[Any],
    showers: npt.NDArray[Any],
    source: str,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
    first_event: int = 0,
    deposit_offset: float = 0.0,
) -> None:
    """Check shower arrays; raise :class:`DataFormatError` naming ``source`` and the field.

    Args:
        incident_energies: shape ``(n,)`` or ``(n, 1)``, MeV.
        showers: shape ``(n, n_voxels)``, MeV.
        source: file name (or description) used in messages.
        binning: the geometry; if given, ``n_voxels`` must match it.
        max_deposit_ratio: ceiling of deposit / incident energy; ``None`` disables the check.
        first_event: index of the first row, so messages give the event number in the file.
        deposit_offset: energy (MeV) a particle releases on top of its kinetic energy
            (antiprotons: the rest mass); the deposit ceiling applies to ``E_inc + offset``.
    """
    if not np.issubdtype(showers.dtype, np.floating):
        raise DataFormatError(
            f"{source}: field 'showers' must hold floating-point MeV, found dtype {showers.dtype}"
        )
    if not np.issubdtype(incident_energies.dtype, np.number):
        raise DataFormatError(
            f"{source}: field 'incident_energies' must be numeric MeV, "
            f"found dtype {incident_energies.dtype}"
        )
    if showers.ndim != 2:
        raise DataFormatError(
            f"{source}: field 'showers' must be 2-D (events, voxels), found shape {showers.shape}"
        )
    inc = np.asarray(incident_energies).reshape(len(incident_energies), -1)
    if inc.shape[1] != 1:
        raise DataFormatError(
            f"{source}: field 'incident_energies' must have shape (N, 1), "
            f"found {incident_energies.shape}"
        )
    if inc.shape[0] != showers.shape[0]:
        raise DataFormatError(
            f"{source}: 'incident_energies' has {inc.shape[0]} events but 'showers' has "
            f"{showers.shape[0]}"
        )
    if binning is not None and showers.shape[1] != binning.n_voxels:
        raise DataFormatError(
            f"{source}: 'showers' has {showers.shape[1]} columns; binning {binning.name} needs "
            f"{binning.n_voxels} (check --binning)"
        )
    for name, arr in (("incident_energies", inc), ("showers", showers)):
        bad = ~np.isfinite(arr)
        if bad.any():
            row = int(np.argwhere(bad)[0][0]) + first_event
            raise DataFormatError(
                f"{source}: field '{name}' holds NaN or inf (first in event {row}); "
                "expected finite energies in MeV"
            )
    if (inc <= 0).any():
        row = int(np.argwhere(inc <= 0)[0][0])
        raise DataFormatError(
            f"{source}: field 'incident_energies' must be > 0 MeV, found {inc[row, 0]} "
            f"in event {row + first_event}"
        )
    if showers.size and showers.min() < -NEGATIVE_TOLERANCE_MEV:
        row, col = (int(x) for x in np.argwhere(showers < -NEGATIVE_TOLERANCE_MEV)[0])
        raise DataFormatError(
            f"{source}: field 'showers' holds a negative energy {showers[row, col]:.4g} MeV "
            f"(event {row + first_event}, voxel {col}); expected >= 0"
        )
    if max_deposit_ratio is not None and showers.size:
        ratio = showers.sum(axis=1, dtype=np.float64) / (inc[:, 0] + deposit_offset)
        if (ratio > max_deposit_ratio).any():
            row = int(np.argmax(ratio > max_deposit_ratio))
            extra = f" + {deposit_offset:.6g} MeV rest mass" if deposit_offset else ""
            raise DataFormatError(
                f"{source}: event {row + first_event} deposits {ratio[row]:.3g} x its incident "
                f"energy ({inc[row, 0]:.6g} MeV{extra}); expected at most {max_deposit_ratio:g} x "
                "(are the units MeV in both fields?)"
            )


def _deposit_offset(attrs: Mapping[str, Any]) -> float:
    """Rest mass released on top of the kinetic energy for the file's particle (0 if unknown)."""
    try:
        return get_particle(str(attrs["particle"])).deposit_offset
    except (KeyError, ConfigError):
        return 0.0


def _datasets(f: h5py.File, path: Path) -> tuple[h5py.Dataset, h5py.Dataset]:
    missing = [k for k in ("incident_energies", "showers") if k not in f]
    if missing:
        raise DataFormatError(
            f"{path}: missing dataset(s) {missing}; a CaloChallenge file has "
            f"'incident_energies' (N, 1) and 'showers' (N, n_voxels), found {sorted(f.keys())}"
        )
    inc, sh = f["incident_energies"], f["showers"]
    if not isinstance(inc, h5py.Dataset) or not isinstance(sh, h5py.Dataset):
        raise DataFormatError(f"{path}: 'incident_energies' and 'showers' must be datasets")
    return inc, sh


def _conditions_dataset(
    f: h5py.File, path: Path, n_events: int
) -> tuple[h5py.Dataset | None, tuple[str, ...]]:
    """The optional ``conditions`` dataset and its column names, checked against the file."""
    if CONDITIONS_DATASET not in f:
        return None, ()
    ds = f[CONDITIONS_DATASET]
    if not isinstance(ds, h5py.Dataset) or ds.ndim != 2 or ds.shape[0] != n_events:
        shape = getattr(ds, "shape", None)
        raise DataFormatError(
            f"{path}: field '{CONDITIONS_DATASET}' must have shape ({n_events}, k), found {shape}"
        )
    if not np.issubdtype(ds.dtype, np.number):
        raise DataFormatError(
            f"{path}: field '{CONDITIONS_DATASET}' must be numeric, found dtype {ds.dtype}"
        )
    names = names_attr(ds)
    if len(names) != ds.shape[1]:
        raise DataFormatError(
            f"{path}: field '{CONDITIONS_DATASET}' has {ds.shape[1]} columns but its attribute "
            f"'names' lists {len(names)} ({list(names)})"
        )
    return ds, names


def read_shower_attrs(path: str | os.PathLike[str]) -> dict[str, Any]:
    """File attributes plus ``n_events`` and ``n_voxels``, without reading the showers.

    Files in another layout also get ``layout`` (and, without a geometry, the ``binning`` of
    their layout's built-in geometry).
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout != "calochallenge":
        from .layouts import layout_attrs  # (lazily: the layout modules import this one)

        return layout_attrs(layout, path)
    with open_h5(path) as f:
        _inc, sh = _datasets(f, path)
        attrs = file_attrs(f)
        if sh.ndim != 2:
            raise DataFormatError(
                f"{path}: field 'showers' must be 2-D (events, voxels), found shape {sh.shape}; "
                "flatten each shower's voxels (layer, then the layer's image row by row)"
            )
        attrs["n_events"] = int(sh.shape[0])
        attrs["n_voxels"] = int(sh.shape[1])
    return attrs


def iter_showers(
    path: str | os.PathLike[str],
    chunk_events: int = 50_000,
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> Iterator[ShowerData]:
    """Stream a shower file in blocks of ``chunk_events`` showers, each validated.

    Any layout the package knows is read (``data.layouts``): showers come flat in the
    geometry's voxel order, in MeV, with the layout's per-event conditions.
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout != "calochallenge":
        from .layouts import iter_layout  # (lazily: the layout modules import this one)

        yield from iter_layout(layout, path, chunk_events, binning, max_deposit_ratio)
        return
    with open_h5(path) as f:
        inc, sh = _datasets(f, path)
        attrs = file_attrs(f)
        if sh.ndim != 2:
            raise DataFormatError(
                f"{path}: field 'showers' must be 2-D (events, voxels), found shape {sh.shape}"
            )
        if inc.shape[0] != sh.shape[0]:
            raise DataFormatError(
                f"{path}: 'incident_energies' has {inc.shape[0]} events but 'showers' has "
                f"{sh.shape[0]}"
            )
        offset = _deposit_offset(attrs)
        n = sh.shape[0]
        cond, names = _conditions_dataset(f, path, n)
        fields = {"incident_energies": inc, "showers": sh}
        if cond is not None:
            fields[CONDITIONS_DATASET] = cond
        blocks = iter_event_blocks(
            path, fields, n, chunk_events, empty_block=False, name_field=True
        )
        for block in blocks:
            e, s = block.rows["incident_energies"], block.rows["showers"]
            c = block.rows.get(CONDITIONS_DATASET)
            validate_showers(
                e,
                s,
                str(path),
                binning,
                max_deposit_ratio,
                first_event=block.start,
                deposit_offset=offset,
            )
            if c is not None and not np.all(np.isfinite(c)):
                raise DataFormatError(
                    f"{path}: field '{CONDITIONS_DATASET}' holds NaN or inf "
                    f"(events {block.start}..{block.stop - 1})"
                )
            yield ShowerData(e.reshape(-1).astype(np.float64), s, attrs, c, names)


def read_showers(
    path: str | os.PathLike[str],
    binning: Geometry | None = None,
    max_deposit_ratio: float | None = DEFAULT_MAX_DEPOSIT_RATIO,
) -> ShowerData:
    """Read a whole shower file into memory (validated), in any layout the package knows.

    Args:
        path: a CaloChallenge HDF5 file (``incident_energies`` and ``showers``), or a file in
            the CaloGAN, LHCb (HDF5 or npz) or ATLAS-cells layout.
        binning: the geometry; if given, the voxel count must match.
        max_deposit_ratio: ceiling of deposit / incident energy; ``None`` disables it.

    Raises:
        DataFormatError: missing file or dataset, wrong shapes or dtypes, NaN/inf, negative
            or absurd energies, truncated file.
    """
    path = Path(path)
    # one block: every layout's reader yields the whole file as one chunk of this size
    blocks = list(iter_showers(path, 1 << 62, binning, max_deposit_ratio))
    if not blocks:
        attrs = read_shower_attrs(path)
        n_vox = max(0, int(attrs["n_voxels"]))
        with open_h5(path) as f:
            _, names = _conditions_dataset(f, path, 0)
        return ShowerData(
            np.zeros(0), np.zeros((0, n_vox), np.float32), attrs, np.zeros((0, len(names))), names
        )
    return blocks[0]


class ShowerWriter(AtomicH5Writer):
    """Append showers block by block to a CaloChallenge file, published atomically on close.

    Given a ``geometry``, the file carries it (:func:`geometry_attrs`, overriding ``binning``
    in ``attrs``) and ``n_voxels`` must equal its voxel count.

    >>> import tempfile, pathlib, numpy as np
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.h5"
    >>> with ShowerWriter(out, n_voxels=3, attrs={"particle": "photon"}) as w:
    ...     w.append(np.array([1000.0]), np.array([[1.0, 2.0, 3.0]]))
    >>> read_showers(out).showers.tolist()
    [[1.0, 2.0, 3.0]]
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        n_voxels: int,
        attrs: Mapping[str, Any] | None = None,
        dtype: npt.DTypeLike = np.float32,
        chunk_events: int = 1024,
        compression_level: int = 4,
        geometry: Geometry | None = None,
        condition_names: tuple[str, ...] = (),
    ) -> None:
        if geometry is not None and geometry.n_voxels != int(n_voxels):
            raise DataFormatError(
                f"{path}: showers of {n_voxels} voxels cannot carry geometry {geometry.name} "
                f"({geometry.n_voxels} voxels)"
            )
        super().__init__(path)
        self.n_voxels = int(n_voxels)
        chunk = max(1, min(chunk_events, max(1, (1 << 20) // max(1, self.n_voxels * 4))))
        self._inc = self._file.create_dataset(
            "incident_energies",
            shape=(0, 1),
            maxshape=(None, 1),
            dtype=np.float64,
            chunks=(max(chunk, 1024), 1),
            compression="gzip",
            compression_opts=compression_level,
        )
        self._sh = self._file.create_dataset(
            "showers",
            shape=(0, self.n_voxels),
            maxshape=(None, self.n_voxels),
            dtype=dtype,
            chunks=(chunk, self.n_voxels),
            compression="gzip",
            compression_opts=compression_level,
        )
        self.condition_names = tuple(str(x) for x in condition_names)
        self._cond: h5py.Dataset | None = None
        if self.condition_names:
            self._cond = self._file.create_dataset(
                CONDITIONS_DATASET,
                shape=(0, len(self.condition_names)),
                maxshape=(None, len(self.condition_names)),
                dtype=np.float64,
                chunks=(max(chunk, 1024), len(self.condition_names)),
                compression="gzip",
                compression_opts=compression_level,
            )
            self._cond.attrs["names"] = ",".join(self.condition_names)
        write_file_attrs(self._file, attrs, geometry)
        self.n_events = 0

    def append(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        conditions: npt.ArrayLike | None = None,
    ) -> None:
        """Append a block: ``incident_energies`` shape ``(n,)``, ``showers`` ``(n, n_voxels)``.

        ``conditions`` ``(n, len(condition_names))`` is required when the writer was opened
        with condition names, and refused otherwise.
        """
        e = np.asarray(incident_energies, dtype=np.float64).reshape(-1, 1)
        s = np.asarray(showers)
        if s.ndim != 2 or s.shape[1] != self.n_voxels or s.shape[0] != e.shape[0]:
            raise DataFormatError(
                f"{self.path}: block of shape {s.shape} with {e.shape[0]} energies does not fit "
                f"(n, {self.n_voxels})"
            )
        k = len(self.condition_names)
        c = None if conditions is None else np.asarray(conditions, dtype=np.float64)
        if (c is None) != (k == 0) or (c is not None and c.shape != (e.shape[0], k)):
            found = "none" if c is None else f"shape {c.shape}"
            raise DataFormatError(
                f"{self.path}: block of {e.shape[0]} events needs conditions of shape "
                f"({e.shape[0]}, {k}) {list(self.condition_names)}, found {found}"
            )
        n0, n1 = self.n_events, self.n_events + e.shape[0]
        self._inc.resize((n1, 1))
        self._sh.resize((n1, self.n_voxels))
        self._inc[n0:n1] = e
        self._sh[n0:n1] = s
        if self._cond is not None and c is not None:
            self._cond.resize((n1, k))
            self._cond[n0:n1] = c
        self.n_events = n1
        self.check_io()


def write_showers(
    path: str | os.PathLike[str],
    incident_energies: npt.ArrayLike,
    showers: npt.ArrayLike,
    attrs: Mapping[str, Any] | None = None,
    dtype: npt.DTypeLike | None = None,
    geometry: Geometry | None = None,
    conditions: npt.ArrayLike | None = None,
    condition_names: tuple[str, ...] = (),
) -> Path:
    """Write showers in the CaloChallenge layout, atomically.

    Args:
        path: output HDF5 file.
        incident_energies: shape ``(n,)`` or ``(n, 1)``, MeV.
        showers: shape ``(n, n_voxels)``, MeV.
        attrs: file attributes to store (particle, eta_min, eta_max, binning, ...).
        dtype: storage dtype of ``showers`` (default: the array's, float32 if not floating).
        geometry: the showers' geometry, stored in the file (see :func:`geometry_attrs`).
        conditions: per-event conditions beyond the incident energy, ``(n, k)``, stored as
            the ``conditions`` dataset with ``condition_names`` as its ``names`` attribute.
        condition_names: the k column names.
    """
    s = np.asarray(showers)
    if dtype is None:
        dtype = s.dtype if np.issubdtype(s.dtype, np.floating) else np.float32
    if s.ndim != 2:
        raise DataFormatError(f"{path}: showers must be 2-D (events, voxels), found {s.shape}")
    with ShowerWriter(
        path, s.shape[1], attrs, dtype=dtype, geometry=geometry, condition_names=condition_names
    ) as w:
        w.append(incident_energies, s, conditions)
    return Path(path)
