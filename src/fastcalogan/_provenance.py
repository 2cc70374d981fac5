"""Where an output came from: package and library versions, git commit, host, data checksum."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
import subprocess
from importlib import metadata
from pathlib import Path

from . import __version__

__all__ = ["LIBRARIES", "file_sha256", "git_hash", "host", "library_versions", "provenance"]

#: The distributions whose versions a training run records (run.json ``versions``).
LIBRARIES: tuple[str, ...] = ("torch", "numpy", "h5py", "onnx", "onnxruntime")


@functools.cache
def git_hash() -> str | None:
    """The commit of the checkout the package runs from, or ``None`` outside a git tree."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def provenance() -> dict[str, str | None]:
    """``{"fastcalogan_version": ..., "git_hash": ...}`` for output folders and checkpoints."""
    return {"fastcalogan_version": __version__, "git_hash": git_hash()}


def library_versions() -> dict[str, str | None]:
    """fastcalogan's, Python's and each of :data:`LIBRARIES`' version (``None``: absent).

    Read from the installed distributions' metadata: nothing is imported.

    >>> versions = library_versions()
    >>> list(versions)[:3], versions["numpy"] is not None
    (['fastcalogan', 'python', 'torch'], True)
    """
    out: dict[str, str | None] = {"fastcalogan": __version__, "python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def host() -> str:
    """This machine's host name."""
    return socket.gethostname()


def file_sha256(path: str | os.PathLike[str], block_bytes: int = 1 << 22) -> str:
    """SHA-256 of a file's bytes, hex (read in blocks: files larger than memory are fine).

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> file_sha256(f.name)[:16]
    'ba7816bf8f01cfea'
    >>> os.remove(f.name)
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(block_bytes):
            digest.update(block)
    return digest.hexdigest()
