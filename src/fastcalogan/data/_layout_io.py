"""What every shower-file layout's reader and writer share.

Readers check a file's datasets once, field by field (:func:`require_dataset`,
:func:`optional_dataset`, :func:`names_attr`), and gather them as :class:`EventFields`; a
:class:`LayoutReader` then gives the file's attributes and its showers block by block
(:func:`iter_event_blocks`), so that a truncated or corrupt file becomes one
:class:`~fastcalogan.errors.DataFormatError` line naming it. Writers store their attributes
with :func:`write_file_attrs`, with the geometry the file carries (:func:`geometry_attrs`) on
top; :class:`GeometryFileWriter` opens such a file, and :class:`LayoutWriter` is the block
interface that ``simulate`` and ``convert`` write every layout through.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import h5py
import numpy as np
import numpy.typing as npt

from ..errors import DataFormatError
from ..geometry import Geometry, geometry_to_mapping, load_geometry
from ._h5 import AtomicH5Writer, open_h5, require_dataset

if TYPE_CHECKING:
    from .showers import ShowerData

__all__ = [
    "GEOMETRY_ATTR",
    "BlockRequest",
    "EventBlock",
    "EventFields",
    "GeometryFileWriter",
    "LayoutBlock",
    "LayoutReader",
    "LayoutWriter",
    "file_attrs",
    "geometry_attrs",
    "iter_event_blocks",
    "names_attr",
    "optional_dataset",
    "plain_value",
    "write_file_attrs",
]

#: The file attribute holding the serialised geometry (JSON text).
GEOMETRY_ATTR = "geometry"


def plain_value(value: Any) -> Any:
    """An HDF5 attribute value as plain Python: text for bytes, lists for arrays.

    >>> plain_value(b"photon"), plain_value(np.float32(0.5)), plain_value(np.arange(2))
    ('photon', 0.5, [0, 1])
    """
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def file_attrs(obj: h5py.File | h5py.Dataset) -> dict[str, Any]:
    """The attributes of a file (or dataset) as plain Python values."""
    return {k: plain_value(v) for k, v in obj.attrs.items()}


def names_attr(ds: h5py.Dataset) -> tuple[str, ...]:
    """The column names a dataset lists in its ``names`` attribute (``()`` without one).

    The attribute is comma-separated text (what the writers store) or a list of strings.
    """
    raw = plain_value(ds.attrs.get("names", ""))
    if isinstance(raw, list):
        return tuple(x.decode() if isinstance(x, bytes) else str(x) for x in raw)
    return tuple(x for x in str(raw).split(",") if x)


def optional_dataset(
    f: h5py.File,
    path: Path,
    name: str,
    ndim: int | tuple[int, ...],
    n_events: int | None = None,
) -> h5py.Dataset | None:
    """The dataset ``name`` where the file has one (else ``None``), checked as
    :func:`require_dataset` does and, given ``n_events``, for that many rows.

    Raises:
        DataFormatError: the dataset has the wrong dimensions, dtype or number of events.
    """
    if name not in f:
        return None
    ds = require_dataset(f, path, name, ndim)
    if n_events is not None and ds.shape[0] != n_events:
        raise DataFormatError(
            f"{path}: field '{name}' must have {n_events} events, found shape {ds.shape}"
        )
    return ds


class EventFields(NamedTuple):
    """A file's checked datasets with one row per event, in the order they are read."""

    datasets: dict[str, h5py.Dataset]
    n_events: int
    n_voxels: int


class EventBlock(NamedTuple):
    """Rows ``start..stop`` (``stop`` excluded) of each dataset, by dataset name."""

    start: int
    stop: int
    rows: dict[str, npt.NDArray[Any]]


def iter_event_blocks(
    path: Path,
    datasets: Mapping[str, h5py.Dataset],
    n_events: int,
    chunk_events: int,
    *,
    empty_block: bool = True,
    name_field: bool = False,
) -> Iterator[EventBlock]:
    """Read ``datasets`` (one row per event) in blocks of ``chunk_events`` events.

    Args:
        path: the file, for messages.
        datasets: the datasets to read, in order, each with ``n_events`` rows.
        n_events: rows in every dataset.
        chunk_events: rows per block (the last block may be shorter).
        empty_block: yield one empty block for a file without events (else none).
        name_field: a read error names the dataset instead of the events.

    Raises:
        DataFormatError: a block cannot be read (the file is truncated or corrupt).
    """
    for start in range(0, max(n_events, 1) if empty_block else n_events, chunk_events):
        stop = min(n_events, start + chunk_events)
        rows: dict[str, npt.NDArray[Any]] = {}
        for name, ds in datasets.items():
            try:
                rows[name] = np.asarray(ds[start:stop])
            except (OSError, RuntimeError) as err:
                what = (
                    f"field '{name}' cannot be read (file truncated or corrupt: {err})"
                    if name_field
                    else f"cannot read events {start}..{stop} (truncated or corrupt: {err})"
                )
                raise DataFormatError(f"{path}: {what}") from err
        yield EventBlock(start, stop, rows)


class BlockRequest(NamedTuple):
    """What a layout's reader was asked: the file, its attributes and the checks to make."""

    path: Path
    attrs: dict[str, Any]
    binning: Geometry | None
    max_deposit_ratio: float | None


