"""``generate``: write showers from a trained run in the CaloChallenge layout.

What to generate comes from :class:`GenerateConfig`: energies (a list, ``n_events`` each, or
the dataset-1 points ``ds1``) with fixed conditions, or every event of a reference file
(``like``), event by event with its energy and conditions. Generated files carry the
conditions of a conditioned model as their ``conditions`` dataset.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .. import __version__
from .._fileio import PathPlan, check_free_space
from ..data import DS1_ENERGIES, ShowerWriter, ds1_event_counts, iter_showers, shower_file_bytes
from ..errors import CheckpointError, ConfigError, DataFormatError
from ..geometry import Geometry
from ..preprocess import ConditionsLike, condition_matrix
from ..train import RunFolder
from .config import GenerateConfig
from .graph import sidecar_path
from .simulator import Simulator

__all__ = ["GenerateResult", "GenerationRequest", "ds1_summary", "generate", "generation_request"]


@dataclass(frozen=True)
class GenerateResult:
    """Outcome of :func:`generate`.

    Attributes:
        path: the shower file written.
        n_events: showers written.
        seconds: wall time, loading included.
        showers_per_s: generation speed (loading excluded).
        checkpoints: the checkpoint(s) used.
    """

    path: Path
    n_events: int
    seconds: float
    showers_per_s: float
    checkpoints: tuple[Path, ...]


@dataclass(frozen=True)
class GenerationRequest:
    """The events to generate.

    Attributes:
        energies: incident energies, shape ``(n,)``, MeV, in the order they are written.
        conditions: the model's conditions, ``(n, k)`` in the order of ``condition_names``.
        condition_names: the model's conditions (empty: the energy alone).
        source: ``energies``, ``ds1`` or the reference file.
    """

    energies: npt.NDArray[np.float64]
    conditions: npt.NDArray[np.float64]
    condition_names: tuple[str, ...]
    source: str


def ds1_summary(scale: float) -> str:
    """One line: the dataset-1 points and the events per point a scale implies.

    >>> ds1_summary(0.1).split("; ")[0]
    'ds1: 15 points 256..4194304 MeV (2^8..2^22)'
    >>> ds1_summary(0.1).split("; ")[1]
    '1000 events per point up to 262144 MeV, then 500, 300, 200, 100 (dataset-1 counts x 0.1)'
    """
    counts = ds1_event_counts(scale)
    return (
        f"ds1: {DS1_ENERGIES.size} points {DS1_ENERGIES[0]:.0f}..{DS1_ENERGIES[-1]:.0f} MeV "
        f"(2^8..2^22); {counts[0]} events per point up to {DS1_ENERGIES[10]:.0f} MeV, then "
        f"{', '.join(str(c) for c in counts[11:])} (dataset-1 counts x {scale:g})"
    )


def _reference_events(
    path: Path, names: tuple[str, ...]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Incident energies ``(N,)`` and the conditions ``names`` ``(N, k)`` of a shower file."""
    if not path.is_file():
        raise ConfigError(f"like: reference file {path} not found")
    energies: list[npt.NDArray[np.float64]] = []
    conditions: list[npt.NDArray[np.float64]] = []
    # only energies and conditions are used: the showers' deposit ratio is not checked
    for block in iter_showers(path, max_deposit_ratio=None):
        assert block.conditions is not None  # ShowerData fills it in
        columns = dict(zip(block.condition_names, block.conditions.T, strict=True))
        conditions.append(
            condition_matrix(columns, names, block.n_events, str(path), DataFormatError)
        )
        energies.append(block.incident_energies)
    if not energies:
        raise DataFormatError(f"{path}: expected reference events to generate like, found 0")
    return np.concatenate(energies), np.concatenate(conditions)


def generation_request(
    config: GenerateConfig, condition_names: tuple[str, ...]
) -> GenerationRequest:
    """The events ``config`` asks for, for a model conditioned on ``condition_names``.

    Raises:
        ConfigError: a fixed condition the model needs is not given, or the reference file
            is missing.
        DataFormatError: the reference file is invalid or lacks the model's conditions.
    """
    if config.like is not None:
        energies, values = _reference_events(Path(config.like), condition_names)
        return GenerationRequest(energies, values, condition_names, config.like)
    if config.energies == "ds1":
        counts = ds1_event_counts(config.n_events / 10_000)
        energies = np.repeat(DS1_ENERGIES, counts)
    else:
        assert config.energies is not None  # GenerateConfig: energies or like
        energies = np.repeat(np.asarray(config.energies, dtype=np.float64), config.n_events)
    fixed = {name: np.full(energies.size, value) for name, value in config.conditions.items()}
    try:
        values = condition_matrix(fixed, condition_names, energies.size, "conditions", ConfigError)
    except ConfigError as err:
        raise ConfigError(f"{err} (give them with --condition NAME=VALUE)") from err
    source = "ds1" if config.energies == "ds1" else "energies"
    return GenerationRequest(energies, values, condition_names, source)


