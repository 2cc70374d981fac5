"""The campaign status table: one row per stored task, read from the task folders' status files.

The tasks and the iterations asked for come from the campaign folder's ``campaign.json``
(:func:`~fastcalogan.campaign.read_campaign`), not from the YAML file, which may have changed
since the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .engine import read_status
from .manifest import StoredCampaign

__all__ = [
    "TABLE_COLUMNS",
    "TaskRow",
    "collect_status",
    "format_bytes",
    "format_status_table",
    "table_cells",
]


@dataclass(frozen=True)
class TaskRow:
    """The status of one task.

    Attributes:
        task: ``particle/eta_a-b``.
        particle: particle name.
        eta_min, eta_max: the |eta| slice.
        state: ``pending`` (never started), ``running``, ``done`` or ``failed``.
        step: the step running or failed (``None`` when done or pending).
        iteration: last trained iteration (or the running step's progress).
        iterations: iterations asked for.
        chi2_ndf: best chi2/NDF (``None`` before selection, ``inf`` when no checkpoint
            reached a finite value).
        best_iteration: iteration of the best checkpoint.
        weights_bytes: size of the exported generator (``None`` before export).
        response_gan, response_reference: mean E_tot/E_inc at the response energy.
        attempts: runs of this task (retries and re-runs included).
        seconds: summed step wall times.
        error: the failure, if any.
        folder: the task folder.
    """

    task: str
    particle: str
    eta_min: float
    eta_max: float
    state: str
    step: str | None
    iteration: int | None
    iterations: int
    chi2_ndf: float | None
    best_iteration: int | None
    weights_bytes: int | None
    response_gan: float | None
    response_reference: float | None
    attempts: int
    seconds: float
    error: str | None
    folder: Path


def _out(status: dict[str, Any], step: str, key: str) -> Any:
    rec = status.get("steps", {}).get(step, {})
    return rec.get("outputs", {}).get(key) if rec.get("state") == "done" else None


def _chi2(status: dict[str, Any]) -> float | None:
    """Best chi2/NDF; infinite when the selection ran but no checkpoint had a finite one."""
    if status.get("steps", {}).get("select", {}).get("state") != "done":
        return None
    value = _out(status, "select", "chi2_ndf")
    return math.inf if value is None else float(value)


def collect_status(campaign: StoredCampaign) -> list[TaskRow]:
    """One :class:`TaskRow` per stored task of the campaign, in plan order.

    Args:
        campaign: the campaign as stored by ``campaign run`` (:func:`read_campaign`).
    """
    rows = []
    for task in campaign.tasks:
        folder = campaign.directory / task.name
        status = read_status(folder) or {}
        steps = status.get("steps", {})
        state = str(status.get("state", "pending"))
        step = status.get("current_step") if state in ("running", "failed") else None
        iteration = _out(status, "train", "last_iteration")
        progress = status.get("progress")
        if iteration is None and step == "train" and progress:
            iteration = progress.get("done")
        rows.append(
            TaskRow(
                task=task.name,
                particle=task.particle,
                eta_min=task.eta_min,
                eta_max=task.eta_max,
                state=state,
                step=step,
                iteration=None if iteration is None else int(iteration),
                iterations=campaign.config.train.iterations,
                chi2_ndf=_chi2(status),
                best_iteration=_out(status, "select", "best_iteration"),
                weights_bytes=_out(status, "export", "weights_bytes"),
                response_gan=_out(status, "response", "gan_mean"),
                response_reference=_out(status, "response", "reference_mean"),
                attempts=int(status.get("attempts", 0)),
                seconds=round(sum(float(r.get("seconds", 0.0)) for r in steps.values()), 3),
                error=status.get("error"),
                folder=folder,
            )
        )
    return rows


def format_bytes(n: int | None) -> str:
    """``1536 -> '1.5 KiB'``; ``None -> '-'``.

    >>> format_bytes(1536)
    '1.5 KiB'
    """
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def table_cells(row: TaskRow) -> list[str]:
    """The printed cells of a row: task, state, iteration, best chi2/NDF, weights, attempts."""
    state = row.state if row.step is None else f"{row.state} ({row.step})"
    iteration = "-" if row.iteration is None else f"{row.iteration}/{row.iterations}"
    chi2 = "-" if row.chi2_ndf is None else f"{row.chi2_ndf:.3g}"
    if row.best_iteration is not None and row.chi2_ndf is not None:
        chi2 += f" @{row.best_iteration}"
    return [row.task, state, iteration, chi2, format_bytes(row.weights_bytes), str(row.attempts)]


#: Column titles of :func:`table_cells`.
TABLE_COLUMNS = ("task", "state", "iteration", "best chi2/NDF", "weights", "attempts")


def format_status_table(rows: list[TaskRow]) -> str:
    """The status table as aligned plain text (for logs and reports)."""
    cells = [list(TABLE_COLUMNS), *(table_cells(r) for r in rows)]
    widths = [max(len(c[i]) for c in cells) for i in range(len(TABLE_COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    total = sum(r.weights_bytes or 0 for r in rows)
    done = sum(r.state == "done" for r in rows)
    lines.append(f"{done}/{len(rows)} tasks done; exported generators: {format_bytes(total)}")
    return "\n".join(line.rstrip() for line in lines)
