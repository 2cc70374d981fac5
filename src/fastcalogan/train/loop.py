"""The training loop of every model family: data, batches, injection, checkpoints, resume.

The loop knows nothing of losses or networks: the model family (``config.family``) builds
them and its :class:`~fastcalogan.models.Objective` performs one iteration's updates with
batches the loop draws from the energy points active in FastCaloGAN's injection schedule.
All randomness comes from explicit generators (a CPU ``torch.Generator`` handed to the
objective, a ``numpy`` generator for batch indices) whose states travel in every checkpoint
with the objective's state, so a run killed at any point and restarted resumes from its last
checkpoint and ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import io
import logging
import math
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import torch

from .. import __version__
from .._config import config_source
from .._fileio import PathPlan, check_free_space, format_size
from .._heap import retain_freed_memory
from .._logging import log_to_file
from .._provenance import file_sha256, git_hash, host, library_versions
from ..data import ShowerData, geometry_label_mismatch, geometry_of_file, read_showers
from ..errors import (
    CheckpointError,
    ConfigError,
    DataFormatError,
    FastCaloGANError,
    ModelError,
)
from ..geometry import Geometry, geometry_from_mapping, geometry_to_mapping, get_particle
from ..models import Batch
from ..preprocess import Preprocessor, build_preprocessor
from .checkpoint import CHECKPOINT_FORMAT, load_checkpoint, nonfinite_weight, save_checkpoint
from .config import SPLIT_RANGES, TrainConfig
from .run_folder import RunFolder, RunInfo, RunWriter
from .sampling import deterministic_cublas, model_shape, resolve_device
from .schedule import InjectionSchedule, injection_schedule

__all__ = ["TrainProgress", "TrainResult", "train"]

log = logging.getLogger(__name__)

#: Fields whose change on resume would change the architecture or the data: an error.
_ARCHITECTURE_FIELDS: tuple[str, ...] = (
    "family",
    "preset",
    "model",
    "preprocess",
    "energy_ranges",
    "energy_range",
)
#: With more distinct energies than this the sample is continuous: no injection.
_MAX_INJECTION_POINTS = 64


class TrainProgress(Protocol):
    """``progress(done, total, status=...)``: iterations done, iterations to reach, losses."""

    def __call__(self, done: int, total: int, status: str = "") -> None: ...


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes:
        run_dir: the run folder.
        last_iteration: iteration of the last checkpoint (per range for split runs).
        checkpoints: every checkpoint in the run folder, by range and iteration.
        seconds: wall time of this call.
        iterations_per_s: training iterations per second of this call (0 if none).
    """

    run_dir: Path
    last_iteration: int
    checkpoints: tuple[Path, ...]
    seconds: float
    iterations_per_s: float


# ----- inputs --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inputs:
    """The shower file of a call and what it describes (shared by the ranges of a split).

    ``conditions`` holds the file's columns of the configured conditions, ``(n_events, k)``
    in label order (``k = 0`` for a model conditioned on the energy alone).
    """

    data: ShowerData
    binning: Geometry
    particle: str
    eta: tuple[float, float]
    data_path: Path
    conditions: npt.NDArray[np.float64]
    data_sha256: str | None = None