@dataclass(frozen=True)
class LayoutReader:
    """The HDF5 reader of one layout.

    Attributes:
        layout: the layout's name (the ``layout`` attribute the reader adds).
        geometry: the layout's built-in geometry (``binning`` of files without one).
        fields: checks a file's datasets and gives those read per event.
        showers: checks a block of those datasets and converts it to flat showers in MeV.
    """

    layout: str
    geometry: str
    fields: Callable[[h5py.File, Path], EventFields]
    showers: Callable[[BlockRequest, EventBlock], ShowerData]

    def attrs(self, path: str | os.PathLike[str]) -> dict[str, Any]:
        """File attributes plus ``n_events``, ``n_voxels`` and ``layout``, without reading
        showers; files without a ``binning`` attribute get the layout's geometry."""
        path = Path(path)
        with open_h5(path) as f:
            return self._attrs(f, self.fields(f, path))

    def _attrs(self, f: h5py.File, found: EventFields) -> dict[str, Any]:
        attrs = file_attrs(f)
        attrs["n_events"] = int(found.n_events)
        attrs["n_voxels"] = int(found.n_voxels)
        attrs.setdefault("binning", self.geometry)
        attrs["layout"] = self.layout
        return attrs

    def blocks(
        self,
        path: str | os.PathLike[str],
        chunk_events: int,
        binning: Geometry | None,
        max_deposit_ratio: float | None,
    ) -> Iterator[ShowerData]:
        """The file's showers in blocks of ``chunk_events`` events, each checked (at least one
        block, empty for a file without events)."""
        path = Path(path)
        with open_h5(path) as f:  # opened once: the checks, the attributes and the blocks
            found = self.fields(f, path)
            request = BlockRequest(path, self._attrs(f, found), binning, max_deposit_ratio)
            for block in iter_event_blocks(path, found.datasets, found.n_events, chunk_events):
                yield self.showers(request, block)


def geometry_attrs(geometry: Geometry) -> dict[str, str]:
    """The attributes that make a shower file carry ``geometry``.

    ``geometry``: the serialised form (:func:`~fastcalogan.geometry.geometry_to_mapping`) as
    JSON text; ``binning``: the geometry's name, for people and for older readers.

    >>> a = geometry_attrs(load_geometry("ds1-photons"))
    >>> a["binning"], json.loads(a["geometry"])["n_voxels"]
    ('ds1-photons', 368)
    """
    text = json.dumps(geometry_to_mapping(geometry), separators=(",", ":"))
    return {GEOMETRY_ATTR: text, "binning": geometry.name}


def write_file_attrs(
    f: h5py.File, attrs: Mapping[str, Any] | None, geometry: Geometry | None
) -> None:
    """Store ``attrs`` on the file, then (given) the ``geometry`` it carries
    (:func:`geometry_attrs`, which win over ``binning`` in ``attrs``)."""
    carried = geometry_attrs(geometry) if geometry is not None else {}
    for key, value in {**(attrs or {}), **carried}.items():
        f.attrs[key] = value


class GeometryFileWriter(AtomicH5Writer):
    """A shower file that carries its geometry, built in a temporary file and published
    atomically on close.

    Args:
        path: output file.
        geometry: the showers' geometry (default: the layout's built-in
            :attr:`default_geometry`).
        attrs: file attributes (the file carries its geometry too).
        dtype: storage dtype of the energies deposited (cells, overflow).
        chunk_events: events per HDF5 chunk of the showers.

    Subclasses name :attr:`default_geometry`, may refuse a geometry in
    :meth:`_check_geometry` (before any file is made) and create their datasets in
    :meth:`_create_datasets`.
    """

    #: the built-in geometry of the layout
    default_geometry: ClassVar[str]

    def __init__(
        self,
        path: str | os.PathLike[str],
        geometry: Geometry | None = None,
        attrs: Mapping[str, Any] | None = None,
        dtype: npt.DTypeLike = np.float32,
        chunk_events: int = 1024,
    ) -> None:
        self.geometry = geometry or load_geometry(self.default_geometry)
        self._check_geometry(path)
        super().__init__(path)
        self._create_datasets(dtype, chunk_events)
        write_file_attrs(self._file, attrs, self.geometry)
        self.n_events = 0

    def _check_geometry(self, path: str | os.PathLike[str]) -> None:
        """Refuse a :attr:`geometry` the layout cannot hold (all are held by default)."""

    def _create_datasets(self, dtype: npt.DTypeLike, chunk_events: int) -> None:
        """Create the layout's empty datasets on ``self._file``."""
        raise NotImplementedError


class LayoutBlock(NamedTuple):
    """A block handed to a layout's writer: ``incident_energies`` (n,) MeV, and ``showers``,
    ``conditions`` and ``overflow`` as the caller gave them (``None``: not given)."""

    incident_energies: npt.NDArray[np.float64]
    showers: npt.NDArray[Any]
    conditions: npt.ArrayLike | None
    overflow: npt.ArrayLike | None


class LayoutWriter(AtomicH5Writer):
    """A shower file of one layout, written block by block and published atomically on close
    (``close(commit=False)`` drops it): what ``simulate`` and ``convert`` write through.

    Subclasses check and store a block in :meth:`_append_block` and count its events in
    :attr:`n_events`.
    """

    n_events: int

    def append(
        self,
        incident_energies: npt.ArrayLike,
        showers: npt.ArrayLike,
        conditions: npt.ArrayLike | None = None,
        overflow: npt.ArrayLike | None = None,
    ) -> None:
        """Append a block: ``incident_energies`` (n,) MeV, flat ``showers`` (n, n_voxels) MeV,
        and the ``conditions`` (n, k) and ``overflow`` (n, n_layers) MeV where the layout
        stores them."""
        e = np.asarray(incident_energies, dtype=np.float64).reshape(-1)
        self._append_block(LayoutBlock(e, np.asarray(showers), conditions, overflow))
        self.check_io()  # a full disk shows at the block that hit it, not only at close

    def _append_block(self, block: LayoutBlock) -> None:
        """Check and store ``block``, counting its events in :attr:`n_events`."""
        raise NotImplementedError
