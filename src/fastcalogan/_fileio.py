"""Files a command writes: atomic, durable, never one of its inputs, room checked first.

Every output and checkpoint goes to a temporary file in the destination folder, is flushed to
disk (``fsync``) and is then renamed over the target, which is atomic on POSIX file systems;
the folder is flushed after the rename (``FASTCALOGAN_FSYNC=0`` skips the flushes). A failure
on the way (a full disk, a read-only folder) names the target, never the temporary file, and
leaves the previous version in place.

:class:`PathPlan` is the one place where a command declares the paths it reads and writes; its
:meth:`~PathPlan.check` runs before any work and refuses an output that is one of the inputs
(resolved paths and same-file checks), a file output that is a folder (and the reverse), an
output in a folder that cannot be written, and says when an existing file is replaced.
:func:`check_free_space` refuses a long write that cannot fit.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import OutputError

__all__ = [
    "PathPlan",
    "atomic_path",
    "check_free_space",
    "format_size",
    "fsync_folder",
    "json_safe",
    "write_bytes",
    "write_json",
    "write_text",
]

log = logging.getLogger(__name__)

# the process's umask, read once (reading it means setting it): temporary files are created
# private (0600) and get the mode an ordinary new file would have before the rename
_UMASK = os.umask(0o022)
os.umask(_UMASK)

#: Extra room asked for on top of an estimated size: 5 % and 256 KiB (file-system blocks,
#: metadata, the estimate's own error).
_SPACE_FACTOR = 1.05
_SPACE_SLACK = 256 << 10


def _about(err: OSError, target: Path) -> OSError:
    """The same refusal, naming the output the caller asked for, not its temporary file."""
    return type(err)(err.errno, err.strerror or os.strerror(err.errno or 0), str(target))


def _durable() -> bool:
    """Whether writes are flushed to disk: ``FASTCALOGAN_FSYNC=0`` turns it off (test suites,
    scratch work on a slow disk: a flush costs about 10 ms)."""
    return os.environ.get("FASTCALOGAN_FSYNC", "1") != "0"


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries (a rename in it) to disk; file systems that cannot are skipped."""
    if not _durable():
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EISDIR):
            raise
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    if not _durable():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; flush it and rename it onto ``target`` on
    success.

    The temporary file is removed if the block raises, so a crash leaves the previous
    version of ``target`` (or nothing) in place. A file-system error inside the block about
    the temporary file (``ENOSPC``: no space left) is raised naming ``target``.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise _about(err, target) from err
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            yield tmp
        except OSError as err:
            if err.filename not in (None, name, str(tmp)):
                raise
            raise _about(err, target) from err
        try:
            _fsync_file(tmp)
            os.replace(tmp, target)
            fsync_folder(target.parent)
        except OSError as err:
            raise _about(err, target) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def format_size(n: float) -> str:
    """Bytes for people: ``1536 -> '1.5 KiB'``.

    >>> format_size(1536), format_size(3 * 2**40), format_size(1e24)
    ('1.5 KiB', '3.0 TiB', '9.09e+11 TiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "B":
        return f"{value:.0f} B"
    return f"{value:.1f} {unit}" if abs(value) < 1e4 else f"{value:.3g} {unit}"


def _existing_ancestor(path: Path) -> Path:
    """The path itself or its nearest ancestor that exists."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_free_space(
    target: str | os.PathLike[str], needed_bytes: float, what: str, detail: str = ""
) -> None:
    """Raise :class:`OutputError` if ``target``'s file system cannot take ``needed_bytes``.

    Asked for before long writes whose size is known (shower files, checkpoints): a file
    system that fills up half-way costs the work done and can crash the HDF5 library. The
    check asks for 5 % and 256 KiB on top of the estimate.

    Args:
        target: the output (file or folder); it need not exist yet.
        needed_bytes: the estimated size of what will be written.
        what: what is written, for the message ("shower file", "checkpoints").
        detail: how the estimate was made, for the message.
    """
    where = _existing_ancestor(Path(target))
    try:
        st = os.statvfs(where)
    except OSError:  # pragma: no cover - no statvfs here: nothing to check against
        return
    if st.f_blocks == 0:  # /proc, /sys: nothing is stored there
        raise OutputError(
            f"{target}: cannot write the {what}: {where} is on a file system that stores no files"
        )
    free = st.f_bavail * st.f_frsize
    need = needed_bytes * _SPACE_FACTOR + _SPACE_SLACK
    if need > free:
        how = f" ({detail})" if detail else ""
        raise OutputError(
            f"{target}: not enough free space for the {what}: about {format_size(needed_bytes)} "
            f"needed{how}, {format_size(need)} with a margin, {format_size(free)} free on "
            f"{where}; free some space or write elsewhere"
        )


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file: same inode if both exist, else same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