def _read_inputs(config: TrainConfig, path: Path) -> _Inputs:
    data = read_showers(path)
    if data.n_events == 0:
        raise DataFormatError(f"{path}: expected showers to train on, found 0 events")
    attrs = {**data.attrs, "n_voxels": data.n_voxels}
    # the config's binning, else the file's (restricted to its relevant layers), else the
    # built-in binning with the file's voxel count; a mismatch is a one-line error
    binning = geometry_of_file(attrs, config.binning, source=str(path))
    particle = get_particle(config.particle or attrs.get("particle") or binning.particle).name
    if config.eta is not None:
        eta = (float(config.eta[0]), float(config.eta[1]))
    elif "eta_min" in attrs and "eta_max" in attrs:
        eta = (float(attrs["eta_min"]), float(attrs["eta_max"]))
    elif binning.eta is not None:
        eta = binning.eta
    else:
        raise ConfigError(
            f"eta: {path} and its geometry {binning.name} give no |eta| slice; set eta"
        )
    if config.binning is not None and not config.allow_geometry_mismatch:
        mismatch = geometry_label_mismatch(binning, particle, eta)
        if mismatch:
            raise ConfigError(
                f"binning: {config.binning} {mismatch} ({path}); use the binning of these "
                "showers, or set allow_geometry_mismatch: true (--set "
                "allow_geometry_mismatch=true) to train with it anyway"
            )
    binning = binning.relabel(particle=particle, eta=eta)
    assert config.preprocess is not None  # filled in by TrainConfig.resolved()
    # the configured conditions must be in the file: one line naming the missing ones
    conditions = build_preprocessor(config.preprocess).conditions_of(data, str(path))
    unused = [name for name in data.condition_names if name not in config.preprocess.conditions]
    if unused:
        log.info("%s: conditions not used by preprocess.conditions: %s", path, ", ".join(unused))
    return _Inputs(data, binning, particle, eta, path, conditions, file_sha256(path))


def _device_name(device: torch.device) -> str:
    """``cpu``, or ``cuda:0 (NVIDIA H200)``: what run.json records as the training device."""
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return str(device)


def _environment(inputs: _Inputs, device: torch.device) -> dict[str, Any]:
    """The provenance fields of run.json beside the package version and git commit."""
    return {
        "data_sha256": inputs.data_sha256,
        "versions": library_versions(),
        "device": _device_name(device),
        "host": host(),
    }


def _check_batch_size(config: TrainConfig, n_events: int, inputs: _Inputs) -> None:
    """A batch larger than the sample only repeats showers: refused, naming both numbers."""
    batch = int(config.batch_size or 1)
    if batch > n_events:
        where = f" with incident energy in {config.energy_range} MeV" if config.energy_range else ""
        raise ConfigError(
            f"batch_size: {batch} is larger than the {n_events} training events{where} of "
            f"{inputs.data_path}; use at most {n_events}"
        )


def _available_memory(device: torch.device) -> int | None:
    """Bytes that can still be allocated on ``device`` (``None`` where unknown)."""
    if device.type == "cuda":
        try:
            return int(torch.cuda.mem_get_info(device)[0])
        except (RuntimeError, AssertionError):  # pragma: no cover - no usable CUDA
            return None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):  # pragma: no cover - not POSIX
        return None


def _networks(objective: Any) -> list[torch.nn.Module]:
    """The networks an objective trains or holds (its sampler among them)."""
    return [m for m in vars(objective).values() if isinstance(m, torch.nn.Module)]


#: Activations kept per value of a layer in one training step: forward and backward of real,
#: generated and (gradient penalty) interpolated showers, and the penalty's second backward.
_ACTIVATION_COPIES = 12


def _check_batch_memory(config: TrainConfig, objective: Any, shape: Any, device: Any) -> None:
    """Refuse a batch whose training step cannot fit in the device's free memory.

    The estimate counts, per shower of a batch, the inputs and every linear layer's outputs
    of every network of the objective, times the copies a step keeps (:data:`_ACTIVATION_COPIES`)
    in float32: an order of magnitude, enough to refuse a batch of 10^9 showers before it
    allocates terabytes, not to tune one.
    """
    widths = 0
    for module in _networks(objective):
        for param in module.parameters():
            if param.ndim == 2:
                widths += int(param.shape[0])
    per_row = 4 * _ACTIVATION_COPIES * (int(shape.n_features) + int(shape.n_conditions) + widths)
    batch = int(config.batch_size or 1)
    needed = per_row * batch
    free = _available_memory(torch.device(device))
    if free is not None and needed > free:
        raise ConfigError(
            f"batch_size: {batch} needs about {format_size(needed)} of memory per training "
            f"step ({format_size(per_row)} per shower); {format_size(free)} is available on "
            f"{device}; use at most {max(1, free // per_row)}"
        )


def _in_range(energies: npt.NDArray[np.float64], lo: float, hi: float) -> npt.NDArray[np.bool_]:
    return (energies >= lo * (1 - 1e-9)) & (energies <= hi * (1 + 1e-9))


