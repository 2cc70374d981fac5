"""GPU benchmarks of issue 18: the FastCaloGAN recipe's iteration rate, ensembles, generation.

Run by ``benchmarks/gpu_check.sh`` on a machine with a CUDA device (it also runs on the CPU,
``--device cpu --quick``, to check the script itself). Writes one JSON document and prints a
summary:

* one GAN, FastCaloGAN recipe (batch 128, 5 critic steps, ds1-photons width): iterations/s
  of ``train`` (eager), of ``train_ensemble`` with one member (the iteration captured as a
  CUDA graph) and with TF32 products; the time 1M iterations would take (goal: < 30 min);
* ensembles of K GANs (graph): GANs x iterations per second, and the GPU-hours of a
  300-GAN campaign of 1M iterations each at the best K (goal: < 24 GPU-hours);
* generation: time per shower of the torch generator at batch 100k in fp32 and bf16.

Timings are wall time with the device synchronised (every chunk ends with a loss read).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastcalogan.bench import synthetic_generator
from fastcalogan.bench.synthetic import synthetic_showers
from fastcalogan.train import (
    EnsembleMember,
    TrainConfig,
    showers_from_noise,
    train,
    train_ensemble,
)

CAMPAIGN_GANS = 300
ITERATIONS = 1_000_000


class _Clock:
    """Progress callback timing each chunk of ``log_every`` iterations (wall time)."""

    def __init__(self) -> None:
        self.last: tuple[int, float] | None = None
        self.rates: list[float] = []

    def __call__(self, done: int, total: int, status: str = "") -> None:
        now = time.perf_counter()
        if self.last is not None and done > self.last[0]:
            self.rates.append((done - self.last[0]) / (now - self.last[1]))
        self.last = (done, now)

    def rate(self) -> float:
        return float(np.median(self.rates)) if self.rates else 0.0


def _config(device: str, iterations: int, chunk: int, **fields: Any) -> TrainConfig:
    return TrainConfig.model_validate(
        {
            "preset": "fastcalogan",
            "device": device,
            "iterations": iterations,
            "log_every": chunk,
            "checkpoint_every": 10**9,
            "seed": 0,
            **fields,
        }
    )


def single_gan(data: Path, folder: Path, device: str, iterations: int) -> dict[str, Any]:
    """Iterations/s of one GAN: eager loop, graphed ensemble of one, graphed with TF32."""
    chunk = max(1, iterations // 8)
    out: dict[str, Any] = {}
    clock = _Clock()
    train(_config(device, 5, chunk), data, folder / "eager")  # warm-up
    train(_config(device, 5 + iterations, chunk), data, folder / "eager", progress=clock)
    out["eager_iterations_per_s"] = clock.rate()
    for name, fields in (("graph", {}), ("graph_tf32", {"precision": "tf32"})):
        clock = _Clock()
        member = [EnsembleMember(data, folder / name)]
        train_ensemble(_config(device, 5, chunk, **fields), member)  # warm-up, capture
        train_ensemble(_config(device, 5 + iterations, chunk, **fields), member, progress=clock)
        out[f"{name}_iterations_per_s"] = clock.rate()
    best = max(out.values())
    out["minutes_per_million_iterations"] = ITERATIONS / best / 60 if best > 0 else None
    out["goal_minutes"] = 30
    return out


def ensembles(
    data: Path, folder: Path, device: str, sizes: list[int], gan_iterations: int
) -> list[dict[str, Any]]:
    """GANs x iterations per second of graphed ensembles of each size."""
    rows = []
    for size in sizes:
        iterations = max(4, gan_iterations // size)
        chunk = max(1, iterations // 4)
        members = [EnsembleMember(data, folder / f"k{size}" / f"s{k}", seed=k) for k in range(size)]
        train_ensemble(_config(device, 2, chunk), members)  # warm-up, capture
        clock = _Clock()
        train_ensemble(_config(device, 2 + iterations, chunk), members, progress=clock)
        rate = clock.rate() * size
        rows.append(
            {
                "members": size,
                "iterations": iterations,
                "gan_iterations_per_s": rate,
                "campaign_gpu_hours": CAMPAIGN_GANS * ITERATIONS / rate / 3600 if rate else None,
            }
        )
        print(f"ensemble K={size}: {rate:.1f} GAN it/s", flush=True)
    return rows


def generation(device: str, batch: int) -> list[dict[str, Any]]:
    """Time per shower of the torch generator in fp32 and bf16."""
    model = synthetic_generator("fastcalogan")
    model.generator.to(device)
    g = torch.Generator().manual_seed(0)
    noise = model.noise.sample(batch, g).to(device)
    lo, hi = model.energy_range
    energies = torch.exp(torch.empty(batch).uniform_(np.log(lo), np.log(hi), generator=g))
    energies = energies.to(device)
    rows = []
    for precision in ("fp32", "bf16"):
        with torch.inference_mode():

            def run(precision: str = precision) -> None:
                showers_from_noise(
                    model.generator, model.preprocessor, noise, energies, None, precision
                )
                if device == "cuda":
                    torch.cuda.synchronize()

            for _ in range(3):
                run()
            times = []
            for _ in range(10):
                t0 = time.perf_counter()
                run()
                times.append(time.perf_counter() - t0)
        us = float(np.median(times)) / batch * 1e6
        rows.append({"precision": precision, "batch": batch, "us_per_shower": us})
        print(f"generation {precision} b={batch}: {us:.4g} us/shower", flush=True)
    return rows


def _write(path: Path, doc: dict[str, Any]) -> None:
    """Write what is measured so far (a later section may not finish in time)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)