def generate(
    config: GenerateConfig, run_dir: str | os.PathLike[str], out_path: str | os.PathLike[str]
) -> GenerateResult:
    """Generate the showers ``config`` asks for and write them to ``out_path``.

    Args:
        config: energies and counts (or a reference file to generate like), conditions,
            seed and device.
        run_dir: a training run folder (or a checkpoint file).
        out_path: CaloChallenge HDF5 file (``incident_energies`` (N, 1), ``showers``
            (N, n_voxels), MeV, and for a conditioned model ``conditions`` (N, k) with its
            ``names``), written atomically; attributes record particle, |eta|, the geometry
            (see :func:`~fastcalogan.data.geometry_attrs`), seed and source.

    Returns:
        Path, counts and speed.
    """
    t0 = time.perf_counter()
    source = Path(config.checkpoint) if config.checkpoint else Path(run_dir)
    sim = Simulator.load(source, config.device, config.precision)
    particle = config.particle or sim.particle
    attrs = {
        "particle": particle,
        "eta_min": sim.eta[0],
        "eta_max": sim.eta[1],
        "fastcalogan_version": __version__,
        "seed": config.seed,
        "generator": "fastcalogan",
        "source": str(source),
        "precision": config.precision,
        "checkpoints": ",".join(str(p) for p in sim.checkpoints),
    }
    checkpoints = tuple(p for p in sim.checkpoints if p is not None)
    return write_generated(sim, config, out_path, attrs, checkpoints, t0)


class _ShowerSource(Protocol):
    """What :func:`write_generated` needs of a simulator (torch or onnxruntime)."""

    @property
    def binning(self) -> Geometry: ...

    @property
    def condition_names(self) -> tuple[str, ...]: ...

    def simulate(
        self,
        energies_mev: npt.ArrayLike,
        rng: np.random.Generator | int,
        batch_size: int = ...,
        particle: str | None = ...,
        conditions: ConditionsLike | None = ...,
    ) -> npt.NDArray[np.float32]: ...


def generator_files(sources: tuple[Path, ...], plan: PathPlan | None = None) -> PathPlan:
    """A :class:`~fastcalogan._fileio.PathPlan` reading a generator's files (added to ``plan``).

    For checkpoints: each run folder's checkpoints, description, config, preprocessing,
    binning and its training data; for an ONNX model: the model, its sidecar and binning.
    """
    plan = plan if plan is not None else PathPlan()
    for c in sources:
        if c.suffix == ".onnx":
            plan.read(c, "ONNX model").read(sidecar_path(c), "ONNX sidecar")
            plan.read(c.with_suffix(".binning.yaml"), "ONNX model's binning")
            continue
        run = RunFolder.of_checkpoint(c)
        plan.read(c, "checkpoint").read_all(run.checkpoints(), "checkpoint of the run")
        for path in (run.run_json, run.config_yaml, run.preprocess_json, run.binning_yaml):
            plan.read(path, "run's file")
        try:
            info = run.info()
        except CheckpointError:
            info = None
        if info is not None and info.data:
            plan.read(info.data, "run's training data")
    return plan


def write_generated(
    sim: _ShowerSource,
    config: GenerateConfig,
    out_path: str | os.PathLike[str],
    attrs: dict[str, Any],
    checkpoints: tuple[Path, ...],
    t0: float,
) -> GenerateResult:
    """Generate the showers of ``config`` in blocks and write them atomically.

    Args:
        sim: the torch or onnxruntime simulator.
        config: energies and counts (or a reference to generate like), conditions, seed,
            batch and block sizes.
        out_path: CaloChallenge shower file.
        attrs: file attributes (particle, eta, provenance); the file also carries
            ``sim.binning`` (:func:`~fastcalogan.data.geometry_attrs`).
        checkpoints: what the showers came from, for the result.
        t0: ``time.perf_counter()`` at the start of the call (loading included in ``seconds``).
    """
    # the reference asked for by name first: an output that is it is named as such
    plan = generator_files(checkpoints, PathPlan().read(config.like, "reference file"))
    if config.like is not None:
        attrs = {**attrs, "like": str(config.like)}
    plan.write(out_path, "shower file").check()
    request = generation_request(config, sim.condition_names)
    energies, names = request.energies, request.condition_names
    check_free_space(
        out_path,
        shower_file_bytes(int(energies.size), sim.binning.n_voxels),
        "shower file",
        f"{energies.size} showers of {sim.binning.n_voxels} voxels, uncompressed",
    )
    rng = np.random.default_rng(config.seed)
    t_gen = 0.0
    with ShowerWriter(
        out_path, sim.binning.n_voxels, attrs, geometry=sim.binning, condition_names=names
    ) as writer:
        for start in range(0, energies.size, config.chunk_events):
            sl = slice(start, start + config.chunk_events)
            block = energies[sl]
            values = request.conditions[sl] if names else None
            t1 = time.perf_counter()
            showers = sim.simulate(
                block, rng, config.batch_size, particle=config.particle, conditions=values
            )
            t_gen += time.perf_counter() - t1
            writer.append(block, showers, values)
    return GenerateResult(
        path=Path(out_path),
        n_events=int(energies.size),
        seconds=time.perf_counter() - t0,
        showers_per_s=energies.size / t_gen if t_gen > 0 else 0.0,
        checkpoints=checkpoints,
    )