# ----- run folder ----------------------------------------------------------------------------
def _differences(key: str, new: Any, old: Any) -> list[tuple[str, Any, Any]]:
    """The dotted keys of the differing leaves of two settings, with both values.

    >>> _differences("model", {"a": 1, "b": 2, "c": [3]}, {"a": 1, "b": 3, "c": [4]})
    [('model.b', 2, 3), ('model.c', [3], [4])]
    """
    if isinstance(new, dict) and isinstance(old, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(new) | set(old), key=str):
            if new.get(k) != old.get(k):
                out += _differences(f"{key}.{k}", new.get(k), old.get(k))
        return out
    return [(key, new, old)]


def _check_resume(
    state: dict[str, Any], config: TrainConfig, binning: Geometry, path: Path
) -> None:
    """Raise CheckpointError if ``config`` would change the checkpoint's architecture."""
    saved = state["train_config"]
    current = config.model_dump(mode="json")
    for key in _ARCHITECTURE_FIELDS:
        old, new = saved.get(key), current.get(key)
        if key == "preprocess" and isinstance(old, dict) and isinstance(new, dict):
            # the fitted energy range is stored in the preprocessing state, not the config;
            # runs from before conditions existed have no `conditions` (= none)
            old = {k: v for k, v in old.items() if v is not None and v != {}}
            new = {k: v for k, v in new.items() if v is not None and v != {}}
        if old != new:
            (name, new, old), *more = _differences(key, new, old)
            also = f" (also {', '.join(m[0] for m in more)})" if more else ""
            raise CheckpointError(
                f"{path}: config field '{name}' is {new!r} but the run was started with "
                f"{old!r}{also}; use a new run folder or restore the setting"
            )
    saved_binning = geometry_from_mapping(state["binning"], str(path))
    if not saved_binning.same_voxels(binning):
        raise CheckpointError(
            f"{path}: the data's binning {binning.name} ({binning.n_voxels} voxels) differs from "
            f"the run's {saved_binning.name} ({saved_binning.n_voxels} voxels)"
        )
    changed = [
        k for k in current if k not in _ARCHITECTURE_FIELDS and saved.get(k) != current.get(k)
    ]
    if changed:
        log.info("resuming %s with changed settings: %s", path.parent.parent, ", ".join(changed))


# ----- one model -----------------------------------------------------------------------------
def _events(
    config: TrainConfig, inputs: _Inputs
) -> tuple[npt.NDArray[np.float64], Any, npt.NDArray[np.float64]]:
    """Incident energies (N,), showers (N, n_voxels) and conditions (N, k) in the config's
    energy range."""
    energies = np.asarray(inputs.data.incident_energies, dtype=np.float64)
    showers, conditions = inputs.data.showers, inputs.conditions
    if config.energy_range is not None:
        keep = _in_range(energies, *config.energy_range)
        energies, showers, conditions = energies[keep], showers[keep], conditions[keep]
    if energies.size == 0:
        raise DataFormatError(
            f"{inputs.data_path}: no events with incident energy in {config.energy_range} MeV"
        )
    return energies, showers, conditions


def _injection(
    config: TrainConfig, energies: npt.NDArray[np.float64]
) -> tuple[InjectionSchedule, npt.NDArray[np.int64]]:
    """The injection schedule and each event's rank in its order."""
    points = np.unique(energies)
    injection_on = bool(config.injection) and points.size <= _MAX_INJECTION_POINTS
    if config.injection and not injection_on:
        log.warning("%d distinct energies: sequential injection turned off", points.size)
    schedule = injection_schedule(points, config.injection_every if injection_on else 0)
    rank_of_point = {e: i for i, e in enumerate(schedule.order)}
    point_rank = np.array([rank_of_point[float(e)] for e in energies], dtype=np.int64)
    return schedule, point_rank