def _section(doc: dict[str, Any], name: str, run: Callable[[], Any]) -> None:
    """Run one section; a failure is recorded in the document and the next section runs."""
    t0 = time.perf_counter()
    try:
        doc[name] = run()
    except Exception as err:  # one broken section must not lose the others
        doc.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"
        print(f"{name}: FAILED: {type(err).__name__}: {err}", flush=True)
        doc["failed"] = True
    doc.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t0, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, default=Path("gpu_bench.json"), help="JSON")
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny runs (checks the script)")
    parser.add_argument(
        "--budget-s",
        type=float,
        default=300.0,
        help="wall-time budget: ensemble sizes that would start after 60 %% of it are skipped",
    )
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 2
    quick = args.quick
    t0 = time.perf_counter()
    doc: dict[str, Any] = {
        "schema": "fastcalogan-gpu-bench-1",
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor(),
        "torch": torch.__version__,
        "failed": False,
    }
    with tempfile.TemporaryDirectory(prefix="fastcalogan-gpu-") as tmp:
        folder = Path(tmp)
        t_data = time.perf_counter()
        data = synthetic_showers("fastcalogan", folder, per_point=50 if quick else 1000)
        doc["section_seconds"] = {"data": round(time.perf_counter() - t_data, 1)}
        _section(
            doc, "single_gan", lambda: single_gan(data, folder, args.device, 8 if quick else 800)
        )
        print(json.dumps(doc.get("single_gan"), indent=1), flush=True)
        _write(args.output, doc)
        sizes = [1, 2] if quick else [1, 4, 16, 64]
        deadline = t0 + 0.6 * args.budget_s
        rows: list[dict[str, Any]] = []
        doc["ensembles"] = rows
        for size in sizes:
            if time.perf_counter() > deadline:
                print(f"ensemble K={size}: skipped (over the time budget)", flush=True)
                doc.setdefault("skipped", []).append(f"ensemble K={size}")
                continue
            got: dict[str, Any] = {}
            _section(
                got,
                f"ensemble_k{size}",
                lambda size=size: ensembles(
                    data, folder, args.device, [size], 8 if quick else 3200
                ),
            )
            rows += got.pop(f"ensemble_k{size}", [])
            doc["section_seconds"].update(got.get("section_seconds", {}))
            if got.get("errors"):
                doc.setdefault("errors", {}).update(got["errors"])
                doc["failed"] = True
            _write(args.output, doc)
        if rows:
            best = max(rows, key=lambda r: r["gan_iterations_per_s"])
            doc["campaign"] = {
                "gans": CAMPAIGN_GANS,
                "iterations": ITERATIONS,
                "best_members": best["members"],
                "gpu_hours": best["campaign_gpu_hours"],
                "goal_gpu_hours": 24,
            }
        _section(doc, "generation", lambda: generation(args.device, 1000 if quick else 100_000))
    doc["seconds"] = time.perf_counter() - t0
    _write(args.output, doc)
    print(json.dumps(doc.get("campaign"), indent=1))
    print(f"written {args.output} in {doc['seconds']:.0f} s")
    return 1 if doc["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
