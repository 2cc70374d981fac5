"""The sections of a benchmark run: generation, training, the reference simulator, memory."""

from __future__ import annotations

import logging
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import DS1_ENERGIES
from ..evaluate import precision_guard
from ..generate import (
    ExportConfig,
    GeneratorGraph,
    OnnxSimulator,
    Simulator,
    export_generators,
)
from ..geometry import load_geometry
from ..models import fused_critic_supported, get_preset
from ..simulate import DETECTORS, simulate_showers, simulate_voxels
from ..train import (
    EnsembleMember,
    TrainConfig,
    TrainedGenerator,
    ensemble_supported,
    showers_from_noise,
    train,
    train_ensemble,
)
from .config import BenchConfig
from .plain import plain_loop_supported, plain_wgan_gp
from .synthetic import preset_energies, synthetic_showers
from .timing import (
    FlopCount,
    cpu_clock,
    forward_flops,
    matmul_peak,
    matmul_seconds,
    median_time,
    read_bandwidth,
    torch_threads,
)

__all__ = [
    "detector_simulator",
    "ensemble_rows",
    "generation_rows",
    "generation_rss",
    "reduced_precision_rows",
    "reference_simulator",
    "speed_table",
    "training_row",
]

log = logging.getLogger(__name__)


def generation_rows(
    config: BenchConfig,
    preset: str,
    model: TrainedGenerator,
    onnx_path: Path,
    peaks: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    graph = GeneratorGraph([model])
    lo, hi = model.energy_range
    flops_per_shower = forward_flops(lambda: graph(*_inputs(model, 100, lo, hi))) / 100.0
    weights_bytes = sum(int(p.numel()) * p.element_size() for p in graph.parameters())
    backends: list[tuple[str, str]] = [
        ("torch", "cpu"),
        ("torch-graph", "cpu"),
        ("onnxruntime", "cpu"),
    ]
    if config.cuda and torch.cuda.is_available():
        backends.append(("torch-graph", "cuda"))
    for threads in config.threads:
        # the peak is measured next to the points it normalises: the load of a shared
        # machine changes during a run
        peak = matmul_peak(config.gemm_size, threads)
        peaks.append({"section": f"generation {preset}", **peak})
        bandwidth = read_bandwidth(weights_bytes, threads)
        session = OnnxSimulator(onnx_path, threads)
        for backend, device in backends:
            for batch in config.batches:
                noise, energy, conditions = _inputs(model, batch, lo, hi)
                fn = _runner(backend, device, model, graph, session, noise, energy, conditions)
                inner = max(1, math.ceil(config.min_showers / batch))
                with torch_threads(threads), torch.inference_mode():
                    seconds = median_time(fn, config.repeats, inner, config.point_seconds) / inner
                per_shower = seconds / batch
                gflops = flops_per_shower / per_shower / 1e9
                rows.append(
                    {
                        "preset": preset,
                        "backend": backend,
                        "device": device,
                        "threads": threads,
                        "batch": batch,
                        "seconds_per_shower": per_shower,
                        "us_per_shower": per_shower * 1e6,
                        "gflops": gflops,
                        "peak_gflops": peak["gflops_best"],
                        "fraction_of_peak": (
                            gflops / peak["gflops_best"] if device == "cpu" else None
                        ),
                        "read_bandwidth_gbs": bandwidth / 1e9,
                        "weights_read_us_per_call": weights_bytes / bandwidth * 1e6,
                    }
                )
                log.info(
                    "%s %s/%s t%d b%d: %.3g us/shower",
                    preset,
                    backend,
                    device,
                    threads,
                    batch,
                    per_shower * 1e6,
                )
    return rows


def _inputs(
    model: TrainedGenerator, batch: int, lo: float, hi: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Noise, energies log-uniform in ``[lo, hi]`` and, for a conditioned model, conditions
    (:func:`~fastcalogan.bench.synthetic.synthetic_conditions` of the model's transforms)."""
    g = torch.Generator().manual_seed(batch)
    noise = model.noise.sample(batch, g)
    u = torch.rand(batch, 1, generator=g, dtype=torch.float64)
    energy = torch.exp(math.log(lo) * (1 - u) + math.log(hi) * u).float()
    conditions = None
    if model.condition_names:
        rng = np.random.default_rng(batch)
        columns = [
            rng.integers(0, c.n, batch)
            if c.transform == "one_hot" and c.n
            else rng.normal(c.offset, c.scale, batch)
            for c in model.preprocessor.conditions
        ]
        conditions = torch.tensor(np.stack(columns, axis=1), dtype=torch.float32)
    return noise, energy, conditions


def _runner(
    backend: str,
    device: str,
    model: TrainedGenerator,
    graph: GeneratorGraph,
    session: Any,
    noise: torch.Tensor,
    energy: torch.Tensor,
    conditions: torch.Tensor | None = None,
) -> Callable[[], Any]:
    if backend == "onnxruntime":
        z_np, e_np = noise.numpy(), energy.numpy()
        c_np = None if conditions is None else conditions.numpy()
        return lambda: session.run(z_np, e_np, c_np)
    if backend == "torch":
        flat = energy.reshape(-1)
        return lambda: showers_from_noise(
            model.generator, model.preprocessor, noise, flat, conditions
        )
    if device == "cuda":  # pragma: no cover - needs a GPU
        g = GeneratorGraph([model]).to("cuda")
        z, e = noise.cuda(), energy.cuda()
        c = None if conditions is None else conditions.cuda()

        def run_cuda() -> None:
            g.generate(z, e, block_rows=65536, conditions=c)
            torch.cuda.synchronize()

        return run_cuda
    return lambda: graph.generate(noise, energy, conditions=conditions)


class _ChunkClock:
    """Progress callback of :func:`train` that times each chunk of ``log_every`` iterations."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.last: tuple[int, float] | None = None
        self.rates: list[float] = []

    def __call__(self, done: int, total: int, status: str = "") -> None:
        now = self.clock()
        if self.last is not None and done > self.last[0]:
            self.rates.append((done - self.last[0]) / (now - self.last[1]))
        self.last = (done, now)


def training_row(
    config: BenchConfig, preset: str, folder: Path, threads: int, peaks: list[dict[str, Any]]
) -> dict[str, Any]:
    """Iterations/s of the real training loop, next to the FLOP limit and the matmuls alone.

    The speed is the median over chunks of the timed iterations (a burst of load from
    elsewhere spoils a chunk, not the number), in iterations per second of the process's CPU
    time on one thread (:func:`cpu_clock`); the peak is the best of a GEMM measured just
    before and just after (both appended to ``peaks``), so that a slow moment cannot lower
    the limit.

    The FLOP limit is the peak over the recipe's FLOPs per iteration, counted on the
    reference path (``critic_step: autograd`` for the MLP WGAN-GP: the critic's backward
    over all ``3B`` rows); ``fraction_of_peak_executed`` uses the FLOPs the measured path
    executes instead (the written-out critic step skips a sixth of them). The plain PyTorch
    loop of the same recipe (:mod:`.plain`) runs next, timed the same way.
    """
    data = synthetic_showers(preset, folder, per_point=200)
    recipe = get_preset(preset)
    batch = config.train_batch or recipe.batch_size
    common: dict[str, Any] = {
        "preset": preset,
        "batch_size": batch,
        "checkpoint_every": 10**9,
        "log_every": 10**9,
        "device": "cpu",
        "threads": threads,
        "seed": 0,
    }
    with FlopCount() as counter:
        train(
            TrainConfig.model_validate({**common, "iterations": 1}),
            data,
            folder / f"flops-{preset}",
        )
    flops = counter.total
    reference_flops = flops
    critic_step = None
    if plain_loop_supported(preset):
        critic_step = "fused" if fused_critic_supported(recipe.model) else "autograd"  # type: ignore[arg-type]
        with FlopCount() as reference:
            train(
                TrainConfig.model_validate(
                    {**common, "iterations": 1, "objective": {"critic_step": "autograd"}}
                ),
                data,
                folder / f"flops-reference-{preset}",
            )
        reference_flops = reference.total
    run = folder / f"train-{preset}"
    train(TrainConfig.model_validate({**common, "iterations": config.train_warmup}), data, run)
    chunk = max(1, config.train_iterations // 8)
    timer = cpu_clock(threads)
    clock = _ChunkClock(timer)
    before = matmul_peak(config.gemm_size, threads, clock=timer)
    result = train(
        TrainConfig.model_validate(
            {
                **common,
                "iterations": config.train_warmup + config.train_iterations,
                "log_every": chunk,
            }
        ),
        data,
        run,
        progress=clock,
    )
    plain = (
        plain_wgan_gp(preset, batch, config.train_iterations, chunk)
        if config.plain_loop and plain_loop_supported(preset)
        else None
    )
    after = matmul_peak(config.gemm_size, threads, clock=timer)
    peaks += [
        {"section": f"training {preset}", **before},
        {"section": f"training {preset}, after", **after},
    ]
    matmul_s = matmul_seconds(counter.matmuls, clock=timer)
    peak = max(before["gflops_best"], after["gflops_best"])
    its = float(np.median(clock.rates)) if clock.rates else result.iterations_per_s
    limit = peak * 1e9 / reference_flops if reference_flops else None
    plain_row = None
    if plain is not None:
        plain_row = {
            **plain,
            "fraction_of_flop_limit": plain["iterations_per_s"] / limit if limit else None,
        }
    return {
        "preset": preset,
        "batch_size": batch,
        "family": recipe.family,
        "objective": recipe.objective.model_dump(mode="json"),
        "threads": threads,
        "iterations": config.train_iterations,
        "chunk_iterations": chunk,
        "iterations_per_s": its,
        "iterations_per_s_overall": result.iterations_per_s,
        "seconds_per_iteration": 1.0 / its if its > 0 else None,
        "clock": "process CPU time" if timer is time.process_time else "wall",
        "critic_step": critic_step,
        "flops_per_iteration": flops,
        "reference_flops_per_iteration": reference_flops,
        "gflops": flops * its / 1e9,
        "flop_limit_iterations_per_s": limit,
        "fraction_of_flop_limit": its / limit if limit else None,
        "fraction_of_peak_executed": flops * its / 1e9 / peak if flops else None,
        "plain_loop": plain_row,
        "ratio_to_plain_loop": its / plain["iterations_per_s"] if plain else None,
        "peak_gflops": peak,
        "matmuls_per_iteration": len(counter.matmuls),
        "matmul_seconds_per_iteration": matmul_s,
        "matmul_fraction_of_peak": flops / matmul_s / 1e9 / peak if matmul_s > 0 else None,
        "matmul_share_of_iteration": matmul_s * its,
    }


def ensemble_rows(
    config: BenchConfig, preset: str, folder: Path, threads: int, peaks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """GANs x iterations per second of :func:`~fastcalogan.train.train_ensemble` for each
    ensemble size in ``config.ensemble_sizes`` (members: one data file, seeds 0..K-1).

    Each size runs ``ensemble_gan_iterations / K`` timed iterations (at least 2) after a
    warm-up call, timed per chunk like :func:`training_row`; the speed-up is over the first
    size's rate (one GAN through the same trainer).
    """
    recipe = get_preset(preset)
    batch = config.train_batch or recipe.batch_size
    common: dict[str, Any] = {
        "preset": preset,
        "batch_size": batch,
        "checkpoint_every": 10**9,
        "device": "cpu",
        "threads": threads,
        "seed": 0,
    }
    if ensemble_supported(TrainConfig.model_validate(common).resolved()) is not None:
        return []
    data = synthetic_showers(preset, folder, per_point=200)
    timer = cpu_clock(threads)
    before = matmul_peak(config.gemm_size, threads, clock=timer)
    rows: list[dict[str, Any]] = []
    for size in config.ensemble_sizes:
        members = [
            EnsembleMember(data, folder / f"ensemble-{preset}-{size}" / f"seed{k}", seed=k)
            for k in range(size)
        ]
        warm = TrainConfig.model_validate({**common, "iterations": 1, "log_every": 10**9})
        train_ensemble(warm, members)
        iterations = max(2, config.ensemble_gan_iterations // size)
        chunk = max(1, iterations // 4)
        clock = _ChunkClock(timer)
        result = train_ensemble(
            TrainConfig.model_validate(
                {**common, "iterations": 1 + iterations, "log_every": chunk}
            ),
            members,
            progress=clock,
        )
        its = float(np.median(clock.rates)) if clock.rates else result.runs[0].iterations_per_s
        rows.append(
            {
                "preset": preset,
                "members": size,
                "batch_size": batch,
                "threads": threads,
                "iterations": iterations,
                "clock": "process CPU time" if timer is time.process_time else "wall",
                "iterations_per_s": its,
                "gan_iterations_per_s": its * size,
            }
        )
        log.info("%s ensemble of %d: %.3g GAN iterations/s", preset, size, its * size)
    after = matmul_peak(config.gemm_size, threads, clock=timer)
    peaks += [
        {"section": f"ensemble {preset}", **before},
        {"section": f"ensemble {preset}, after", **after},
    ]
    base = rows[0]["gan_iterations_per_s"] if rows else 0.0
    for row in rows:
        row["speedup_over_first"] = row["gan_iterations_per_s"] / base if base > 0 else None
    return rows


def reduced_precision_rows(
    config: BenchConfig,
    preset: str,
    model: TrainedGenerator,
    onnx_path: Path,
    threads: int,
) -> list[dict[str, Any]]:
    """Throughput of bf16 (torch) and int8 (onnxruntime) generation against float32, and
    their fidelity guard (:func:`~fastcalogan.evaluate.precision_guard`).

    Speed: time per shower at batch ``config.reduced_batch`` of the same backend in float32
    and in reduced precision, measured alternately (CPU time on one thread); the ratio is
    also given against the faster float32 backend. Fidelity: ``config.fidelity_events``
    showers at the dataset-1 energies from the same noise in both precisions, against a
    float32 sample of other noise.
    """
    batch = config.reduced_batch
    lo, hi = model.energy_range
    noise, energy, _ = _inputs(model, batch, lo, hi)
    flat = energy.reshape(-1)
    int8_path = onnx_path.with_name(f"{onnx_path.stem}-int8.onnx")
    export_generators([model], ExportConfig(verify=False, precision="int8"), int8_path)
    sessions = {
        "fp32": OnnxSimulator(onnx_path, threads),
        "int8": OnnxSimulator(int8_path, threads),
    }
    z_np, e_np = noise.numpy(), energy.numpy()

    def torch_runner(precision: str) -> Callable[[], Any]:
        return lambda: showers_from_noise(
            model.generator, model.preprocessor, noise, flat, None, precision
        )

    def onnx_runner(session: OnnxSimulator) -> Callable[[], Any]:
        return lambda: session.run(z_np, e_np)

    runners: dict[tuple[str, str], Callable[[], Any]] = {
        ("torch", "fp32"): torch_runner("fp32"),
        ("torch", "bf16"): torch_runner("bf16"),
        ("onnxruntime", "fp32"): onnx_runner(sessions["fp32"]),
        ("onnxruntime", "int8"): onnx_runner(sessions["int8"]),
    }
    timer = cpu_clock(threads)
    seconds: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
    with torch_threads(threads), torch.inference_mode():
        for _ in range(3):  # rounds: the backends alternate, so load hits them alike
            for key, fn in runners.items():
                seconds[key].append(median_time(fn, config.repeats, 1, config.point_seconds, timer))
    us = {key: float(np.median(v)) / batch * 1e6 for key, v in seconds.items()}
    best_fp32 = min(us[("torch", "fp32")], us[("onnxruntime", "fp32")])
    guards: dict[str, dict[str, Any]] = {}
    if config.fidelity_events:
        points = np.asarray(DS1_ENERGIES, dtype=np.float64)
        points = points[(points >= lo) & (points <= hi)]
        energies = np.resize(points, config.fidelity_events)
        torch_sim = Simulator([model])
        with torch_threads(threads):
            full = torch_sim.simulate(energies, 0)
            reference = torch_sim.simulate(energies, 1)
            bf16 = Simulator([model], precision="bf16").simulate(energies, 0)
            ort_full = sessions["fp32"].simulate(energies, 0)
            int8 = sessions["int8"].simulate(energies, 0)
            guards["bf16"] = precision_guard(full, bf16, reference, energies).to_dict()
            guards["int8"] = precision_guard(ort_full, int8, reference, energies).to_dict()
    rows = []
    for (backend, p), value in us.items():
        if p == "fp32":
            continue
        same = us[(backend, "fp32")]
        rows.append(
            {
                "preset": preset,
                "backend": backend,
                "precision": p,
                "threads": threads,
                "batch": batch,
                "us_per_shower": value,
                "fp32_us_per_shower": same,
                "best_fp32_us_per_shower": best_fp32,
                "speedup_over_fp32": same / value,
                "speedup_over_best_fp32": best_fp32 / value,
                "guard": guards.get(p),
            }
        )
        log.info("%s %s %s: %.3g us/shower (x%.2f fp32)", preset, backend, p, value, same / value)
    return rows


def reference_simulator(config: BenchConfig, particle: str, threads: int) -> dict[str, Any]:
    binning = load_geometry("ds1-photons" if particle == "photon" else "ds1-pions")
    n = config.simulate_events
    energies = np.resize(np.asarray(DS1_ENERGIES, dtype=np.float64), n)
    t0 = time.perf_counter()
    simulate_voxels(particle, energies, (0.2, 0.25), binning, seed=0)
    seconds = time.perf_counter() - t0
    return {
        "particle": particle,
        "events": n,
        "energies": "DS1 points, cycled",
        "showers_per_s": n / seconds if seconds > 0 else None,
    }


def detector_simulator(config: BenchConfig, preset: str) -> dict[str, Any] | None:
    """Time per shower of the reference simulator in the detector a preset was made for.

    ``None`` when the preset has no geometry of its own or no simulator detector of that name.
    Energies uniform over the preset's range (:func:`preset_energies`), one process, the
    threads in force; wall and CPU time are both recorded.
    """
    recipe = get_preset(preset)
    if recipe.geometry is None or recipe.geometry not in DETECTORS or not config.simulate_events:
        return None
    energies = preset_energies(preset)
    lo, hi = float(energies[0]), float(energies[-1])
    e = np.random.default_rng(0).uniform(lo, hi, config.simulate_events)
    cpu, t0 = time.process_time(), time.perf_counter()
    simulate_showers(recipe.geometry, recipe.particle, e, seed=0)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu
    return {
        "preset": preset,
        "detector": recipe.geometry,
        "particle": recipe.particle,
        "events": int(e.size),
        "energies_mev": [lo, hi],
        "ms_per_shower": wall / e.size * 1e3,
        "cpu_ms_per_shower": cpu / e.size * 1e3,
    }


def speed_table(
    generation: list[dict[str, Any]], simulators: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Generation time per shower beside the reference simulator's in the same detector
    (the CaloGAN paper's Table III): one row per preset, backend, device, threads and batch."""
    by_preset = {s["preset"]: s for s in simulators}
    rows = []
    for g in generation:
        sim = by_preset.get(g["preset"])
        if sim is None:
            continue
        ms = g["seconds_per_shower"] * 1e3
        rows.append(
            {
                "preset": g["preset"],
                "detector": sim["detector"],
                "backend": g["backend"],
                "device": g["device"],
                "threads": g["threads"],
                "batch": g["batch"],
                "ms_per_shower": ms,
                "reference_ms_per_shower": sim["ms_per_shower"],
                "speedup": sim["ms_per_shower"] / ms if ms > 0 else None,
            }
        )
    return rows


_RSS_SCRIPT = """
import resource, sys, time
import numpy as np

def hwm():
    # VmHWM: peak RSS of this process's own address space, in KiB (Linux)
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1

from fastcalogan.generate.onnx_runtime import OnnxSimulator
before = hwm()
sim = OnnxSimulator(sys.argv[1], threads=int(sys.argv[3]))
lo, hi = sim.energy_range
n = int(sys.argv[2])
rng = np.random.default_rng(0)
energies = np.exp(rng.uniform(np.log(lo), np.log(hi), n))
# a conditioned model: integer codes uniform, continuous conditions standard normal
spec = (sim.sidecar.get("inputs") or {}).get("conditions") or {}
conditions = {
    c["name"]: rng.integers(0, c["n"], n) if c["transform"] == "one_hot" else rng.normal(size=n)
    for c in spec.get("transforms", [])
} or None
t0 = time.perf_counter()
sim.simulate(energies, 0, batch_size=10000, conditions=conditions)
dt = time.perf_counter() - t0
print(before, hwm(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, dt)
"""


def generation_rss(onnx_path: Path, events: int, threads: int) -> dict[str, Any]:
    """Peak RSS of a fresh process that loads the model and generates ``events`` showers.

    The peak is ``VmHWM`` of ``/proc/self/status``; ``getrusage``'s ``ru_maxrss`` is reported
    too, but on Linux it keeps the parent's high-water mark across fork and exec, so from a
    large parent it overstates the child.
    """
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(onnx_path), str(events), str(threads)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if out.returncode != 0:
        log.warning("RSS subprocess failed: %s", out.stderr.strip().splitlines()[-1:])
        return {"events": events, "error": out.stderr.strip().splitlines()[-1:]}
    before, after, maxrss, seconds = out.stdout.split()
    peak = int(after) * 1024 if int(after) >= 0 else int(maxrss) * 1024
    return {
        "events": events,
        "backend": "onnxruntime",
        "peak_rss_bytes": peak,
        "rss_after_imports_bytes": int(before) * 1024 if int(before) >= 0 else None,
        "ru_maxrss_bytes": int(maxrss) * 1024,
        "seconds": float(seconds),
    }
