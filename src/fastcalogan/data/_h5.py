"""HDF5 plumbing shared by the shower and hit files: validated opening, atomic writing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

import h5py
import numpy as np
import numpy.typing as npt

from .._fileio import atomic_path
from ..errors import DataFormatError

__all__ = ["AtomicH5Writer", "open_h5", "require_dataset"]


def open_h5(path: Path) -> h5py.File:
    """Open an HDF5 file for reading; missing, truncated or foreign files raise one line."""
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as err:
        raise DataFormatError(
            f"{path}: cannot open as HDF5 (truncated or not an HDF5 file: {err})"
        ) from err


def require_dataset(
    f: h5py.File, path: Path, name: str, ndim: int | tuple[int, ...]
) -> h5py.Dataset:
    """The dataset ``name`` with ``ndim`` dimensions, or one line naming the file and field."""
    if name not in f:
        raise DataFormatError(f"{path}: missing dataset '{name}' (found {sorted(f.keys())})")
    ds = f[name]
    dims = (ndim,) if isinstance(ndim, int) else ndim
    if not isinstance(ds, h5py.Dataset) or ds.ndim not in dims:
        shape = getattr(ds, "shape", None)
        raise DataFormatError(
            f"{path}: field '{name}' must be a {' or '.join(map(str, dims))}-D dataset, "
            f"found shape {shape}"
        )
    if not np.issubdtype(ds.dtype, np.number):
        raise DataFormatError(f"{path}: field '{name}' must be numeric, found dtype {ds.dtype}")
    return ds


class AtomicH5Writer:
    """An HDF5 file built in a temporary file and renamed onto ``path`` on a clean close.

    Subclasses create their datasets on ``self._file`` and append to them; a block that
    raises, or ``close(commit=False)``, leaves nothing (or the previous file) at ``path``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._file = h5py.File(self._ctx.__enter__(), "w")

    def _extendable(
        self,
        name: str,
        tail: tuple[int, ...],
        dtype: npt.DTypeLike,
        chunk_events: int = 1024,
        compression_level: int = 4,
    ) -> h5py.Dataset:
        """An empty dataset ``(0, *tail)`` that grows along the events axis, gzip-compressed."""
        return self._file.create_dataset(
            name,
            shape=(0, *tail),
            maxshape=(None, *tail),
            dtype=dtype,
            chunks=(max(1, chunk_events), *tail),
            compression="gzip",
            compression_opts=compression_level,
        )

    @staticmethod
    def _grow(ds: h5py.Dataset, block: npt.ArrayLike) -> None:
        """Append ``block`` (events first) to an extendable dataset."""
        b = np.asarray(block)
        n0 = ds.shape[0]
        ds.resize((n0 + b.shape[0], *ds.shape[1:]))
        ds[n0:] = b

    def close(self, commit: bool = True) -> None:
        """Finish the file; with ``commit`` false, drop it (nothing is published)."""
        if self._file.id.valid:
            self._file.close()
        if commit:
            self._ctx.__exit__(None, None, None)
        else:
            err = RuntimeError("aborted")
            self._ctx.__exit__(type(err), err, None)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(commit=exc_type is None)
