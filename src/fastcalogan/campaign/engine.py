"""The step engine: run a task's chain of steps, recorded in the task's ``status.json``.

Each task owns a folder ``<campaign>/<particle>/eta_<min>-<max>/`` with a ``status.json``
(written atomically) that records, per step, its state, a fingerprint of the settings it ran
with, its attempts, timings and outputs. Running a task again skips every step that is done
with the same fingerprint and whose outputs still exist; a step that did not finish runs
again, and training resumes from its checkpoints by itself. Changing a step's settings reruns
it and every step after it.

A step may be *skipped*: by its settings (export disabled: current for as long as its
fingerprint is unchanged) or because a feature is missing (``Step.unavailable``: current for
as long as the feature is still missing, run once it arrives).

The engine knows nothing of the concrete chain (:mod:`.steps`); the steps are a list of
:class:`Step` objects, so tests (and users) can run other chains.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._fileio import write_json
from .._logging import log_to_file
from ..errors import ConfigError, DataFormatError
from .config import CampaignConfig
from .plan import StageConfigs, TaskSpec, stage_configs

__all__ = [
    "STATUS_FILE",
    "Step",
    "StepSkipped",
    "TaskContext",
    "TaskOutcome",
    "fingerprint",
    "read_status",
    "run_task",
    "task_finished",
]

log = logging.getLogger(__name__)

#: Name of the status file in each task folder.
STATUS_FILE = "status.json"
STATUS_SCHEMA_VERSION = 1
#: Seconds between status updates from a step's progress callback.
PROGRESS_INTERVAL_S = 2.0


class StepSkipped(Exception):
    """Raised by a step that has nothing to do (disabled, or a feature not installed)."""


def _no_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return None


@dataclass(frozen=True)
class Step:
    """One step of a task.

    Attributes:
        name: step name (a key in ``status.json``).
        run: ``run(ctx) -> outputs``; outputs are JSON values; keys ending in ``_path`` or
            ``_dir`` hold paths relative to the task folder (or absolute) that must exist for
            the step to count as done. Raise :class:`StepSkipped` when there is nothing to do.
        settings: ``settings(config, task) -> JSON``: what the step depends on; a change
            reruns the step and the steps after it.
        unavailable: ``unavailable() -> reason | None``, asked before the step runs: a step
            skipped for a reason is run again once the reason has gone away.
    """

    name: str
    run: Callable[[TaskContext], Mapping[str, Any]]
    settings: Callable[[CampaignConfig, TaskSpec], Any] = _no_settings
    unavailable: Callable[[], str | None] | None = None


def fingerprint(step: Step, config: CampaignConfig, task: TaskSpec) -> str:
    """A short hash of what ``step`` depends on (its ``settings``)."""
    settings = step.settings(config, task)
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class TaskContext:
    """What a step sees: the campaign, its task, its folder and the earlier steps' outputs.

    Attributes:
        config: the campaign.
        task: this task.
        folder: the task folder (absolute).
        outputs: outputs of the steps before this one, by step name.
        attempt: 1 for the first run of this task, 2 for its first retry, ...
    """

    config: CampaignConfig
    task: TaskSpec
    folder: Path
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempt: int = 1
    _status: dict[str, Any] = field(default_factory=dict, repr=False)
    _last_write: float = field(default=0.0, repr=False)
    _stages: StageConfigs | None = field(default=None, repr=False)

    @property
    def stages(self) -> StageConfigs:
        """The task's typed stage configs (as the driver built them; else built once here)."""
        if self._stages is None:
            self._stages = self.task.stages or stage_configs(self.config, self.task)
        return self._stages

    def path(self, value: str | os.PathLike[str]) -> Path:
        """A path of an output: relative ones are taken inside the task folder."""
        p = Path(value)
        return p if p.is_absolute() else self.folder / p

    def output(self, step: str, key: str) -> Any:
        """Output ``key`` of the earlier step ``step``."""
        try:
            return self.outputs[step][key]
        except KeyError as err:
            raise ConfigError(
                f"task {self.task.name}: step needs output '{key}' of step '{step}', "
                f"which is missing (steps run: {list(self.outputs)})"
            ) from err

    def relative(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the task folder when inside it, else absolute."""
        p = Path(path).resolve()
        try:
            return str(p.relative_to(self.folder.resolve()))
        except ValueError:
            return str(p)

    def progress(self, done: int, total: int, status: str = "") -> None:
        """Progress callback for long steps: records ``done / total`` in the status file."""
        self._status["progress"] = {"done": int(done), "total": int(total), "note": status}
        now = time.monotonic()
        if now - self._last_write >= PROGRESS_INTERVAL_S or done >= total:
            self._last_write = now
            _write_status(self.folder, self._status)


@dataclass(frozen=True)
class TaskOutcome:
    """What :func:`run_task` returns to the driver.

    Attributes:
        task: the task's name.
        state: ``done`` (every step done or skipped).
        ran: steps that ran in this call.
        skipped: steps that were already done.
        seconds: wall time of this call.
    """

    task: str
    state: str
    ran: tuple[str, ...]
    skipped: tuple[str, ...]
    seconds: float


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def read_status(folder: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A task folder's status (``None`` when it has none yet)."""
    path = Path(folder) / STATUS_FILE
    try:
        status = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as err:
        raise DataFormatError(f"{path}: unreadable status file ({err})") from err
    if not isinstance(status, dict):
        found = f"a {type(status).__name__}"
    elif not isinstance(steps := status.get("steps", {}), dict):
        found = f"'steps' as a {type(steps).__name__}"
    elif not all(isinstance(r, dict) for r in steps.values()):
        found = "a step record that is not a mapping"
    else:
        return status
    raise DataFormatError(
        f"{path}: expected a status mapping with 'steps' of step records, found {found}; "
        "delete the file to run the task again"
    )


def _write_status(folder: Path, status: dict[str, Any]) -> None:
    status["updated"] = _now()
    write_json(folder / STATUS_FILE, status)


def _outputs_exist(folder: Path, outputs: Mapping[str, Any]) -> bool:
    for key, value in outputs.items():
        if (key.endswith("_path") or key.endswith("_dir")) and value:
            p = Path(value)
            if not (p if p.is_absolute() else folder / p).exists():
                return False
    return True


def _step_is_current(
    folder: Path, record: Mapping[str, Any] | None, fingerprint: str, step: Step
) -> bool:
    if not record or record.get("fingerprint") != fingerprint:
        return False
    if record.get("state") == "done":
        return _outputs_exist(folder, record.get("outputs", {}))
    if record.get("state") == "skipped":
        if record.get("unavailable"):
            # skipped because a feature was missing: current while it is still missing
            return step.unavailable is not None and step.unavailable() is not None
        return True  # skipped by its settings, which have not changed
    return False


def task_finished(
    config: CampaignConfig,
    task: TaskSpec,
    campaign_dir: str | os.PathLike[str],
    steps: Sequence[Step],
) -> bool:
    """True when every step of ``task`` is done (or skipped) with the current settings."""
    folder = Path(campaign_dir) / task.name
    status = read_status(folder)
    if not status or status.get("state") != "done":
        return False
    records = status.get("steps", {})
    return all(
        _step_is_current(folder, records.get(step.name), fingerprint(step, config, task), step)
        for step in steps
    )


def run_task(
    config: CampaignConfig,
    task: TaskSpec,
    campaign_dir: str | os.PathLike[str],
    steps: Sequence[Step],
) -> TaskOutcome:
    """Run (or finish) one task; safe to call again after a crash at any point.

    Args:
        config: the campaign.
        task: the task, as planned by :func:`~fastcalogan.campaign.plan_tasks`.
        campaign_dir: the campaign folder; the task works in ``campaign_dir / task.name``.
        steps: the chain (the real one is :data:`~fastcalogan.campaign.DEFAULT_STEPS`).

    Returns:
        :class:`TaskOutcome` naming the steps run and skipped.

    Raises:
        Whatever a step raises, after recording it as ``failed`` in the status file.
    """
    folder = (Path(campaign_dir) / task.name).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with log_to_file(folder / "task.log"):
        status = read_status(folder) or {
            "schema_version": STATUS_SCHEMA_VERSION,
            "task": task.name,
            "particle": task.particle,
            "eta": list(task.eta),
            "seed": task.seed,
            "created": _now(),
            "attempts": 0,
            "steps": {},
        }
        status["attempts"] = int(status.get("attempts", 0)) + 1
        status.update(state="running", host=socket.gethostname(), pid=os.getpid(), error=None)
        status.pop("progress", None)
        _write_status(folder, status)
        log.info("task %s: attempt %d on %s", task.name, status["attempts"], status["host"])
        ctx = TaskContext(config, task, folder, attempt=status["attempts"], _status=status)
        ran: list[str] = []
        kept: list[str] = []
        upstream_changed = False
        for step in steps:
            wanted = fingerprint(step, config, task)
            record = status["steps"].get(step.name)
            if not upstream_changed and _step_is_current(folder, record, wanted, step):
                assert record is not None
                ctx.outputs[step.name] = dict(record.get("outputs", {}))
                kept.append(step.name)
                continue
            record = {
                "state": "running",
                "fingerprint": wanted,
                "attempts": int((record or {}).get("attempts", 0)) + 1,
                "started": _now(),
                "outputs": {},
            }
            status["steps"][step.name] = record
            status["current_step"] = step.name
            status.pop("progress", None)
            _write_status(folder, status)
            log.info("task %s: step %s", task.name, step.name)
            s0 = time.perf_counter()
            reason = step.unavailable() if step.unavailable is not None else None
            try:
                if reason is not None:
                    raise StepSkipped(reason)
                outputs = dict(step.run(ctx))
            except StepSkipped as note:
                record.update(state="skipped", note=str(note), finished=_now())
                if reason is not None:
                    record["unavailable"] = True
                log.info("task %s: step %s skipped: %s", task.name, step.name, note)
            except BaseException as err:
                record.update(state="failed", finished=_now())
                status.update(state="failed", error=f"{step.name}: {type(err).__name__}: {err}")
                _write_status(folder, status)
                log.exception("task %s: step %s failed", task.name, step.name)
                raise
            else:
                record.update(state="done", outputs=outputs, finished=_now())
                ctx.outputs[step.name] = outputs
                upstream_changed = True
            record["seconds"] = round(time.perf_counter() - s0, 3)
            ran.append(step.name)
            _write_status(folder, status)
        status.update(state="done", current_step=None)
        status.pop("progress", None)
        _write_status(folder, status)
    return TaskOutcome(task.name, "done", tuple(ran), tuple(kept), time.perf_counter() - t0)