@dataclass
class _Batches:
    """The :class:`~fastcalogan.models.BatchSource` of a run: batches from the active points."""

    x: torch.Tensor
    label: torch.Tensor
    point_rank: npt.NDArray[np.int64]
    schedule: InjectionSchedule
    rng: np.random.Generator
    device: torch.device
    batch_size: int

    def __post_init__(self) -> None:
        self._pools: dict[int, npt.NDArray[np.int64]] = {}
        self._pool = np.zeros(0, dtype=np.int64)

    def start(self, iteration: int) -> int:
        """Use the energy points active at ``iteration``; returns how many there are."""
        n = self.schedule.n_active(iteration)
        if n not in self._pools:
            self._pools[n] = np.flatnonzero(self.point_rank < n).astype(np.int64)
        self._pool = self._pools[n]
        return n

    def draw_indices(self) -> npt.NDArray[np.int64]:
        """Row indices of one batch (what :meth:`draw` gathers; the ensemble trainer too)."""
        return self._pool[self.rng.integers(0, self._pool.size, size=self.batch_size)]

    def _indices(self) -> torch.Tensor:
        return torch.from_numpy(self.draw_indices()).to(self.device)

    def draw(self) -> Batch:
        """Showers and their labels."""
        idx = self._indices()
        return Batch(self.x.index_select(0, idx), self.label.index_select(0, idx))

    def draw_conditions(self) -> torch.Tensor:
        """Labels only."""
        return self.label.index_select(0, self._indices())


class _Rngs:
    """The run's random-number generators; their states travel in every checkpoint."""

    def __init__(self, seed: int) -> None:
        self.torch = torch.Generator().manual_seed(seed)
        self.numpy = np.random.default_rng(seed)
        self.python = random.Random(seed)

    def state(self) -> dict[str, Any]:
        return {
            "torch": self.torch.get_state(),
            "numpy": self.numpy.bit_generator.state,
            "python": self.python.getstate(),
        }

    def restore(self, state: dict[str, Any]) -> None:
        self.torch.set_state(state["torch"])
        self.numpy.bit_generator.state = state["numpy"]
        version, internal, gauss = state["python"]
        self.python.setstate((int(version), tuple(int(x) for x in internal), gauss))


@dataclass
class _Clock:
    """Training time of a run, summed over the calls of a resumed run: wall seconds and the
    process's CPU seconds (every thread), stored in each checkpoint as ``clock``.

    Only the training loop counts (reading data, fitting the preprocessing and building the
    networks do not), so that time-to-quality curves compare the recipes' iterations.
    """

    wall_before: float = 0.0
    cpu_before: float = 0.0
    wall_start: float = 0.0
    cpu_start: float = 0.0

    @classmethod
    def of_state(cls, state: dict[str, Any] | None) -> _Clock:
        clock = (state or {}).get("clock") or {}
        return cls(float(clock.get("wall_seconds", 0.0)), float(clock.get("cpu_seconds", 0.0)))

    def start(self) -> None:
        self.wall_start, self.cpu_start = time.perf_counter(), time.process_time()

    def record(self) -> dict[str, float]:
        return {
            "wall_seconds": self.wall_before + time.perf_counter() - self.wall_start,
            "cpu_seconds": self.cpu_before + time.process_time() - self.cpu_start,
        }


