"""One writer per folder: an exclusive lock with its holder's pid and host written beside it.

A run folder (``train``, ``select``) and a campaign folder (``campaign run``) are written by one
process at a time. The lock is an operating-system file lock (``filelock``: ``flock`` on POSIX),
released by the system when its process dies, so a killed run leaves no stale lock behind. Its
companion file ``<lock>.json`` records who holds it (pid, host, command, since when), which is
what a refused second writer reports in its one-line error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import filelock

from ._fileio import write_text
from .errors import LockError

__all__ = ["exclusive_writer", "lock_holder"]


def _lock_paths(folder: Path, purpose: str) -> tuple[Path, Path]:
    lock = folder / f".{purpose}.lock"
    return lock, lock.with_name(lock.name + ".json")


def _command() -> str:
    words = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else []
    text = " ".join(words)
    return text if len(text) <= 200 else text[:197] + "..."


def lock_holder(folder: str | os.PathLike[str], purpose: str) -> dict[str, Any] | None:
    """The holder record of ``folder``'s ``purpose`` lock (pid, host, command, since), if any."""
    _, owner = _lock_paths(Path(folder), purpose)
    try:
        data = json.loads(owner.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _describe(holder: dict[str, Any] | None) -> str:
    if holder is None:
        return "another process (it has not recorded its pid yet)"
    text = f"pid {holder.get('pid')} on host {holder.get('host')}"
    if holder.get("command"):
        text += f" ('{holder['command']}'"
        text += f", since {holder['since']})" if holder.get("since") else ")"
    return text


@contextlib.contextmanager
def exclusive_writer(
    folder: str | os.PathLike[str], purpose: str, what: str, advice: str = ""
) -> Iterator[None]:
    """Hold ``folder``'s ``purpose`` lock while the block runs; refuse a second holder.

    Args:
        folder: the folder written (created if missing).
        purpose: the lock's name (``training``, ``selection``, ``campaign``): a folder has one
            lock per purpose, so that, e.g., a selection may run beside a training.
        what: what the holder writes, for the message ("this run folder's training").
        advice: what to do instead, appended to the message.

    Raises:
        LockError: another process (or another writer of this one) holds the lock; the
            message names its pid and host.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_path, owner_path = _lock_paths(folder, purpose)
    lock = filelock.FileLock(lock_path, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as err:
        holder = _describe(lock_holder(folder, purpose))
        tail = f"; {advice}" if advice else ""
        raise LockError(f"{folder}: {what} is in progress in {holder}{tail}") from err
    except OSError as err:
        raise type(err)(err.errno, err.strerror, str(lock_path)) from err
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": _command(),
        "since": dt.datetime.now().isoformat(timespec="seconds"),
    }
    # who holds the lock is a courtesy for the next writer: a full disk must not stop the work
    with contextlib.suppress(OSError):
        write_text(owner_path, json.dumps(record) + "\n")
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            owner_path.unlink()
        lock.release()
