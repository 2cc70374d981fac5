"""``generate``: write showers from a trained run in the CaloChallenge layout."""

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
from ..data import ShowerWriter, shower_file_bytes
from ..errors import CheckpointError
from ..geometry import Geometry
from ..train import RunFolder
from .config import GenerateConfig
from .graph import sidecar_path
from .simulator import Simulator

__all__ = ["GenerateResult", "generate"]


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


def generate(
    config: GenerateConfig, run_dir: str | os.PathLike[str], out_path: str | os.PathLike[str]
) -> GenerateResult:
    """Generate ``n_events`` showers at each energy and write them to ``out_path``.

    Args:
        config: energies, counts, seed and device.
        run_dir: a training run folder (or a checkpoint file).
        out_path: CaloChallenge HDF5 file (``incident_energies`` (N, 1), ``showers``
            (N, n_voxels), MeV), written atomically; attributes record particle, |eta|,
            the geometry (see :func:`~fastcalogan.data.geometry_attrs`), seed and source.

    Returns:
        Path, counts and speed.
    """
    t0 = time.perf_counter()
    source = Path(config.checkpoint) if config.checkpoint else Path(run_dir)
    sim = Simulator.load(source, config.device)
    particle = config.particle or sim.particle
    attrs = {
        "particle": particle,
        "eta_min": sim.eta[0],
        "eta_max": sim.eta[1],
        "fastcalogan_version": __version__,
        "seed": config.seed,
        "generator": "fastcalogan",
        "source": str(source),
        "checkpoints": ",".join(str(p) for p in sim.checkpoints),
    }
    checkpoints = tuple(p for p in sim.checkpoints if p is not None)
    return write_generated(sim, config, out_path, attrs, checkpoints, t0)


class _ShowerSource(Protocol):
    """What :func:`write_generated` needs of a simulator (torch or onnxruntime)."""

    @property
    def binning(self) -> Geometry: ...

    def simulate(
        self,
        energies_mev: npt.ArrayLike,
        rng: np.random.Generator | int,
        batch_size: int = ...,
        particle: str | None = ...,
    ) -> npt.NDArray[np.float32]: ...


def generator_files(sources: tuple[Path, ...]) -> PathPlan:
    """A :class:`~fastcalogan._fileio.PathPlan` reading a generator's files.

    For checkpoints: each run folder's checkpoints, description, config, preprocessing,
    binning and its training data; for an ONNX model: the model, its sidecar and binning.
    """
    plan = PathPlan()
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
    """Generate ``config.n_events`` showers per energy in blocks and write them atomically.

    Args:
        sim: the torch or onnxruntime simulator.
        config: energies, counts, seed, batch and block sizes.
        out_path: CaloChallenge shower file.
        attrs: file attributes (particle, eta, provenance); the file also carries
            ``sim.binning`` (:func:`~fastcalogan.data.geometry_attrs`).
        checkpoints: what the showers came from, for the result.
        t0: ``time.perf_counter()`` at the start of the call (loading included in ``seconds``).
    """
    energies = np.repeat(np.asarray(config.energies, dtype=np.float64), config.n_events)
    rng = np.random.default_rng(config.seed)
    t_gen = 0.0
    generator_files(checkpoints).write(out_path, "shower file").check()
    check_free_space(
        out_path,
        shower_file_bytes(int(energies.size), sim.binning.n_voxels),
        "shower file",
        f"{energies.size} showers of {sim.binning.n_voxels} voxels, uncompressed",
    )
    with ShowerWriter(out_path, sim.binning.n_voxels, attrs, geometry=sim.binning) as writer:
        for start in range(0, energies.size, config.chunk_events):
            block = energies[start : start + config.chunk_events]
            t1 = time.perf_counter()
            showers = sim.simulate(block, rng, config.batch_size, particle=config.particle)
            t_gen += time.perf_counter() - t1
            writer.append(block, showers)
    return GenerateResult(
        path=Path(out_path),
        n_events=int(energies.size),
        seconds=time.perf_counter() - t0,
        showers_per_s=energies.size / t_gen if t_gen > 0 else 0.0,
        checkpoints=checkpoints,
    )
