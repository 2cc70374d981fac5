"""The ATLAS 2018 photon study (ATL-SOFT-PUB-2018-001) end to end, through the command line.

simulate (train and test samples, ``atlas-cells``) -> train the VAE and the WGAN from
``configs/train-atlas18-{vae,wgan}.yaml`` -> select -> export to ONNX -> generate like the
test sample -> evaluate each model -> ``fastcalogan compare`` (the side-by-side page and the
chi2 of every distribution for both models). ``docs/atlas2018.md`` explains the steps and
the numbers.

Each step is one ``fastcalogan`` process, single-threaded (``OMP_NUM_THREADS=1``); its
process CPU time (user + system, from ``getrusage`` of the children) goes to
``<out>/timing.json``. A step whose output already exists is skipped (rerun after a stop,
or reuse runs trained before), so the CPU time of a skipped step is not counted.

The defaults are the issue's budget (one CPU hour in all, measured: docs/atlas2018.md)::

    python scripts/atlas2018.py -o atlas18

A short run (what docs/atlas2018.md reports as measured)::

    python scripts/atlas2018.py -o atlas18-short --train-events 2000 --test-events 1000 \\
        --vae-iterations 8000 --wgan-iterations 1000 --checkpoints 2 --metrics chi2,response
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _step(name: str, output: Path, args: list[str], timing: dict[str, float]) -> None:
    """Run ``fastcalogan ARGS`` unless ``output`` exists; record its CPU seconds."""
    if output.exists():
        print(f"[{name}] {output} exists: skipped", flush=True)
        return
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "fastcalogan", *args]
    print(f"[{name}] fastcalogan {' '.join(args)}", flush=True)
    before, t0 = _cpu_children(), time.perf_counter()
    subprocess.run(cmd, check=True, env=env)
    timing[name] = round(_cpu_children() - before, 1)
    print(f"[{name}] {timing[name]:.1f} CPU s ({time.perf_counter() - t0:.0f} s wall)", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-o", "--output", type=Path, required=True, help="output folder")
    p.add_argument("--train-events", type=int, default=10000, help="training events per energy")
    p.add_argument("--test-events", type=int, default=2000, help="test events per energy")
    p.add_argument("--vae-iterations", type=int, default=40000)
    p.add_argument("--wgan-iterations", type=int, default=20000)
    p.add_argument("--checkpoints", type=int, default=5, help="checkpoints per training run")
    p.add_argument("--select-events", type=int, default=2000, help="select -n (per energy)")
    p.add_argument(
        "--metrics",
        default=None,
        help="evaluate's metrics, comma-separated (default: all; chi2,response skips the "
        "classifiers and FPD/KPD, which take most of an evaluation's CPU)",
    )
    a = p.parse_args(argv)

    out: Path = a.output
    out.mkdir(parents=True, exist_ok=True)
    timing_path = out / "timing.json"
    timing: dict[str, float] = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    train, test = out / "train.h5", out / "test.h5"
    sim = ["simulate", "--detector", "atlas-cells", "--particle", "photon"]
    _step(
        "simulate train",
        train,
        [*sim, "-n", str(a.train_events), "--seed", "1", "-o", str(train)],
        timing,
    )
    _step(
        "simulate test",
        test,
        [*sim, "-n", str(a.test_events), "--seed", "2", "-o", str(test)],
        timing,
    )

    evaluations = []
    for name, iterations in (("vae", a.vae_iterations), ("wgan", a.wgan_iterations)):
        run = out / name
        every = max(1, iterations // a.checkpoints)
        config = REPO / "configs" / f"train-atlas18-{name}.yaml"
        _step(
            f"train {name}",
            run,
            [
                *("train", str(config), "--data", str(train), "-o", str(run)),
                *("--set", f"iterations={iterations}", "--set", f"checkpoint_every={every}"),
            ],
            timing,
        )
        _step(
            f"select {name}",
            run / "selection" / "best.json",
            ["select", str(run), "-n", str(a.select_events)],
            timing,
        )
        _step(
            f"export {name}",
            out / f"{name}.onnx",
            ["export", str(run), "-o", str(out / f"{name}.onnx")],
            timing,
        )
        generated = out / f"generated-{name}.h5"
        _step(
            f"generate {name}",
            generated,
            ["generate", str(run), "--like", str(test), "-o", str(generated)],
            timing,
        )
        evaluation = out / f"eval-{name}"
        _step(
            f"evaluate {name}",
            evaluation,
            [
                *("evaluate", "--reference", str(test), "--generated", str(generated)),
                *("-o", str(evaluation)),
                *(("--set", f"metrics=[{a.metrics}]") if a.metrics else ()),
            ],
            timing,
        )
        evaluations.append(str(evaluation))
        timing_path.write_text(json.dumps(timing, indent=1) + "\n")

    page = out / "compare"
    _step(
        "compare",
        page / "comparison.json",
        [
            *("compare", *evaluations, "--label", "VAE", "--label", "WGAN", "-o", str(page)),
            *("--title", "ATLAS 2018 photons: VAE and WGAN against the reference"),
        ],
        timing,
    )
    timing["total"] = round(sum(v for k, v in timing.items() if k != "total"), 1)
    timing_path.write_text(json.dumps(timing, indent=1) + "\n")
    print(f"CPU seconds per step: {json.dumps(timing)}")
    print(f"report: {page / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
