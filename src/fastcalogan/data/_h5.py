"""HDF5 plumbing shared by the shower and hit files: validated opening, atomic writing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Self

import h5py

from .._fileio import atomic_path
from ..errors import DataFormatError

__all__ = ["AtomicH5Writer", "open_h5"]


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


class AtomicH5Writer:
    """An HDF5 file built in a temporary file and renamed onto ``path`` on a clean close.

    Subclasses create their datasets on ``self._file`` and append to them; a block that
    raises, or ``close(commit=False)``, leaves nothing (or the previous file) at ``path``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        self._file = h5py.File(self._ctx.__enter__(), "w")

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
