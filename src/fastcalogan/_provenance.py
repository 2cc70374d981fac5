"""Where an output came from: package version and the git commit of the source tree."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from . import __version__

__all__ = ["git_hash", "provenance"]


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
