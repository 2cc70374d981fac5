"""One campaign task: a (particle, |eta| slice) through data -> layers -> train -> select -> export.

Each task owns a folder ``<campaign>/<particle>/eta_<min>-<max>/`` with a ``status.json``
(written atomically) that records, per step, its state, a fingerprint of the settings it ran
with, its attempts, timings and outputs. Running a task again skips every step that is done
with the same fingerprint and whose outputs still exist; a step that did not finish runs
again, and training resumes from its checkpoints by itself. Changing a step's settings reruns
it and every step after it.

The steps are a list of :class:`Step` objects, so tests (and users) can run other chains.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._config import parse
from .._fileio import write_json
from .._logging import log_to_file
from ..errors import ConfigError, DataFormatError, ModelError
from ..geometry import (
    BUILTIN_GEOMETRIES,
    Geometry,
    default_geometry,
    get_particle,
    load_geometry,
    write_geometry_yaml,
)
from .config import CampaignConfig

__all__ = [
    "DEFAULT_STEPS",
    "STATUS_FILE",
    "Step",
    "StepSkipped",
    "TaskContext",
    "TaskOutcome",
    "TaskSpec",
    "plan_tasks",
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


# ----- what a task is ------------------------------------------------------------------------
@dataclass(frozen=True)
class TaskSpec:
    """One (particle, |eta| slice) of a campaign, with its inputs resolved on the driver.

    Attributes:
        particle: canonical particle name.
        eta_min, eta_max: the |eta| slice.
        seed: the task's seed (derived from the campaign seed, particle and slice).
        binning: ``default`` (the particle's dataset-1 binning), a built-in name or an
            absolute file path.
        data_files: absolute paths of the user's input files (empty for the simulator).
    """

    particle: str
    eta_min: float
    eta_max: float
    seed: int
    binning: str = "default"
    data_files: tuple[str, ...] = ()

    @property
    def eta(self) -> tuple[float, float]:
        """``(eta_min, eta_max)``."""
        return (self.eta_min, self.eta_max)

    @property
    def name(self) -> str:
        """``particle/eta_0.20-0.25``: the task's name and its folder below the campaign."""
        return f"{self.particle}/eta_{_eta_text(self.eta_min)}-{_eta_text(self.eta_max)}"


class _EtaValue(float):
    """A float that formats with two decimals when no format spec is given (``0.20``)."""

    def __format__(self, spec: str) -> str:
        return format(float(self), spec or ".2f")


def _eta_text(x: float) -> str:
    """Two decimals unless more are needed: ``0.20``, ``0.125``."""
    text = f"{x:.2f}"
    return text if abs(float(text) - x) < 1e-9 else f"{x:.6g}"


def _pattern_values(particle: str, eta: tuple[float, float]) -> dict[str, Any]:
    return {
        "particle": particle,
        "pdg": abs(get_particle(particle).pdg),
        "eta_min": _EtaValue(eta[0]),
        "eta_max": _EtaValue(eta[1]),
        "eta_min_x100": round(eta[0] * 100),
        "eta_max_x100": round(eta[1] * 100),
    }


def _task_seed(seed: int, particle: str, eta: tuple[float, float]) -> int:
    """A seed per task that does not change when slices are added to the campaign."""
    text = f"{seed}:{particle}:{eta[0]:.6f}:{eta[1]:.6f}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def plan_tasks(config: CampaignConfig, base_dir: str | os.PathLike[str] = ".") -> list[TaskSpec]:
    """The campaign's tasks, with binning and data file patterns resolved.

    Args:
        config: the campaign.
        base_dir: folder relative patterns are resolved against (the current one).

    Raises:
        ConfigError: a pattern matches no file.
    """
    base = Path(base_dir).resolve()
    tasks = []
    for particle in config.particles:
        for eta in config.slices():
            values = _pattern_values(particle, eta)
            binning = _resolve_binning(config, particle, values, base)
            files: tuple[str, ...] = ()
            if config.data.source == "files":
                assert config.data.pattern is not None  # checked by DataSource
                files = _glob(config.data.pattern, values, base, "data.pattern")
            tasks.append(
                TaskSpec(
                    particle=particle,
                    eta_min=eta[0],
                    eta_max=eta[1],
                    seed=_task_seed(config.seed, particle, eta),
                    binning=binning,
                    data_files=files,
                )
            )
    return tasks


def _resolve_binning(
    config: CampaignConfig, particle: str, values: Mapping[str, Any], base: Path
) -> str:
    if isinstance(config.binning, dict):
        by_particle = {get_particle(k).name: v for k, v in config.binning.items()}
        pattern = by_particle[particle]
    else:
        pattern = config.binning
    if pattern == "default":
        return "default"
    if pattern in BUILTIN_GEOMETRIES:
        return pattern
    files = _glob(pattern, values, base, "binning")
    if len(files) != 1:
        raise ConfigError(
            f"binning: pattern '{pattern}' matches {len(files)} files for {particle} "
            f"{values['eta_min']}-{values['eta_max']}; expected one"
        )
    return files[0]


def _glob(pattern: str, values: Mapping[str, Any], base: Path, key: str) -> tuple[str, ...]:
    text = pattern.format(**values)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base / path
    files = sorted(glob.glob(str(path)))
    if not files:
        raise ConfigError(
            f"{key}: pattern '{pattern}' matches no file for {values['particle']} "
            f"|eta| {values['eta_min']}-{values['eta_max']} (looked for {path})"
        )
    return tuple(str(Path(f).resolve()) for f in files)


def task_binning(task: TaskSpec) -> Geometry:
    """The full binning of a task (before the relevant-layer rule)."""
    if task.binning == "default":
        return default_geometry(task.particle, task.eta)
    return load_geometry(task.binning, particle=task.particle, eta=task.eta)


# ----- steps ---------------------------------------------------------------------------------
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
            the step to count as done.
        settings: ``settings(config, task) -> JSON``: what the step depends on; a change
            reruns the step and the steps after it.
        unavailable: ``unavailable() -> reason | None``; a step skipped for a reason that has
            gone away is run again.
    """

    name: str
    run: Callable[[TaskContext], Mapping[str, Any]]
    settings: Callable[[CampaignConfig, TaskSpec], Any] = _no_settings
    unavailable: Callable[[], str | None] | None = None


def _fingerprint(step: Step, config: CampaignConfig, task: TaskSpec) -> str:
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
        # skipped because a feature was missing: current while it is still missing
        return step.unavailable is None or step.unavailable() is not None
    return False


def task_finished(
    config: CampaignConfig,
    task: TaskSpec,
    campaign_dir: str | os.PathLike[str],
    steps: Sequence[Step] | None = None,
) -> bool:
    """True when every step of ``task`` is done (or skipped) with the current settings."""
    folder = Path(campaign_dir) / task.name
    status = read_status(folder)
    if not status or status.get("state") != "done":
        return False
    records = status.get("steps", {})
    for step in DEFAULT_STEPS if steps is None else steps:
        if not _step_is_current(
            folder, records.get(step.name), _fingerprint(step, config, task), step
        ):
            return False
    return True


def _set_torch_threads(config: CampaignConfig) -> None:
    cluster = config.cluster
    threads = cluster.torch_threads
    if threads is None and cluster.kind in ("htcondor", "slurm"):
        threads = cluster.cores
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def run_task(
    config: CampaignConfig,
    task: TaskSpec,
    campaign_dir: str | os.PathLike[str],
    steps: Sequence[Step] | None = None,
) -> TaskOutcome:
    """Run (or finish) one task; safe to call again after a crash at any point.

    Args:
        config: the campaign.
        task: the task, as planned by :func:`plan_tasks`.
        campaign_dir: the campaign folder; the task works in ``campaign_dir / task.name``.
        steps: the chain (default :data:`DEFAULT_STEPS`).

    Returns:
        :class:`TaskOutcome` naming the steps run and skipped.

    Raises:
        Whatever a step raises, after recording it as ``failed`` in the status file.
    """
    steps = DEFAULT_STEPS if steps is None else steps
    _set_torch_threads(config)
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
            fingerprint = _fingerprint(step, config, task)
            record = status["steps"].get(step.name)
            if not upstream_changed and _step_is_current(folder, record, fingerprint, step):
                assert record is not None
                ctx.outputs[step.name] = dict(record.get("outputs", {}))
                kept.append(step.name)
                continue
            record = {
                "state": "running",
                "fingerprint": fingerprint,
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
            try:
                outputs = dict(step.run(ctx))
            except StepSkipped as note:
                record.update(state="skipped", note=str(note), finished=_now())
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


# ----- the real chain ------------------------------------------------------------------------
def _data_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {
        "data": config.data.model_dump(mode="json"),
        "binning": task.binning,
        "files": list(task.data_files),
        "seed": task.seed,
    }


def _shower_attrs(task: TaskSpec, binning: str, **extra: Any) -> dict[str, Any]:
    from .. import __version__

    return {
        "particle": task.particle,
        "eta_min": task.eta_min,
        "eta_max": task.eta_max,
        "binning": binning,
        "fastcalogan_version": __version__,
        **extra,
    }


def _binning_label(task: TaskSpec, binning: Geometry) -> str:
    return binning.name if task.binning == "default" else task.binning


def data_step(ctx: TaskContext) -> dict[str, Any]:
    """Training showers of the task in ``data/showers.h5`` (full binning).

    The reference simulator (voxel path), or the user's files: HDF5 showers, ATLAS CSV
    files (one per energy point), or hit files voxelised with the task's binning.
    """
    task, src = ctx.task, ctx.config.data
    binning = task_binning(task)
    label = _binning_label(task, binning)
    out = ctx.folder / "data" / "showers.h5"
    if src.source == "simulate":
        from ..simulate import simulate

        sim_config = _simulate_config(ctx.config, task, label)
        simulate(sim_config, out, progress=ctx.progress)
        return {"showers_path": ctx.relative(out), "binning": label, "source": "simulate"}
    fmt = src.format
    if fmt == "auto":
        suffixes = {Path(f).suffix.lower() for f in task.data_files}
        fmt = "csv" if suffixes == {".csv"} else "showers"
    if fmt == "hits":
        from ..voxelise import VoxeliseConfig, voxelise

        if len(task.data_files) != 1:
            raise ConfigError(
                f"data.pattern: hit input of {task.name} must be one file, "
                f"found {len(task.data_files)}"
            )
        vox = VoxeliseConfig(binning=label, particle=task.particle, eta=task.eta)
        voxelise(vox, task.data_files[0], out, progress=ctx.progress)
        return {"showers_path": ctx.relative(out), "binning": label, "source": "hits"}
    if fmt == "csv":
        from ..data import read_atlas_csv_set, write_showers

        data = read_atlas_csv_set(task.data_files, binning, n_leading=src.csv_leading_columns)
        write_showers(
            out,
            data.incident_energies,
            data.showers.astype(np.float32),
            _shower_attrs(task, label, sources=json.dumps(list(task.data_files))),
            geometry=binning,
        )
        return {"showers_path": ctx.relative(out), "binning": label, "source": "csv"}
    from ..data import read_showers, write_showers

    if len(task.data_files) == 1:
        read_showers(task.data_files[0], binning=binning)  # validate before training on it
        return {"showers_path": task.data_files[0], "binning": label, "source": "file"}
    parts = [read_showers(f, binning=binning) for f in task.data_files]
    write_showers(
        out,
        np.concatenate([p.incident_energies for p in parts]),
        np.concatenate([p.showers for p in parts]),
        _shower_attrs(task, label, sources=json.dumps(list(task.data_files))),
        geometry=binning,
    )
    return {"showers_path": ctx.relative(out), "binning": label, "source": "files"}


def _layer_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.layers.model_dump(mode="json")


def layers_step(ctx: TaskContext) -> dict[str, Any]:
    """FastCaloGAN's relevant layers: ``data/showers-relevant.h5`` with only those layers."""
    from ..data import read_showers, write_showers
    from ..voxelise import relevant_layers, restrict_to_layers

    settings = ctx.config.layers
    showers_path = ctx.path(ctx.output("data", "showers_path"))
    label = str(ctx.output("data", "binning"))
    binning = task_binning(ctx.task)
    data = read_showers(showers_path, binning=binning)
    if not settings.relevant_layers:
        return {
            "showers_path": ctx.relative(showers_path),
            "binning": label,
            "layers": list(binning.layer_ids),
        }
    sample = data.showers
    if settings.energy_mev is not None:
        near = np.abs(data.incident_energies / settings.energy_mev - 1.0) < 0.01
        if near.any():
            sample = data.showers[near]
        else:
            log.info(
                "task %s: no showers at %.0f MeV; relevant layers from all %d events",
                ctx.task.name,
                settings.energy_mev,
                data.n_events,
            )
    layers = relevant_layers(sample, binning, threshold=settings.threshold)
    if tuple(layers) == binning.layer_ids:
        log.info("task %s: every layer is relevant", ctx.task.name)
        return {
            "showers_path": ctx.relative(showers_path),
            "binning": label,
            "layers": list(layers),
            "n_voxels": binning.n_voxels,
        }
    showers, reduced = restrict_to_layers(data.showers, binning, layers)
    # the reduced binning as a file, so that every later stage loads it by name
    binning_file = ctx.folder / "data" / "binning-relevant.yaml"
    write_geometry_yaml(reduced, binning_file)
    out = ctx.folder / "data" / "showers-relevant.h5"
    attrs = {k: v for k, v in data.attrs.items() if k not in ("n_voxels", "n_events")}
    attrs.update(_shower_attrs(ctx.task, str(binning_file), binning_layers=list(layers)))
    write_showers(out, data.incident_energies, showers, attrs, geometry=reduced)
    log.info(
        "task %s: relevant layers %s (%d of %d voxels)",
        ctx.task.name,
        list(layers),
        reduced.n_voxels,
        binning.n_voxels,
    )
    return {
        "showers_path": ctx.relative(out),
        "binning_path": ctx.relative(binning_file),
        "layers": list(layers),
        "n_voxels": reduced.n_voxels,
    }


def _simulate_config(config: CampaignConfig, task: TaskSpec, binning: str) -> Any:
    from ..simulate import SimulateConfig

    src = config.data
    return parse(
        {
            "particle": task.particle,
            "eta_min": task.eta_min,
            "eta_max": task.eta_max,
            "energies": src.energies,
            "events": src.events,
            "seed": task.seed,
            "binning": binning,
        },
        SimulateConfig,
        f"campaign data settings ({task.name})",
    )


def check_task_settings(config: CampaignConfig, task: TaskSpec) -> None:
    """Validate the settings every step of ``task`` will build, before any work starts.

    Raises:
        ConfigError: a setting a step would refuse (preset, override keys and values, the
            simulator's |eta| range, ...), named with the campaign key it comes from.
    """
    from .. import generate
    from ..select import SelectConfig

    if config.data.source == "simulate":
        _simulate_config(config, task, _binning_label(task, task_binning(task)))
    train_config(config, task).resolved()
    parse(dict(config.select.overrides), SelectConfig, f"campaign select settings ({task.name})")
    if config.export.enabled and hasattr(generate, "ExportConfig"):
        parse(
            dict(config.export.overrides),
            generate.ExportConfig,
            f"campaign export settings ({task.name})",
        )


def _train_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.train.model_dump(mode="json")


def train_config(config: CampaignConfig, task: TaskSpec, binning: str | None = None) -> Any:
    """The task's :class:`fastcalogan.train.TrainConfig` (preset, iterations, seed, overrides).

    Args:
        config: the campaign.
        task: the task.
        binning: binning name or file of the training showers (the relevant layers).
    """
    from ..train import TrainConfig

    values: dict[str, Any] = {
        "preset": config.train.preset,
        "iterations": config.train.iterations,
        "seed": task.seed,
        "particle": task.particle,
        "eta": list(task.eta),
    }
    if binning is not None:
        values["binning"] = binning
    values.update(config.train.overrides)
    return parse(values, TrainConfig, f"campaign train settings ({task.name})")


def train_step(ctx: TaskContext) -> dict[str, Any]:
    """Train (or resume) the task's GAN in ``train/``."""
    from ..train import train

    showers = ctx.path(ctx.output("layers", "showers_path"))
    layers = ctx.outputs.get("layers", {})
    binning = (
        str(ctx.path(layers["binning_path"])) if "binning_path" in layers else layers.get("binning")
    )
    run_dir = ctx.folder / "train"
    config = train_config(ctx.config, ctx.task, binning)
    result = train(config, showers, run_dir, progress=ctx.progress)
    return {
        "run_dir": ctx.relative(run_dir),
        "last_iteration": int(result.last_iteration),
        "checkpoints": len(result.checkpoints),
    }


def _select_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.select.model_dump(mode="json")


def select_step(ctx: TaskContext) -> dict[str, Any]:
    """Choose the best checkpoint by chi2/NDF against the training showers."""
    from ..select import SelectConfig, select_best

    select_config = parse(
        dict(ctx.config.select.overrides),
        SelectConfig,
        f"campaign select settings ({ctx.task.name})",
    )
    run_dir = ctx.path(ctx.output("train", "run_dir"))
    reference = ctx.path(ctx.output("layers", "showers_path"))
    result = select_best(select_config, run_dir, reference_path=reference, progress=ctx.progress)
    chi2 = float(result.chi2_ndf)
    return {
        "best_checkpoint_path": ctx.relative(result.best_checkpoint),
        "best_iteration": int(result.best_iteration),
        # JSON has no infinity: an unusable fit (e.g. a few iterations) is recorded as null
        "chi2_ndf": chi2 if math.isfinite(chi2) else None,
        "table_path": ctx.relative(result.table_path),
        "plot_path": ctx.relative(result.plot_path),
    }


def _export_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {k: v for k, v in config.export.model_dump(mode="json").items() if "response" not in k}


def _export_unavailable() -> str | None:
    from .. import generate

    if not hasattr(generate, "export_onnx") or not hasattr(generate, "ExportConfig"):
        return "fastcalogan.generate.export_onnx is not available in this installation"
    return None


def export_step(ctx: TaskContext) -> dict[str, Any]:
    """Export the selected generator to ``generator.onnx`` (with its JSON sidecar)."""
    if not ctx.config.export.enabled:
        raise StepSkipped("export disabled in the campaign (export.enabled: false)")
    reason = _export_unavailable()
    if reason:
        raise StepSkipped(reason)
    from .. import generate as _generate

    generate: Any = _generate  # export_onnx may be missing (checked above)
    export_config = parse(
        dict(ctx.config.export.overrides),
        generate.ExportConfig,
        f"campaign export settings ({ctx.task.name})",
    )
    run_dir = ctx.path(ctx.output("train", "run_dir"))
    out = ctx.folder / "generator.onnx"
    result = generate.export_onnx(export_config, run_dir, out)
    # the files the export wrote: the model, its sidecar and any external weight data
    files = {out.resolve()}
    for value in vars(result).values() if hasattr(result, "__dict__") else ():
        if isinstance(value, Path) and value.is_file():
            files.add(value.resolve())
    files.update(f.resolve() for f in ctx.folder.glob("generator.onnx*") if f.is_file())
    size = getattr(result, "weights_bytes", None)
    if not isinstance(size, int):
        size = sum(f.stat().st_size for f in files if f.is_file())
    return {
        "onnx_path": ctx.relative(out),
        "files": sorted(ctx.relative(f) for f in files),
        "weights_bytes": int(size),
    }


def _response_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {
        "energy": config.export.response_energy_mev,
        "events": config.export.response_events,
        "seed": task.seed,
    }


def response_step(ctx: TaskContext) -> dict[str, Any]:
    """Mean E_tot/E_inc of the selected generator and of the training showers at 65 GeV."""
    from ..data import read_showers
    from ..generate import Simulator

    energy = ctx.config.export.response_energy_mev
    n = ctx.config.export.response_events
    simulator = Simulator.load(ctx.path(ctx.output("train", "run_dir")))
    rng = np.random.default_rng(ctx.task.seed)
    try:
        generated = np.asarray(simulator.simulate(np.full(n, energy), rng), dtype=np.float64)
    except ModelError as err:  # e.g. the energy lies outside the trained range
        raise StepSkipped(f"no response at {energy:g} MeV: {err}") from err
    gan = generated.sum(axis=1) / energy
    data = read_showers(ctx.path(ctx.output("data", "showers_path")))
    near = np.abs(data.incident_energies / energy - 1.0) < 0.01
    ref = data.total_energy()[near] / data.incident_energies[near]
    summary = {
        "energy_mev": energy,
        "gan_mean": float(gan.mean()),
        "gan_rms": float(gan.std()),
        "gan_events": int(n),
        "reference_mean": float(ref.mean()) if ref.size else None,
        "reference_rms": float(ref.std()) if ref.size else None,
        "reference_events": int(ref.size),
    }
    out = write_json(ctx.folder / "response.json", summary)
    return {"response_path": ctx.relative(out), **summary}


#: The real chain: data -> relevant layers -> train -> select -> export -> 65 GeV response.
DEFAULT_STEPS: tuple[Step, ...] = (
    Step("data", data_step, _data_settings),
    Step("layers", layers_step, _layer_settings),
    Step("train", train_step, _train_settings),
    Step("select", select_step, _select_settings),
    Step("export", export_step, _export_settings, _export_unavailable),
    Step("response", response_step, _response_settings),
)