class PathPlan:
    """The paths a command reads and writes, checked together before any work.

    Declare every input (data, binning or geometry file, config file, a run's training data
    and checkpoints, an ONNX file and its sidecar) with :meth:`read` and every output with
    :meth:`write`, then call :meth:`check`.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "b.xml").write_text("<Bins/>") and None
    >>> plan = PathPlan().read(d / "hits.h5", "input hit file").read(d / "b.xml", "binning file")
    >>> plan.write(d / "b.xml", "shower file").check()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fastcalogan.errors.OutputError: .../b.xml: the shower file would overwrite the binning file ...
    """

    def __init__(self) -> None:
        self._reads: list[tuple[Path, str]] = []
        self._writes: list[tuple[Path, str, bool, bool, str | None]] = []

    def read(self, path: str | os.PathLike[str] | None, what: str) -> PathPlan:
        """Declare an input (``None`` is ignored); returns the plan."""
        if path is not None and str(path) != "":
            self._reads.append((Path(path), what))
        return self

    def read_all(self, paths: Iterable[str | os.PathLike[str] | None], what: str) -> PathPlan:
        """Declare several inputs of one kind."""
        for p in paths:
            self.read(p, what)
        return self

    def write(
        self,
        path: str | os.PathLike[str],
        what: str,
        folder: bool = False,
        quiet: bool = False,
        may_replace: str | None = None,
    ) -> PathPlan:
        """Declare an output: a file, or with ``folder`` a folder the command fills.

        Args:
            path: the output.
            what: what it is, for messages ("shower file").
            folder: the output is a folder.
            quiet: a file the command rewrites by design (a run folder's own files on
                resume): replacing it is not said.
            may_replace: the kind of input (as declared with :meth:`read`) this output may be:
                the output holds that input's content in resolved form (a run's
                ``config.yaml`` written from the config file it was read from).
        """
        self._writes.append((Path(path), what, folder, quiet, may_replace))
        return self

    @property
    def inputs(self) -> list[Path]:
        """The declared inputs."""
        return [p for p, _ in self._reads]

    def check(self) -> None:
        """Refuse outputs that cannot or must not be written; say which files are replaced.

        Raises:
            OutputError: an output is one of the inputs or another output, a folder where a
                file is expected (or a file where a folder is), below a file, or in a folder
                that cannot be written.
        """
        for i, (out, what, folder, _, may_replace) in enumerate(self._writes):
            _check_writable(out, what, folder)
            for inp, inp_what in self._reads:
                if inp_what != may_replace and _same_file(out, inp):
                    raise OutputError(f"{out}: the {what} would overwrite the {inp_what} {inp}")
            for other, other_what, *_ in self._writes[:i]:
                if _same_file(out, other):
                    raise OutputError(f"{out}: named for both the {other_what} and the {what}")
        for out, what, folder, quiet, _ in self._writes:
            if not (folder or quiet) and out.is_file():
                log.warning("%s: replacing the existing file (%s)", out, what)


def _check_writable(out: Path, what: str, folder: bool) -> None:
    if out.exists():
        if folder and not out.is_dir():
            raise OutputError(f"{out}: expected a folder for the {what}, found a file")
        if not folder and out.is_dir():
            raise OutputError(f"{out}: is a folder; expected a file name for the {what}")
    where = _existing_ancestor(out if folder else out.parent)
    if not where.is_dir():
        raise OutputError(f"{out}: cannot write the {what}: {where} is a file, not a folder")
    if not os.access(where, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: cannot write the {what}: the folder {where} is not writable")


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)


def json_safe(obj: Any) -> Any:
    """A JSON-ready copy: NaN/inf -> None, numpy arrays and scalars -> Python, tuples ->
    lists, paths -> strings, mapping keys -> strings.

    >>> json_safe({"a": (float("nan"), 1)})
    {'a': [None, 1]}
    """
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(target: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented, strict JSON to ``target`` atomically and return the path.

    NaN and infinities become ``null``.

    >>> import tempfile, pathlib
    >>> p = write_json(pathlib.Path(tempfile.mkdtemp()) / "x.json", {"chi2": float("inf")})
    >>> p.read_text().split()
    ['{', '"chi2":', 'null', '}']
    """
    text = json.dumps(json_safe(obj), indent=2, sort_keys=True, default=str, allow_nan=False)
    return write_text(target, text + "\n")
