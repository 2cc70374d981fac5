"""Atomic file writes: a reader never sees a half-written output.

Every output and checkpoint goes to a temporary file in the destination folder and is then
renamed over the target, which is atomic on POSIX file systems.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = ["atomic_path", "json_safe", "refuse_overwrite", "write_json", "write_text"]

# the process's umask, read once (reading it means setting it): temporary files are created
# private (0600) and get the mode an ordinary new file would have before the rename
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _about(err: OSError, target: Path) -> OSError:
    """The same refusal, naming the output the caller asked for, not its temporary file."""
    return type(err)(err.errno, err.strerror, str(target))


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    The temporary file is removed if the block raises, so a crash leaves the previous
    version of ``target`` (or nothing) in place.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "x.txt") as tmp:
    ...     _ = tmp.write_text("hello")
    >>> (d / "x.txt").read_text()
    'hello'
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as err:
        raise _about(err, target) from err
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            os.replace(tmp, target)
        except OSError as err:
            raise _about(err, target) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def refuse_overwrite(
    out: str | os.PathLike[str], inputs: Iterable[str | os.PathLike[str] | None], what: str
) -> None:
    """Raise ConfigError if ``out`` is one of ``inputs`` (an atomic write would replace it).

    >>> refuse_overwrite("a.h5", ["b.h5"], "input")
    >>> refuse_overwrite("a.h5", ["./a.h5"], "input shower file")
    Traceback (most recent call last):
    ...
    fastcalogan.errors.ConfigError: a.h5: the output would overwrite the input shower file ./a.h5
    """
    target = Path(out).resolve()
    for path in inputs:
        if path is not None and Path(path).resolve() == target:
            raise ConfigError(f"{out}: the output would overwrite the {what} {path}")


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
