"""Campaign planning: the tasks of a campaign and their typed stage configs, on the driver.

:func:`plan_tasks` turns a :class:`CampaignConfig` into one :class:`TaskSpec` per (particle,
|eta| slice), with its seed, binning and data files resolved. :func:`check_campaign` also
builds each task's stage configs (:class:`StageConfigs`: the simulator's, training's,
selection's and export's own pydantic configs) once, so that a setting a stage would refuse
is one line before any work, and the steps receive typed objects instead of raw mappings.
"""

from __future__ import annotations

import dataclasses
import glob
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._config import parse
from ..errors import ConfigError
from ..geometry import (
    BUILTIN_GEOMETRIES,
    Geometry,
    default_geometry,
    get_particle,
    load_geometry,
)
from .config import CampaignConfig

if TYPE_CHECKING:
    from ..generate import ExportConfig
    from ..select import SelectConfig
    from ..simulate import SimulateConfig
    from ..train import TrainConfig

__all__ = [
    "StageConfigs",
    "TaskSpec",
    "binning_label",
    "check_campaign",
    "plan_tasks",
    "stage_configs",
    "task_binning",
]


@dataclass(frozen=True)
class StageConfigs:
    """One task's stage configs, built and validated once on the driver.

    Attributes:
        simulate: the reference simulator's config (``None`` when the data are the user's files).
        train: the training config: preset, iterations, the task's seed, particle and slice
            and ``train.overrides``. Its ``binning`` is left unset: the relevant-layer step
            decides it, and the train step fills it in.
        select: the selection config (``select.overrides``).
        export: the export config (``export.overrides``); ``None`` when export is disabled.
    """

    simulate: SimulateConfig | None
    train: TrainConfig
    select: SelectConfig
    export: ExportConfig | None


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
        stages: the typed stage configs (:func:`check_campaign` fills them in; steps build
            them on first use when a task was planned without them).
    """

    particle: str
    eta_min: float
    eta_max: float
    seed: int
    binning: str = "default"
    data_files: tuple[str, ...] = ()
    stages: StageConfigs | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def eta(self) -> tuple[float, float]:
        """``(eta_min, eta_max)``."""
        return (self.eta_min, self.eta_max)

    @property
    def name(self) -> str:
        """``particle/eta_0.20-0.25``: the task's name and its folder below the campaign."""
        return f"{self.particle}/eta_{_eta_text(self.eta_min)}-{_eta_text(self.eta_max)}"

    def to_dict(self) -> dict[str, Any]:
        """The resolved task as JSON values (what the campaign manifest stores)."""
        return {
            "name": self.name,
            "particle": self.particle,
            "eta": [self.eta_min, self.eta_max],
            "seed": self.seed,
            "binning": self.binning,
            "data_files": list(self.data_files),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TaskSpec:
        """The task :meth:`to_dict` wrote (stage configs are not stored)."""
        eta = values["eta"]
        return cls(
            particle=str(values["particle"]),
            eta_min=float(eta[0]),
            eta_max=float(eta[1]),
            seed=int(values["seed"]),
            binning=str(values.get("binning", "default")),
            data_files=tuple(str(f) for f in values.get("data_files", ())),
        )


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


def binning_label(task: TaskSpec, binning: Geometry) -> str:
    """What the task's shower files store as their ``binning``: a built-in name or a file."""
    return binning.name if task.binning == "default" else task.binning


def stage_configs(config: CampaignConfig, task: TaskSpec) -> StageConfigs:
    """Build and validate the stage configs of ``task`` from the campaign's settings.

    Raises:
        ConfigError: a setting a stage would refuse (preset, override keys and values, the
            simulator's |eta| range, ...), named with the campaign section it comes from.
    """
    from ..generate import ExportConfig
    from ..select import SelectConfig
    from ..simulate import SimulateConfig
    from ..train import TrainConfig

    simulate = None
    if config.data.source == "simulate":
        values: dict[str, Any] = {
            "particle": task.particle,
            "eta_min": task.eta_min,
            "eta_max": task.eta_max,
            "energies": config.data.energies,
            "events": config.data.events,
            "seed": task.seed,
            "binning": binning_label(task, task_binning(task)),
        }
        simulate = parse(values, SimulateConfig, f"campaign data settings ({task.name})")
    train_values: dict[str, Any] = {
        "preset": config.train.preset,
        "iterations": config.train.iterations,
        "seed": task.seed,
        "particle": task.particle,
        "eta": list(task.eta),
        **config.train.overrides,
    }
    export = None
    if config.export.enabled:
        export = parse(
            dict(config.export.overrides), ExportConfig, f"campaign export settings ({task.name})"
        )
    return StageConfigs(
        simulate=simulate,
        train=parse(train_values, TrainConfig, f"campaign train settings ({task.name})"),
        select=parse(
            dict(config.select.overrides), SelectConfig, f"campaign select settings ({task.name})"
        ),
        export=export,
    )


def check_campaign(
    config: CampaignConfig, base_dir: str | os.PathLike[str] = "."
) -> list[TaskSpec]:
    """The campaign's tasks with their stage configs built and validated.

    A bad setting is then one line before any work, not a failure inside every worker.

    Raises:
        ConfigError: a pattern matches no file, or a setting some stage would refuse.
    """
    return [
        dataclasses.replace(task, stages=stage_configs(config, task))
        for task in plan_tasks(config, base_dir)
    ]
