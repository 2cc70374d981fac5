"""Configuration of a campaign: particles x |eta| slices, data, training, selection, cluster.

A campaign file looks like::

    name: demo
    particles: [photon, pion]
    eta: {start: 0.20, stop: 0.30, step: 0.05}     # or a list: [[0.20, 0.25], [0.25, 0.30]]
    data: {source: simulate, energies: ds1, events: 100}
    binning: default                               # or a name / file pattern per particle
    train: {preset: fastcalogan, iterations: 2000}
    cluster: {kind: local, n_workers: 2}

File patterns (``data.pattern``, ``binning``) may use the placeholders ``{particle}``,
``{pdg}`` (absolute PDG code), ``{eta_min}`` / ``{eta_max}`` (two decimals, ``0.20``) and
``{eta_min_x100}`` / ``{eta_max_x100}`` (integers, ``20``, as in the ATLAS file names), and
shell wildcards (``*``), which may match several files (e.g. one CSV per energy point).
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from .._config import StageConfig
from ..data import eta_slices
from ..errors import ConfigError
from ..geometry import get_particle

__all__ = [
    "CampaignConfig",
    "ClusterConfig",
    "DataSource",
    "EtaRange",
    "ExportSettings",
    "LayerSettings",
    "SelectSettings",
    "TrainSettings",
]

#: Placeholders a file pattern may use.
PATTERN_FIELDS = ("particle", "pdg", "eta_min", "eta_max", "eta_min_x100", "eta_max_x100")


class EtaRange(StageConfig):
    """|eta| slices from ``start`` to ``stop`` in steps of ``step`` (FastCaloGAN: 0.05).

    Attributes:
        start: lower edge of the first slice.
        stop: upper edge of the last slice.
        step: slice width.
    """

    start: float = Field(default=0.0, ge=0.0)
    stop: float = Field(gt=0.0)
    step: float = Field(default=0.05, gt=0.0)

    @model_validator(mode="after")
    def _fits(self) -> EtaRange:
        n = (self.stop - self.start) / self.step
        if self.stop <= self.start:
            raise ValueError(f"need start < stop, found {self.start} .. {self.stop}")
        if abs(n - round(n)) > 1e-6:
            raise ValueError(
                f"(stop - start) / step must be a whole number of slices, found {n:.4g}"
            )
        return self


def _eta_kind(value: Any) -> str:
    return "range" if isinstance(value, dict | EtaRange) else "list"


#: ``eta``: a list of ``[eta_min, eta_max]`` slices, or a ``{start, stop, step}`` range.
EtaSpec = Annotated[
    Annotated[list[tuple[float, float]], Tag("list")] | Annotated[EtaRange, Tag("range")],
    Discriminator(_eta_kind),
]


class DataSource(StageConfig):
    """Where each task's training showers come from.

    Attributes:
        source: ``simulate`` (the embedded reference simulator, voxel path) or ``files``.
        energies: ``ds1`` (the 15 dataset-1 points) or a list of energies in MeV (simulate).
        events: events per energy point, as the simulator's ``--events`` (ds1 counts scaled
            so that the lowest points get ``events``).
        pattern: file pattern of the user's inputs (files): HDF5 showers (``.h5``/``.hdf5``),
            ATLAS CSV files (``.csv``, one per energy point, energy in the file name), or hit
            files (``format: hits``), which are voxelised first.
        format: ``auto`` (from the suffix), ``showers``, ``csv`` or ``hits``.
        csv_leading_columns: non-voxel columns at the start of each CSV row.
    """

    source: Literal["simulate", "files"] = "simulate"
    energies: Literal["ds1"] | list[float] = "ds1"
    events: int = Field(default=10_000, ge=1, le=10_000_000)
    pattern: str | None = None
    format: Literal["auto", "showers", "csv", "hits"] = "auto"
    csv_leading_columns: int = Field(default=2, ge=0, le=100)

    @field_validator("energies")
    @classmethod
    def _positive(cls, value: str | list[float]) -> str | list[float]:
        if isinstance(value, list) and (not value or min(value) <= 0):
            raise ValueError("energies must be 'ds1' or a non-empty list of MeV values > 0")
        return value

    @model_validator(mode="after")
    def _pattern_for_files(self) -> DataSource:
        if self.source == "files" and not self.pattern:
            raise ValueError("source 'files' needs a pattern, e.g. data/{particle}_{eta_min}.h5")
        if self.pattern:
            _check_pattern(self.pattern)
        return self


class LayerSettings(StageConfig):
    """FastCaloGAN's relevant-layer rule applied before training.

    Attributes:
        relevant_layers: keep only layers holding at least ``threshold`` of the energy of the
            ``energy_mev`` sample (and every layer in front of such a layer).
        threshold: energy fraction that makes a layer relevant (0.1 % in FastCaloGAN).
        energy_mev: incident energy whose showers decide (events within 1 % of it); absent
            from the data, its nearest energy point decides (a warning in ``task.log``, and
            the point used in ``status.json``); ``null`` uses every event.
    """

    relevant_layers: bool = True
    threshold: float = Field(default=1e-3, gt=0.0, lt=1.0)
    energy_mev: float | None = Field(default=float(2**20), gt=0.0)


class TrainSettings(StageConfig):
    """Training of each task's GAN.

    Attributes:
        preset: model/training preset (``fastcalogan``, ``caloshowergan-photon``, ...).
        iterations: generator steps.
        overrides: further :class:`fastcalogan.train.TrainConfig` fields, e.g.
            ``{checkpoint_every: 500, batch_size: 64}``; each task's ``TrainConfig`` is built
            from them (with its seed, particle and slice) and validated before any work.
        ensemble: train up to this many tasks' GANs together in one worker, with stacked
            weights (:func:`fastcalogan.train.train_ensemble`): tasks of one particle whose
            showers have the same width, for presets that allow ensembles (the MLP WGAN-GP
            with a ReLU critic, e.g. ``fastcalogan``). Each task keeps its own folder and
            steps; 1 trains each task alone.
    """

    preset: str = "fastcalogan"
    iterations: int = Field(default=1_000, ge=1, le=100_000_000)
    overrides: dict[str, Any] = Field(default_factory=dict)
    ensemble: int = Field(default=1, ge=1, le=1024)


class SelectSettings(StageConfig):
    """Best-checkpoint selection: :class:`fastcalogan.select.SelectConfig` fields.

    Attributes:
        overrides: the ``SelectConfig`` fields, validated into one before any work.
    """

    overrides: dict[str, Any] = Field(default_factory=dict)


class ExportSettings(StageConfig):
    """ONNX export of the selected generator and the 65 GeV response summary.

    Attributes:
        enabled: export ``generator.onnx`` into each task folder.
        overrides: :class:`fastcalogan.generate.ExportConfig` fields, validated into one
            before any work.
        response_energy_mev: energy of the mean-response summary (65 GeV, FastCaloGAN
            figures 16-18).
        response_events: generated showers for that summary.
    """

    enabled: bool = True
    overrides: dict[str, Any] = Field(default_factory=dict)
    response_energy_mev: float = Field(default=float(2**16), gt=0.0)
    response_events: int = Field(default=1_000, ge=1, le=10_000_000)


class ClusterConfig(StageConfig):
    """Where the tasks run.

    ``local`` starts a :class:`dask.distributed.LocalCluster`; ``htcondor`` and ``slurm`` start
    dask-jobqueue clusters whose jobs each run one worker. ``address`` connects to
    a running scheduler instead.

    Attributes:
        kind: ``local``, ``htcondor``, ``slurm`` or ``address``.
        address: scheduler address (``tcp://host:8786``) for ``kind: address``.
        n_workers: local workers, or batch jobs to start (without ``adapt``).
        threads_per_worker: tasks a worker runs at once (keep 1: each task trains a model).
        processes: local workers as processes (true) or threads (false).
        memory_limit: per local worker (``auto`` or e.g. ``4GB``).
        dashboard_address: dashboard bind address (``:8787``; ``:0`` any free port;
            ``null`` none).
        cores: cores requested per batch job; the job runs ``threads_per_worker`` tasks at
            a time and each task's torch uses ``torch_threads`` (default ``cores``) threads.
        torch_threads: torch intra-op threads per task (default: ``cores`` on batch jobs;
            local workers keep Dask's one thread per worker process).
        memory: memory per batch job (e.g. ``8GB``).
        disk: disk per job (HTCondor).
        queue: queue / partition (SLURM).
        account: account / project to charge (SLURM).
        walltime: job wall time (SLURM ``HH:MM:SS``; on HTCondor use ``job_extra``
            ``+MaxRuntime``).
        job_extra: extra scheduler directives, e.g. ``["--gres=gpu:1"]`` or
            ``{"+JobFlavour": '"tomorrow"'}`` for HTCondor.
        job_script_prologue: shell lines run before the worker starts (environment setup).
        local_directory: scratch folder of the workers.
        log_directory: batch job logs.
        adapt_minimum / adapt_maximum: adaptive scaling bounds in jobs (both set: adapt).
        retries: Dask retries of a task that raised (a lost worker is rescheduled by Dask
            up to ``allowed_failures`` times).
        allowed_failures: worker deaths a task may cause before Dask gives up on it.
    """

    kind: Literal["local", "htcondor", "slurm", "address"] = "local"
    address: str | None = None
    n_workers: int = Field(default=2, ge=0, le=100_000)
    threads_per_worker: int = Field(default=1, ge=1, le=1024)
    processes: bool = True
    memory_limit: str = "auto"
    dashboard_address: str | None = ":8787"
    cores: int = Field(default=1, ge=1, le=1024)
    torch_threads: int | None = Field(default=None, ge=1, le=1024)
    memory: str = "4GB"
    disk: str = "10GB"
    queue: str | None = None
    account: str | None = None
    walltime: str | None = None
    job_extra: list[str] | dict[str, str] = Field(default_factory=list)
    job_script_prologue: list[str] = Field(default_factory=list)
    local_directory: str | None = None
    log_directory: str | None = None
    adapt_minimum: int | None = Field(default=None, ge=0)
    adapt_maximum: int | None = Field(default=None, ge=1)
    retries: int = Field(default=2, ge=0, le=100)
    allowed_failures: int = Field(default=3, ge=0, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        if self.kind == "address" and not self.address:
            raise ValueError("kind 'address' needs address: tcp://host:port")
        if self.kind != "address" and self.n_workers < 1 and self.adapt_maximum is None:
            raise ValueError("n_workers must be >= 1 (or set adapt_minimum and adapt_maximum)")
        if (self.adapt_minimum is None) != (self.adapt_maximum is None):
            raise ValueError("set both adapt_minimum and adapt_maximum, or neither")
        if self.adapt_minimum is not None and self.adapt_maximum is not None:
            if self.adapt_minimum > self.adapt_maximum:
                raise ValueError("adapt_minimum must not exceed adapt_maximum")
        if self.kind == "htcondor" and self.walltime:
            raise ValueError(
                "HTCondor has no walltime option; use job_extra: {'+MaxRuntime': '7200'}"
            )
        return self


class CampaignConfig(StageConfig):
    """A grid of trainings: one task per (particle, |eta| slice).

    Attributes:
        name: campaign name (labels the report).
        directory: default campaign folder (``campaigns/<name>`` when omitted).
        particles: particle names.
        eta: list of ``[eta_min, eta_max]`` slices or ``{start, stop, step}``.
        data: training data of each task.
        binning: ``default`` (the particle's dataset-1 binning), one binning name / file
            pattern, or a mapping particle -> name / pattern.
        layers: relevant-layer rule.
        train: preset, iterations and further training settings.
        select: best-checkpoint selection settings.
        export: ONNX export and response summary.
        cluster: where tasks run.
        seed: campaign seed; each task derives its own from it and its (particle, slice).
    """

    name: str = Field(default="campaign", min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    directory: str | None = None
    particles: list[str] = Field(min_length=1)
    eta: EtaSpec
    data: DataSource = Field(default_factory=DataSource)
    binning: str | dict[str, str] = "default"
    layers: LayerSettings = Field(default_factory=LayerSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    select: SelectSettings = Field(default_factory=SelectSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    seed: int = Field(default=0, ge=0)

    @field_validator("particles")
    @classmethod
    def _known_particles(cls, value: list[str]) -> list[str]:
        names = []
        for name in value:
            try:
                names.append(get_particle(name).name)
            except ConfigError as err:
                raise ValueError(str(err)) from err
        if len(set(names)) != len(names):
            raise ValueError(f"particles listed twice: {value}")
        return names

    @field_validator("eta")
    @classmethod
    def _slices_ordered(cls, value: EtaSpec) -> EtaSpec:
        if isinstance(value, list):
            if not value:
                raise ValueError("need at least one [eta_min, eta_max] slice")
            for lo, hi in value:
                if not 0.0 <= lo < hi:
                    raise ValueError(f"need 0 <= eta_min < eta_max, found [{lo}, {hi}]")
            if len(set(value)) != len(value):
                raise ValueError("a slice is listed twice")
        return value

    @field_validator("binning")
    @classmethod
    def _binning_patterns(cls, value: str | dict[str, str]) -> str | dict[str, str]:
        for pattern in [value] if isinstance(value, str) else list(value.values()):
            _check_pattern(pattern)
        return value

    @model_validator(mode="after")
    def _binning_covers_particles(self) -> CampaignConfig:
        if isinstance(self.binning, dict):
            given = {get_particle(k).name for k in self.binning}
            missing = [p for p in self.particles if p not in given]
            if missing:
                raise ValueError(f"binning mapping has no entry for {missing}")
        return self

    def slices(self) -> list[tuple[float, float]]:
        """The |eta| slices, in order."""
        if isinstance(self.eta, EtaRange):
            return eta_slices(self.eta.start, self.eta.stop, self.eta.step)
        return [(float(lo), float(hi)) for lo, hi in self.eta]


def _check_pattern(pattern: str) -> None:
    """Reject placeholders other than :data:`PATTERN_FIELDS` (a typo would match nothing)."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None]
    except ValueError as err:
        raise ValueError(f"pattern '{pattern}': {err}") from err
    unknown = [f for f in fields if f not in PATTERN_FIELDS]
    if unknown:
        raise ValueError(
            f"pattern '{pattern}' uses unknown placeholder(s) {unknown} "
            f"(allowed: {', '.join(PATTERN_FIELDS)})"
        )
