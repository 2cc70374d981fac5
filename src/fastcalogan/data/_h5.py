"""HDF5 plumbing shared by the shower and hit files: validated opening, atomic writing.

Writers build their file in a temporary file through :class:`_GuardedFile`, a Python file
object handed to h5py: when the file system refuses a write (``ENOSPC``: the disk is full,
``EDQUOT``, ``EIO``), the guard keeps the first error and lets the HDF5 library finish in
memory instead of failing inside it. The HDF5 library does not survive a failed write well
(closing such a file has crashed whole processes with SIGSEGV or SIGBUS); with the guard it
closes cleanly, the temporary file is dropped and one ``OSError`` naming the output is raised.
"""

from __future__ import annotations

import io
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


class _GuardedFile(io.RawIOBase):
    """A read/write file that keeps its first write error instead of raising it.

    After an error, writes are counted but dropped, reads give zeros, and the size and
    position are tracked in memory, so the HDF5 library can finish and close the file.
    :attr:`error` holds what went wrong.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._f = open(path, "r+b", buffering=0)
        self.error: OSError | None = None
        self._pos = 0
        self._size = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _fail(self, err: OSError) -> None:
        if self.error is None:
            self.error = err

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if self.error is None:
            self._pos = self._f.seek(offset, whence)
            return self._pos
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def write(self, data: Any) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        if self.error is None:
            try:
                done = 0
                while done < n:
                    k = self._f.write(view[done:])
                    if not k:
                        raise OSError(28, os.strerror(28))
                    done += k
            except OSError as err:
                self._fail(err)
        self._pos += n
        self._size = max(self._size, self._pos)
        return n

    def readinto(self, buffer: Any) -> int:
        if self.error is None:
            try:
                k = self._f.readinto(buffer)
                self._pos += k or 0
                return k or 0
            except OSError as err:
                self._fail(err)
        view = memoryview(buffer).cast("B")
        k = max(0, min(len(view), self._size - self._pos))
        view[:k] = bytes(k)
        self._pos += k
        return k

    def truncate(self, size: int | None = None) -> int:
        size = self._pos if size is None else size
        if self.error is None:
            try:
                self._f.truncate(size)
            except OSError as err:
                self._fail(err)
        self._size = size
        return size

    def flush(self) -> None:
        pass  # unbuffered; atomic_path flushes the file to disk before the rename

    def close(self) -> None:
        if not self.closed:
            super().close()
            self._f.close()


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

    Subclasses create their datasets on ``self._file``, append to them and call
    :meth:`check_io` after each block; a block that raises, or ``close(commit=False)``,
    leaves nothing (or the previous file) at ``path``. A write the file system refused
    (disk full) is raised by :meth:`check_io` and :meth:`close` as one ``OSError`` naming
    ``path``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._ctx = atomic_path(self.path)
        tmp = self._ctx.__enter__()
        try:
            self._guard = _GuardedFile(tmp)
            self._file = h5py.File(self._guard, "w")
        except BaseException as err:
            self._ctx.__exit__(type(err), err, err.__traceback__)
            raise

    def check_io(self) -> None:
        """Raise the file system's refusal of a write so far, naming :attr:`path`."""
        err = self._guard.error
        if err is not None:
            raise OSError(err.errno, err.strerror or os.strerror(err.errno or 0), str(self.path))

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
        """Finish the file; with ``commit`` false, drop it (nothing is published).

        Raises:
            OSError: the file system refused a write (disk full): nothing is published.
        """
        failure: BaseException | None = None
        try:
            if self._file.id.valid:
                self._file.close()
        except Exception as err:  # the HDF5 library's own refusal: nothing is published
            failure = err
        finally:
            self._guard.close()
        if self._guard.error is not None:
            g = self._guard.error
            failure = OSError(g.errno, g.strerror or os.strerror(g.errno or 0), str(self.path))
        if commit and failure is None:
            self._ctx.__exit__(None, None, None)
            return
        exc = failure if failure is not None else RuntimeError("aborted")
        self._ctx.__exit__(type(exc), exc, None)
        if commit:
            raise exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.close(commit=exc_type is None)
