"""Train K independent GANs in one process with stacked weights: an ensemble.

Each member is a complete single run: its own data file (an |eta| slice, a particle of the
same binning) or seed, its own run folder (checkpoints, ``losses.csv``, ``run.json``) that
selection, generation and export read as any other, and its own random-number generators,
drawn in the order a single run draws them. Only the arithmetic is shared: every member's
critic and generator steps run as one batched product per layer
(:class:`~fastcalogan.models.stacked.StackedWganGp`), so K small networks keep a CPU core's
(or a GPU's) matrix units busy. A member equals its separate training up to the float
rounding of the batched products (tested).

On CUDA the whole iteration (every member's ``n_critic`` critic steps and generator step,
the Adam updates included) is captured once as a CUDA graph and replayed: the random numbers
are still drawn on the CPU from the members' generators and copied into the graph's input
buffers, so a GPU run draws the same numbers as a CPU run.

Members must share the preset, model settings and binning (the weights are stacked), start
from the same iteration, and use the MLP WGAN-GP with a critic that allows the written-out
critic step (ReLUs, no spectral normalisation: the FastCaloGAN preset).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._heap import retain_freed_memory
from .._logging import log_to_file
from ..errors import CheckpointError, ConfigError
from ..models import fused_critic_supported
from ..models.stacked import StackedWganGp, members_of
from .config import TrainConfig
from .loop import TrainProgress, TrainResult, _read_inputs, _Trainer
from .run_folder import RunFolder, RunWriter
from .sampling import deterministic_cublas, resolve_device

__all__ = [
    "SHARED_FIELDS",
    "EnsembleMember",
    "EnsembleResult",
    "ensemble_members",
    "ensemble_supported",
    "train_ensemble",
]

log = logging.getLogger(__name__)

#: Eager iterations on CUDA before the step is captured (kernels' lazy initialisation, the
#: optimisers' state and the gradient buffers must exist before capture).
_GRAPH_WARMUP = 3


@dataclass(frozen=True)
class EnsembleMember:
    """One GAN of an ensemble.

    Attributes:
        data: its CaloChallenge shower file.
        run_dir: its run folder.
        seed: its seed (default: the config's).
        config: its own settings (a campaign task's: particle, |eta|, binning, seed), which
            must agree with the shared config on everything the ensemble shares
            (:data:`SHARED_FIELDS`); default the shared config.
    """

    data: Path
    run_dir: Path
    seed: int | None = None
    config: TrainConfig | None = None


@dataclass(frozen=True)
class EnsembleResult:
    """Outcome of :func:`train_ensemble`.

    Attributes:
        runs: each member's :class:`TrainResult`, in member order (its ``iterations_per_s``
            is the ensemble's iterations per second).
        seconds: wall time of the call.
        gan_iterations_per_s: members x iterations per second of the training loop.
    """

    runs: tuple[TrainResult, ...]
    seconds: float
    gan_iterations_per_s: float


def ensemble_supported(config: TrainConfig) -> str | None:
    """Why ``config`` cannot be trained as an ensemble member (``None``: it can)."""
    if config.family != "wgan-gp-mlp":
        return f"ensembles train the MLP WGAN-GP (family wgan-gp-mlp), not {config.family}"
    if config.energy_ranges != "full":
        return "ensembles train one model per member (energy_ranges: full)"
    if not fused_critic_supported(config.architecture()):
        return (
            f"ensembles need a critic with relu activations and no spectral normalisation "
            f"(preset {config.preset}'s critic does not allow the written-out critic step)"
        )
    return None


@contextlib.contextmanager
def _torch_settings(config: TrainConfig, device: torch.device) -> Iterator[None]:
    """Deterministic algorithms, threads and the matrix-product precision for the run."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    threads = torch.get_num_threads()
    tf32 = torch.backends.cuda.matmul.allow_tf32
    try:
        if config.deterministic:
            torch.use_deterministic_algorithms(True, warn_only=device.type != "cpu")
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        if device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = config.precision == "tf32"
        yield
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
        torch.backends.cuda.matmul.allow_tf32 = tf32


class _Draws:
    """One iteration's random inputs of every member, drawn on the CPU as a single run draws
    them: per critic step the batch's rows (numpy), the noise and the interpolation
    coefficients (torch); then the generator step's rows and noise."""

    def __init__(self, trainers: Sequence[_Trainer], offsets: Sequence[int]) -> None:
        first = trainers[0].objective
        self.trainers, self.offsets = trainers, offsets
        self.noise = first.noise  # type: ignore[attr-defined]
        self.n_critic = int(first.settings.n_critic)  # type: ignore[attr-defined]
        self.batch = trainers[0].batches.batch_size
        k, b = len(trainers), self.batch
        self.rows = torch.empty((self.n_critic + 1, k, b), dtype=torch.int64)
        self.z = torch.empty((self.n_critic + 1, k, b, self.noise.width))
        self.eps = torch.empty((self.n_critic, k, b, 1))
        self._copied: Any = None
        if trainers[0].batches.device.type == "cuda":  # pragma: no cover - needs a GPU
            self.rows, self.z, self.eps = (t.pin_memory() for t in (self.rows, self.z, self.eps))

    def copied(self) -> None:
        """Mark the asynchronous copies of this iteration's draws as issued (CUDA)."""
        if self.rows.is_pinned():  # pragma: no cover - needs a GPU
            self._copied = torch.cuda.Event()
            self._copied.record()

    def draw(self) -> None:
        if self._copied is not None:  # pragma: no cover - needs a GPU
            # the previous iteration's copies must have left the pinned buffers
            self._copied.synchronize()
        b = self.batch
        for k, (trainer, offset) in enumerate(zip(self.trainers, self.offsets, strict=True)):
            gen = trainer.rngs.torch
            for i in range(self.n_critic + 1):
                rows = trainer.batches.draw_indices() + offset
                self.rows[i, k] = torch.from_numpy(rows)
                self.z[i, k] = self.noise.sample(b, gen)
                if i < self.n_critic:
                    self.eps[i, k] = torch.rand((b, 1), generator=gen)


class _Step:
    """The device part of an iteration: gather the rows, run every member's updates.

    Inputs are copied into fixed device buffers, so that on CUDA the step can be captured
    as a graph and replayed; on the CPU it runs eagerly.
    """

    def __init__(
        self,
        stack: StackedWganGp,
        x: torch.Tensor,
        label: torch.Tensor,
        draws: _Draws,
        device: torch.device,
        graph: bool,
    ) -> None:
        self.stack, self.x, self.label, self.device = stack, x, label, device
        self.rows = torch.empty_like(draws.rows, device=device)
        self.z = torch.empty_like(draws.z, device=device)
        self.eps = torch.empty_like(draws.eps, device=device)
        self.use_graph = graph
        self.graph: Any = None
        self.eager_steps = 0
        self.out: tuple[torch.Tensor, ...] = ()

    def _run(self) -> tuple[torch.Tensor, ...]:
        n_critic, k, b = self.eps.shape[:3]
        flat = self.rows.reshape(-1)
        x = self.x.index_select(0, flat).view(n_critic + 1, k, b, -1)
        label = self.label.index_select(0, flat).view(n_critic + 1, k, b, -1)
        return self.stack.step(
            x[:n_critic],
            label[:n_critic],
            self.z[:n_critic],
            self.eps,
            label[n_critic],
            self.z[n_critic],
        )

    def __call__(self, draws: _Draws) -> tuple[torch.Tensor, ...]:
        non_blocking = self.device.type == "cuda"
        self.rows.copy_(draws.rows, non_blocking=non_blocking)
        self.z.copy_(draws.z, non_blocking=non_blocking)
        self.eps.copy_(draws.eps, non_blocking=non_blocking)
        draws.copied()
        if not self.use_graph:
            return self._run()
        if self.graph is not None:  # pragma: no cover - needs a GPU
            self.graph.replay()
            return self.out
        return self._warm_up_or_capture()  # pragma: no cover - needs a GPU

    def _warm_up_or_capture(self) -> tuple[torch.Tensor, ...]:  # pragma: no cover - needs a GPU
        """The first iterations eagerly on a side stream, then capture (which runs nothing)
        and replay the captured iteration for this one."""
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            if self.eager_steps < _GRAPH_WARMUP:
                self.eager_steps += 1
                out = self._run()
                torch.cuda.current_stream().wait_stream(stream)
                return out
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = self._run()
        self.graph.replay()
        return self.out


#: Settings every member of an ensemble shares (the loop runs them in lockstep).
SHARED_FIELDS: tuple[str, ...] = (
    "family",
    "preset",
    "model",
    "objective",
    "batch_size",
    "lr",
    "iterations",
    "injection",
    "injection_every",
    "energy_ranges",
    "checkpoint_every",
    "log_every",
    "device",
    "deterministic",
    "threads",
    "cuda_graph",
    "precision",
)


def _member_configs(config: TrainConfig, members: Sequence[EnsembleMember]) -> list[TrainConfig]:
    out = []
    shared = config.model_dump(mode="json", include=set(SHARED_FIELDS))
    for k, m in enumerate(members):
        own = config if m.config is None else m.config.resolved()
        mine = own.model_dump(mode="json", include=set(SHARED_FIELDS))
        differ = [key for key in SHARED_FIELDS if mine.get(key) != shared.get(key)]
        if differ:
            raise ConfigError(
                f"ensemble member {k} ({m.run_dir}) differs from the ensemble's settings in "
                f"{', '.join(differ)}; members share them"
            )
        out.append(
            own.model_copy(
                update={
                    "seed": own.seed if m.seed is None else int(m.seed),
                    "data": str(Path(m.data).resolve()),
                }
            )
        )
    return out


def train_ensemble(
    config: TrainConfig,
    members: Sequence[EnsembleMember],
    progress: TrainProgress | None = None,
) -> EnsembleResult:
    """Train (or resume) every member's GAN together, with stacked weights.

    Args:
        config: the settings every member shares (preset defaults are filled in here); each
            member's own seed and data file replace ``seed`` and ``data``.
        members: data file, run folder and seed of each GAN.
        progress: called as ``progress(done, total, status=...)`` every ``log_every``
            iterations (iterations of the ensemble, not of its members).

    Returns:
        Each member's result and the ensemble's speed.

    Raises:
        ConfigError: no member, two members in one folder, or settings an ensemble cannot
            train (another family, split energy ranges, a spectrally normalised critic).
        ModelError: members whose architectures or data shapes differ.
        CheckpointError: members at different iterations, or an unreadable checkpoint.
        DataFormatError: an invalid data file.
    """
    config = config.resolved()
    if not members:
        raise ConfigError("an ensemble needs at least one member (a data file or a seed)")
    reason = ensemble_supported(config)
    if reason is not None:
        raise ConfigError(reason)
    folders = [RunFolder(m.run_dir) for m in members]
    paths = [f.path.resolve() for f in folders]
    if len(set(paths)) != len(paths):
        raise ConfigError(
            f"ensemble members need their own run folders, found {list(map(str, paths))}"
        )
    configs = _member_configs(config, members)
    # the data first: a bad file leaves no run folder behind
    inputs = [_read_inputs(c, Path(c.data or "")) for c in configs]
    device = resolve_device(config.device)
    deterministic_cublas(device, config.deterministic)
    retain_freed_memory()
    t0 = time.perf_counter()
    with contextlib.ExitStack() as stack, _torch_settings(config, device):
        writers: list[RunWriter] = [stack.enter_context(f.writing()) for f in folders]
        for f in folders:
            stack.enter_context(log_to_file(f.train_log))
        log.info("training an ensemble of %d %s GANs on %s", len(members), config.preset, device)
        trainers = [_Trainer(c, i, w) for c, i, w in zip(configs, inputs, writers, strict=True)]
        last, new, secs = _run(config, trainers, device, progress)
    seconds = time.perf_counter() - t0
    runs = tuple(
        TrainResult(
            run_dir=f.path,
            last_iteration=last,
            checkpoints=tuple(f.checkpoints()),
            seconds=seconds,
            iterations_per_s=new / secs if secs > 0 and new else 0.0,
        )
        for f in folders
    )
    rate = len(members) * new / secs if secs > 0 and new else 0.0
    return EnsembleResult(runs=runs, seconds=seconds, gan_iterations_per_s=rate)


def _run(
    config: TrainConfig,
    trainers: Sequence[_Trainer],
    device: torch.device,
    progress: TrainProgress | None,
) -> tuple[int, int, float]:
    """The ensemble's iterations: (last iteration, new iterations, seconds)."""
    starts = sorted({t.start for t in trainers})
    if len(starts) > 1:
        raise CheckpointError(
            f"ensemble members resume from different iterations {starts}; resume them "
            "separately to one iteration first, or start new run folders"
        )
    start, end = starts[0], config.iterations
    if start >= end:
        log.info("ensemble already at iteration %d >= %d", start, end)
        return max(start, end), 0, 0.0
    objectives = members_of([t.objective for t in trainers])
    graph = device.type == "cuda" and config.cuda_graph
    stack = StackedWganGp(objectives, capturable=graph)
    sizes = [int(t.batches.x.shape[0]) for t in trainers]
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64).tolist()
    x = torch.cat([t.batches.x for t in trainers])
    label = torch.cat([t.batches.label for t in trainers])
    draws = _Draws(trainers, offsets)
    step = _Step(stack, x, label, draws, device, graph)
    rows: list[list[str]] = [[] for _ in trainers]
    family = trainers[0].family
    timer: Callable[[], float] = time.perf_counter
    t0 = timer()
    for it in range(start, end):
        active = [t.batches.start(it) for t in trainers]
        draws.draw()
        losses = step(draws)
        done = it + 1
        if done % config.log_every == 0 or done == end:
            values = torch.stack(losses).detach().cpu().tolist()  # (columns, members)
            for k in range(len(trainers)):
                row = [v[k] for v in values]
                rows[k].append(f"{done}," + ",".join(f"{v:.6g}" for v in row) + f",{active[k]}")
            if progress is not None:
                first = [v[0] for v in values]
                status = f"{len(trainers)} GANs; member 0: {family.status(first)}"
                progress(done, end, status=status)
        if done % config.checkpoint_every == 0 or done == end:
            stack.unstack_into(objectives)
            for k, t in enumerate(trainers):
                # losses first: on resume, rows beyond the checkpoint are dropped
                t.writer.append_losses(rows[k])
                rows[k].clear()
                t._save(done)
    if device.type == "cuda":  # pragma: no cover - needs a GPU
        torch.cuda.synchronize()
    return end, end - start, timer() - t0


def ensemble_members(
    data: Sequence[str | os.PathLike[str]],
    run_dir: str | os.PathLike[str],
    seeds: Sequence[int] = (),
) -> list[EnsembleMember]:
    """One member per data file and seed, in ``run_dir/<data stem>[-seed<s>]``.

    With one data file and no seeds the member's folder is ``run_dir`` itself.

    Raises:
        ConfigError: two data files of the same name (their folders would collide).
    """
    stems = [Path(d).stem for d in data]
    if len(set(stems)) != len(stems):
        raise ConfigError(
            f"--data: ensemble members are named after their files; found repeated names {stems}"
        )
    base = Path(run_dir)
    if len(data) == 1 and len(seeds) <= 1:
        return [EnsembleMember(Path(data[0]), base, seeds[0] if seeds else None)]
    out = []
    for d, stem in zip(data, stems, strict=True):
        for s in seeds or (None,):
            name = stem if len(data) > 1 else ""
            if len(seeds) > 1:
                name = f"{name}-seed{s}" if name else f"seed{s}"
            out.append(EnsembleMember(Path(d), base / name, s))
    return out
