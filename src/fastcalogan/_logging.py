"""A readable log file for long work (simulation, training, campaigns)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["ProgressCallback", "log_to_file"]

#: ``callback(done, total)``: library functions report progress through this; the CLI draws it.
ProgressCallback = Callable[[int, int], None]


class _LogFileHandler(logging.FileHandler):
    """A log file that goes quiet when it cannot be written (a full disk) instead of printing
    a traceback for every record; the terminal and the command's own error still tell."""

    _broken = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self._broken:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        self._broken = True


@contextlib.contextmanager
def log_to_file(path: str | os.PathLike[str], level: int = logging.INFO) -> Iterator[Path]:
    """Append the ``fastcalogan`` loggers' records to ``path`` while the block runs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _LogFileHandler(path, encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    handler.setLevel(level)
    logger = logging.getLogger("fastcalogan")
    old_level = logger.level
    if logger.level == logging.NOTSET or logger.level > level:
        logger.setLevel(level)
    logger.addHandler(handler)
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        handler.close()
