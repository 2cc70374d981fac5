"""Optional tracking: training losses, selection chi2/NDF and evaluation metrics to TensorBoard.

``--tensorboard`` on ``train``, ``select`` and ``evaluate`` writes TensorBoard event files
(``torch.utils.tensorboard``; the ``tensorboard`` package comes with the extra
``pip install 'fastcalogan[tensorboard]'``) into the run folder's ``tensorboard/``, one
TensorBoard run per command (``tensorboard --logdir RUN/tensorboard`` shows all three):

- ``train/``: every logged loss (``loss/<column>``, and ``active_points``) at its iteration,
  from the run's ``losses.csv`` as the trainer appends to it (``range-k/...`` for split runs);
- ``select/``: chi2/NDF of every checkpoint (``selection/chi2_ndf``) and per energy point
  (``selection/chi2_ndf/E=1024``) at the checkpoint's iteration;
- ``evaluate/``: the headline metrics (``evaluate/<key>``) at the iteration of the checkpoint
  the generated file came from, in that run's folder (else in the output folder, step 0).

The run folder's tables stay the record: each ``train`` (``select``) session logs its table
whole and hides what earlier sessions logged (TensorBoard's ``purge_step``), so a resumed run
shows one clean curve. Without the extra nothing changes; asking for it gives one line saying
how to install it. Nothing here is imported when the command line starts.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import ConfigError

__all__ = [
    "ENABLE_HINT",
    "TENSORBOARD_DIR",
    "LossFollower",
    "log_metrics",
    "log_selection",
    "open_writer",
    "require_tensorboard",
    "tensorboard_note",
    "tensorboard_option",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The event files' folder inside a run folder (or an evaluation's output folder).
TENSORBOARD_DIR = "tensorboard"
#: How to get TensorBoard logging.
ENABLE_HINT = "pip install 'fastcalogan[tensorboard]'"
#: A running training re-reads its loss table at most this often (seconds).
_POLL_SECONDS = 2.0


def tensorboard_option(what: str) -> Callable[[F], F]:
    """``--tensorboard``: also write ``what`` to TensorBoard (parameter ``tensorboard``)."""
    return click.option(
        "--tensorboard",
        is_flag=True,
        help=f"Also log {what} to TensorBoard, in the run folder's {TENSORBOARD_DIR}/ "
        f"(needs {ENABLE_HINT}).",
    )


def tensorboard_note(folder: Path, enabled: bool) -> str:
    """The line ``train`` prints about TensorBoard: the command to run, or how to turn it on."""
    if enabled:
        return f"TensorBoard: tensorboard --logdir {folder / TENSORBOARD_DIR}"
    return f"TensorBoard: off (add --tensorboard; needs {ENABLE_HINT})"


def require_tensorboard() -> Any:
    """``torch.utils.tensorboard.SummaryWriter``; commands call it before their work.

    Raises:
        ConfigError: TensorBoard is not installed (one line: how to install it).
    """
    try:
        import tensorboard  # noqa: F401  (torch's writer needs it; its absence is the user's fix)
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError(f"--tensorboard: TensorBoard is not installed ({ENABLE_HINT})") from err
    return SummaryWriter


def open_writer(logdir: Path, purge_step: int | None = None) -> Any:
    """A ``torch.utils.tensorboard.SummaryWriter`` on ``logdir``.

    Raises:
        ConfigError: TensorBoard is not installed (one line: how to install it).
    """
    writer_class = require_tensorboard()
    logdir.mkdir(parents=True, exist_ok=True)
    return writer_class(log_dir=str(logdir), purge_step=purge_step)


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else math.nan
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class LossFollower:
    """Forwards the rows of a run's ``losses.csv`` (and its ranges') to TensorBoard.

    Call :meth:`poll` as training progresses (it reads at most every few seconds, and only
    what was appended since) and :meth:`close` at the end. The first poll logs the whole
    table and hides steps an earlier session logged (``purge_step``).

    Args:
        run_dir: the run folder being trained.

    Raises:
        ConfigError: TensorBoard is not installed.
    """

    def __init__(self, run_dir: Path) -> None:
        require_tensorboard()  # before the work; the event file is opened with the first rows
        self.run_dir = Path(run_dir)
        self.logdir = self.run_dir / TENSORBOARD_DIR / "train"
        self.writer: Any = None
        self._offsets: dict[Path, int] = {}
        self._columns: dict[Path, list[str]] = {}
        self._last = -math.inf

    def _tables(self) -> list[tuple[str, Path]]:
        """(tag prefix, losses.csv) of the run, or of each range of a split run."""
        from ..errors import FastCaloGANError
        from ..train import RunFolder

        folder = RunFolder(self.run_dir)
        try:
            parts = folder.parts()
        except FastCaloGANError:
            return []
        if parts == [folder]:
            return [("", folder.losses_csv)]
        return [(f"{part.path.name}/", part.losses_csv) for part in parts]

    def poll(self, force: bool = False) -> int:
        """Log the rows appended since the last poll; returns how many were logged."""
        now = time.monotonic()
        if not force and now - self._last < _POLL_SECONDS:
            return 0
        self._last = now
        n = 0
        for prefix, path in self._tables():
            n += self._follow(prefix, path)
        if n:
            self.writer.flush()
        return n

    def _writer(self) -> Any:
        if self.writer is None:
            self.writer = open_writer(self.logdir, purge_step=0)
        return self.writer

    def _follow(self, prefix: str, path: Path) -> int:
        try:
            size = path.stat().st_size
        except OSError:
            return 0
        offset = self._offsets.get(path, 0)
        if size < offset:  # rewritten (a resume drops rows beyond its checkpoint)
            offset = 0
            self._columns.pop(path, None)
        if size == offset:
            return 0
        with path.open("rb") as fh:
            fh.seek(offset)
            chunk = fh.read(size - offset)
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a row being written waits for its end
        self._offsets[path] = offset + len(complete)
        n = 0
        for row in csv.reader(io.StringIO(complete.decode(errors="replace"))):
            if path not in self._columns:
                self._columns[path] = row
                continue
            values = dict(zip(self._columns[path], row, strict=False))
            step = _number(values.pop("iteration", None))
            if step is None:
                continue
            for name, text in values.items():
                value = _number(text)
                if value is not None:
                    tag = "active_points" if name == "active_points" else f"loss/{name}"
                    self._writer().add_scalar(prefix + tag, value, int(step))
            n += 1
        return n

    def close(self) -> None:
        """Log what is left and close the event file."""
        self.poll(force=True)
        if self.writer is not None:
            self.writer.close()


def log_selection(run_dir: Path, rows: Any) -> Path:
    """chi2/NDF per checkpoint (and per energy point) at each checkpoint's iteration.

    Args:
        run_dir: the run folder (event files go to its ``tensorboard/select/``).
        rows: ``SelectionRow``s (split runs: each with its ``range``).

    Returns:
        The event-file folder.
    """
    logdir = Path(run_dir) / TENSORBOARD_DIR / "select"
    writer = open_writer(logdir, purge_step=0)  # the new table replaces earlier ones
    try:
        for row in rows:
            prefix = f"{row.range}/" if getattr(row, "range", None) else ""
            if math.isfinite(row.chi2_ndf):
                writer.add_scalar(f"{prefix}selection/chi2_ndf", row.chi2_ndf, row.iteration)
            for point in row.points:
                if math.isfinite(point.chi2_ndf):
                    writer.add_scalar(
                        f"{prefix}selection/chi2_ndf/{point.label}", point.chi2_ndf, row.iteration
                    )
    finally:
        writer.close()
    return logdir


def log_metrics(logdir: Path, metrics: Mapping[str, Any], step: int) -> Path:
    """The numeric entries of ``metrics`` as ``evaluate/<key>`` at ``step``; booleans as 0/1."""
    writer = open_writer(logdir)
    try:
        for key, value in metrics.items():
            if isinstance(value, bool | int | float) and math.isfinite(float(value)):
                writer.add_scalar(f"evaluate/{key}", float(value), step)
    finally:
        writer.close()
    return logdir