class _Trainer:
    """One model (a run, or one range of a split run): restored or started, then trained.

    Args:
        config: the (sub-)run's resolved settings.
        inputs: the data file and what it describes.
        writer: the (sub-)run folder's writer.
    """

    def __init__(self, config: TrainConfig, inputs: _Inputs, writer: RunWriter) -> None:
        self.config, self.inputs, self.writer = config, inputs, writer
        self.family = config.model_family
        energies, showers, conditions = _events(config, inputs)
        _check_batch_size(config, energies.size, inputs)
        state, source = self._previous_state(writer.folder.checkpoints())
        self._set_up_model(state, source, energies, showers, conditions)
        x, label = self.preprocessor.transform(energies, showers, self._conditions(conditions))
        self.schedule, point_rank = _injection(config, energies)
        device = resolve_device(config.device)
        self.objective = self.family.build_objective(
            self.model_config,
            config.objective_settings(),
            self.shape,
            float(config.lr or 0.0),
            config.seed,
            device,
        )
        # frozen networks of the objective (the LHCb regressor) check their inputs
        self.objective.check_preprocessing(self.preprocessor.to_dict())
        _check_batch_memory(config, self.objective, self.shape, device)
        self.rngs = _Rngs(config.seed)
        self.start = 0 if state is None else self._resume(state)
        # training time of the earlier calls of a resumed run (wall, process CPU)
        self.clock = _Clock.of_state(state)
        self.static = self._static_state()
        self._check_disk()
        self._write_run_files(fresh=state is None)
        self.batches = _Batches(
            x=torch.from_numpy(x).to(device),
            label=torch.from_numpy(label).to(device),
            point_rank=point_rank,
            schedule=self.schedule,
            rng=self.rngs.numpy,
            device=device,
            batch_size=int(config.batch_size or 1),
        )

    def _previous_state(self, paths: list[Path]) -> tuple[dict[str, Any] | None, Path | None]:
        """The newest readable checkpoint of the folder, checked against the config.

        Checkpoints that cannot be read (truncated, corrupt, weights not finite) are passed
        over, said in one warning, and moved aside to ``<name>.corrupt``, out of the
        checkpoint list (kept for inspection); the run resumes from the newest good one.
        """
        if not paths:
            return None, None
        bad: list[tuple[Path, CheckpointError]] = []
        for path in reversed(paths):
            try:
                state = load_checkpoint(path)
            except CheckpointError as err:
                bad.append((path, err))
                continue
            _check_resume(state, self.config, self.inputs.binning, path)
            for b, problem in bad:
                aside = b.with_name(b.name + ".corrupt")
                os.replace(b, aside)
                log.warning(
                    "%s; resuming from %s (iteration %d) instead, the damaged file is kept as %s",
                    problem,
                    path.name,
                    state["iteration"],
                    aside.name,
                )
            if not bad:
                log.info(
                    "resuming %s from iteration %d", self.writer.folder.path, state["iteration"]
                )
            return state, path
        first = bad[0][1]
        raise CheckpointError(
            f"{self.writer.folder.checkpoint_dir}: no readable checkpoint to resume from "
            f"({len(bad)} damaged; the newest: {first}); move them away to start afresh"
        )

    def _conditions(self, conditions: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
        """The conditions as the preprocessing takes them (``None`` without any)."""
        return conditions if self.preprocessor.condition_names else None

    def _set_up_model(
        self,
        state: dict[str, Any] | None,
        path: Path | None,
        energies: Any,
        showers: Any,
        conditions: npt.NDArray[np.float64],
    ) -> None:
        """Preprocessing, architecture and shape: the checkpoint's, or fitted and configured."""
        if state is not None:
            source = str(path)
            self.preprocessor = Preprocessor.from_dict(state["preprocess"], source)
            # on resume the architecture comes from the checkpoint
            self.model_config = self.family.network_config.model_validate(state["model_config"])
        else:
            assert self.config.preprocess is not None
            self.preprocessor = build_preprocessor(self.config.preprocess).fit(
                energies, showers, self.inputs.binning, conditions if conditions.size else None
            )
            self.model_config = self.config.architecture()
        self.shape = model_shape(self.preprocessor, self.inputs.binning)

    def _resume(self, state: dict[str, Any]) -> int:
        """Load the weights, the objective's and the RNGs' states; return the iteration."""
        self.objective.sampler.load_state_dict(state["generator"])
        self.objective.load_state_dict(state["objective"])
        self.rngs.restore(state["rng"])
        return int(state["iteration"])

    @property
    def columns(self) -> tuple[str, ...]:
        """Columns of ``losses.csv``: iteration, the family's, active points."""
        return ("iteration", *self.family.loss_columns, "active_points")

    def _write_run_files(self, fresh: bool) -> None:
        self.writer.start_losses(self.columns, self.start)
        if fresh:
            self.writer.write_preprocess(self.preprocessor)
            self.writer.write_binning(self.inputs.binning)
        self.writer.write_config(self.config.model_dump(mode="json"))
        previous = None if fresh else self.writer.folder.info()
        if previous is not None and previous.data_sha256 not in (None, self.inputs.data_sha256):
            log.warning(
                "%s: the training data changed since the run started (SHA-256 %s, was %s)",
                self.inputs.data_path,
                self.inputs.data_sha256,
                previous.data_sha256,
            )
        self.writer.write_info(
            RunInfo(
                data=str(self.inputs.data_path),
                particle=self.inputs.particle,
                eta=self.inputs.eta,
                binning=self.inputs.binning.name,
                family=self.family.name,
                energy_points=self._energy_points(),
                energy_range=self.preprocessor.energy_range,
                fastcalogan_version=__version__,
                git_hash=git_hash(),
                **_environment(self.inputs, resolve_device(self.config.device)),
            )
        )

    def _static_state(self) -> dict[str, Any]:
        """What every checkpoint of this run holds besides weights, iteration and RNGs."""
        inputs = self.inputs
        return {
            "format": CHECKPOINT_FORMAT,
            "family": self.family.name,
            "preprocess": self.preprocessor.to_dict(),
            "train_config": self.config.model_dump(mode="json"),
            "model_config": self.model_config.model_dump(mode="json"),
            "model_shape": self.shape.to_dict(),
            "binning": geometry_to_mapping(inputs.binning),
            "binning_name": inputs.binning.name,
            "particle": inputs.particle,
            "eta": list(inputs.eta),
            "energy_range": list(self.preprocessor.energy_range),
            "energy_points": list(self._energy_points()),
            "data_path": str(inputs.data_path),
            "fastcalogan_version": __version__,
            "git_hash": git_hash(),
        }

    def _energy_points(self) -> tuple[float, ...]:
        """The discrete energy points of the sample; none for a continuous spectrum (whose
        every event has its own energy: a CaloGAN sample would store 100k numbers)."""
        order = self.schedule.order
        return order if len(order) <= _MAX_INJECTION_POINTS else ()

    def _state(self, iteration: int) -> dict[str, Any]:
        return {
            **self.static,
            "iteration": iteration,
            "clock": self.clock.record(),
            "generator": _cpu(self.objective.sampler.state_dict()),
            "objective": self.objective.state_dict(),
            "rng": self.rngs.state(),
        }

    def _checkpoint_iterations(self) -> int:
        """How many checkpoints the iterations still to run will write."""
        start, end, every = self.start, self.config.iterations, self.config.checkpoint_every
        if end <= start:
            return 0
        return end // every - start // every + (1 if end % every else 0)

    def _check_disk(self) -> None:
        """Refuse a run whose checkpoints and loss rows cannot fit on the disk."""
        n = self._checkpoint_iterations()
        if n == 0:
            return
        buffer = io.BytesIO()
        torch.save(self._state(self.start), buffer)
        size = buffer.tell()
        if self.start == 0:
            # before the first step, optimisers hold no state yet: Adam adds two moments per
            # weight
            size += 2 * sum(
                p.numel() * p.element_size()
                for m in _networks(self.objective)
                for p in m.parameters()
            )
        rows = (self.config.iterations - self.start) // self.config.log_every + 1
        check_free_space(
            self.writer.folder.checkpoint_dir,
            n * size + rows * 16 * (len(self.columns) + 1),
            "checkpoints",
            f"{n} checkpoints of {format_size(size)} up to iteration {self.config.iterations} "
            f"(checkpoint_every {self.config.checkpoint_every}); fewer iterations or a larger "
            "checkpoint_every need less",
        )

    def _diverged(self, iteration: int, what: str) -> ModelError:
        last = self.writer.folder.checkpoints()
        kept = (
            f"the last good checkpoint is {last[-1]}"
            if last
            else "no checkpoint was written before"
        )
        return ModelError(
            f"{self.writer.folder.path}: training diverged at iteration {iteration}: {what} "
            f"(lr {self.config.lr:g}: try a smaller learning rate); {kept}"
        )

    def _save(self, iteration: int) -> None:
        state = self._state(iteration)
        bad = nonfinite_weight(state)
        if bad is not None:
            raise self._diverged(iteration, f"the weights hold NaN or inf ({bad})")
        save_checkpoint(self.writer.checkpoint_target(iteration), state)
        log.info("%s: checkpoint at iteration %d", self.writer.folder.path, iteration)

    def run(
        self, progress: TrainProgress | None, offset: int = 0, total: int | None = None
    ) -> tuple[int, int, float]:
        """Train up to ``config.iterations``: (last iteration, new iterations, seconds).

        Args:
            progress: called every ``log_every`` iterations.
            offset, total: where this model's iterations sit in the whole call (split runs).
        """
        config, end = self.config, self.config.iterations
        rows: list[str] = []
        t0 = time.perf_counter()
        self.clock.start()
        # the clock of the budget and of checkpoints in time
        clock = time.process_time if config.time_clock == "cpu" else time.perf_counter
        start = last_save = clock()
        done = self.start
        if self.start >= end:
            log.info("%s already at iteration %d >= %d", self.writer.folder.path, self.start, end)
        for it in range(self.start, end):
            n_active = self.batches.start(it)
            losses = self.objective.step(self.batches, self.rngs.torch)
            done = it + 1
            now = clock()
            out_of_time = config.max_seconds is not None and now - start >= config.max_seconds
            if done % config.log_every == 0 or done == end or out_of_time:
                values = [float(v.item()) for v in losses]
                # NaN alone is a phase that did not run this iteration (the seam's convention,
                # e.g. a frozen flow); all NaN or any inf is divergence (NaN weights are also
                # refused at every checkpoint)
                if any(math.isinf(v) for v in values) or all(math.isnan(v) for v in values):
                    named = ", ".join(
                        f"{c} {v:g}" for c, v in zip(self.family.loss_columns, values, strict=False)
                    )
                    raise self._diverged(done, f"the losses are not finite ({named})")
                rows.append(f"{done}," + ",".join(f"{v:.6g}" for v in values) + f",{n_active}")
                if progress is not None:
                    progress(offset + done, total or end, status=self.family.status(values))
            if (
                done % config.checkpoint_every == 0
                or done == end
                or out_of_time
                or (
                    config.checkpoint_seconds is not None
                    and now - last_save >= config.checkpoint_seconds
                )
            ):
                # losses first: on resume, rows beyond the checkpoint are dropped
                self.writer.append_losses(rows)
                rows.clear()
                self._save(done)
                last_save = clock()
            if out_of_time:
                log.info(
                    "%s: stopped at iteration %d after %.1f s of %s time (max_seconds %g)",
                    self.writer.folder.path,
                    done,
                    now - start,
                    config.time_clock,
                    config.max_seconds,
                )
                break
        return max(self.start, done), max(0, done - self.start), time.perf_counter() - t0


def _cpu(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in state.items()}


def _train_split(
    config: TrainConfig, inputs: _Inputs, writer: RunWriter, progress: TrainProgress | None
) -> tuple[int, int, float]:
    """One model per energy range, in ``range-k`` sub-folders (seed + k each)."""
    ranges = SPLIT_RANGES[config.energy_ranges]
    writer.write_config(config.model_dump(mode="json"))
    writer.write_info(
        RunInfo(
            split=config.energy_ranges,
            ranges=ranges,
            subruns=tuple(writer.folder.part_name(k) for k in range(len(ranges))),
            data=str(inputs.data_path),
            particle=inputs.particle,
            eta=inputs.eta,
            binning=inputs.binning.name,
            family=config.family,
            fastcalogan_version=__version__,
            git_hash=git_hash(),
            **_environment(inputs, resolve_device(config.device)),
        )
    )
    last, new, secs = 0, 0, 0.0
    for k, energy_range in enumerate(ranges):
        sub_config = config.model_copy(
            update={"energy_ranges": "full", "energy_range": energy_range, "seed": config.seed + k}
        )
        last, new_k, secs_k = _Trainer(sub_config, inputs, writer.part(k)).run(
            progress, offset=k * config.iterations, total=len(ranges) * config.iterations
        )
        new, secs = new + new_k, secs + secs_k
    return last, new, secs


# ----- public entry --------------------------------------------------------------------------
def train(
    config: TrainConfig,
    showers_path: str | os.PathLike[str] | None,
    run_dir: str | os.PathLike[str],
    progress: TrainProgress | None = None,
) -> TrainResult:
    """Train a model of ``config.family`` on voxelised showers, resuming if ``run_dir`` has
    checkpoints.

    Args:
        config: the run's settings (preset defaults are filled in here).
        showers_path: CaloChallenge shower file; ``None`` takes ``config.data``.
        run_dir: output folder: ``config.yaml``, ``preprocess.json``, ``binning.yaml``,
            ``run.json``, ``checkpoints/ckpt-NNNNNNNN.pt``, ``losses.csv``, ``train.log``;
            split runs hold one such folder per range in ``range-k/``.
        progress: called as ``progress(done, total, status=...)`` every ``log_every``
            iterations.

    Returns:
        Paths and speed of the run.

    Raises:
        ConfigError: no data file, or an unusable binning.
        DataFormatError: the data file is invalid or has no events in the energy range.
        CheckpointError: the run folder's checkpoint is unreadable or conflicts with ``config``.
    """
    config = config.resolved()
    path = showers_path if showers_path is not None else config.data
    if path is None:
        raise ConfigError("data: no shower file given (set data: FILE or pass --data)")
    data_path = Path(path).resolve()
    folder = RunFolder(run_dir)
    _path_plan(config, data_path, folder).check()
    # the data first: a bad file or setting leaves no run folder behind
    inputs = _read_inputs(config, data_path)
    config = config.model_copy(update={"data": str(data_path)})
    t0 = time.perf_counter()
    retain_freed_memory()  # recycled tensors without page faults: about 4 % of an iteration
    previous = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    device = resolve_device(config.device)
    deterministic_cublas(device, config.deterministic)
    fresh = not folder.path.exists()
    try:
        with folder.writing() as writer, log_to_file(folder.train_log):
            try:
                if config.deterministic:
                    torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
                if config.threads is not None:
                    torch.set_num_threads(config.threads)
                log.info(
                    "training %s (%s) on %s: %d events, binning %s, particle %s, eta %s",
                    config.preset,
                    config.family,
                    data_path,
                    inputs.data.n_events,
                    inputs.binning.name,
                    inputs.particle,
                    inputs.eta,
                )
                if config.energy_ranges == "full":
                    last, new, secs = _Trainer(config, inputs, writer).run(progress)
                else:
                    last, new, secs = _train_split(config, inputs, writer, progress)
            finally:
                torch.use_deterministic_algorithms(previous)
                torch.set_num_threads(previous_threads)
    except FastCaloGANError:
        # a run refused (or diverged) before its first checkpoint leaves no folder behind
        if fresh and not any(part.checkpoints() for part in _parts(folder)):
            shutil.rmtree(folder.path, ignore_errors=True)
        raise
    checkpoints = tuple(p for part in folder.parts() for p in part.checkpoints())
    return TrainResult(
        run_dir=folder.path,
        last_iteration=last,
        checkpoints=checkpoints,
        seconds=time.perf_counter() - t0,
        iterations_per_s=new / secs if secs > 0 and new else 0.0,
    )


def _parts(folder: RunFolder) -> list[RunFolder]:
    """The folder's parts, or the folder itself where its ``run.json`` cannot be read."""
    try:
        return folder.parts()
    except FastCaloGANError:
        return [folder]


def _path_plan(config: TrainConfig, data_path: Path, folder: RunFolder) -> PathPlan:
    """What a training reads (data, binning file, config file) and writes (the run folder)."""
    plan = PathPlan().read(data_path, "training data").read(config_source(config), "config file")
    if config.binning and Path(config.binning).is_file():
        plan.read(config.binning, "binning file")
    plan.write(folder.path, "run folder", folder=True)
    # the run's own files are rewritten by design on every resume: no note; its config.yaml
    # holds the resolved config, so a run resumed from that very file may rewrite it
    plan.write(folder.config_yaml, "run's config", quiet=True, may_replace="config file")
    for path, what in (
        (folder.run_json, "run description"),
        (folder.preprocess_json, "run's preprocessing"),
        (folder.binning_yaml, "run's binning"),
        (folder.losses_csv, "loss table"),
        (folder.train_log, "training log"),
    ):
        plan.write(path, what, quiet=True)
    return plan
