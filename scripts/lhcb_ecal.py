"""The LHCb ECAL study end to end (issue 17; docs/lhcb.md), through the CLI.

simulate (50k training, 10k test electrons) -> train the regressor -> train the GAN
conditioned by it -> select -> generate --like the test file -> evaluate (report with the
``lhcb-ecal`` and ``lhcb-regressor`` suites) -> export to ONNX. Every command runs
single-threaded; the CPU time (user + system) of each step is measured from the child
processes' resource usage and written to ``<out>/cpu.json``.

    OMP_NUM_THREADS=1 python scripts/lhcb_ecal.py -o runs/lhcb            # the 1-hour recipe
    OMP_NUM_THREADS=1 python scripts/lhcb_ecal.py -o runs/lhcb-short \\
        --regressor-iterations 1500 --gan-iterations 300                 # a short check

Existing shower files are reused, and a run folder with checkpoints is resumed up to the
requested iterations (``fastcalogan train``), so a second call with another
``--condition-loss`` (``perceptual``, the paper's; ``mse`` by default, which followed the
conditions more closely here) and ``--gan-dir`` trains only the GAN again.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(step: str, args: list[str], cpu: dict[str, float]) -> str:
    """Run ``fastcalogan ARGS``; record its CPU seconds; return its last stdout line."""
    command = [sys.executable, "-m", "fastcalogan", *args]
    print(f"[{step}] fastcalogan {' '.join(args)}", flush=True)
    before = _cpu_seconds()
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    cpu[step] = cpu.get(step, 0.0) + _cpu_seconds() - before
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{step} failed (exit {done.returncode})")
    lines = done.stdout.strip().splitlines()
    print(f"[{step}] {cpu[step] / 60:.2f} CPU min; {lines[-1] if lines else ''}", flush=True)
    return lines[-1] if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", type=Path, required=True, help="study folder")
    parser.add_argument("--train-events", type=int, default=50_000)
    parser.add_argument("--test-events", type=int, default=10_000)
    parser.add_argument("--regressor-iterations", type=int, default=3000)
    parser.add_argument("--gan-iterations", type=int, default=4000)
    parser.add_argument("--condition-loss", choices=("perceptual", "mse"), default="mse")
    parser.add_argument("--gan-dir", default="gan", help="GAN run folder inside the output")
    parser.add_argument("--no-export", action="store_true", help="skip the ONNX export")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"

    out: Path = args.output
    out.mkdir(parents=True, exist_ok=True)
    cpu: dict[str, float] = {}
    train_file, test_file = out / "lhcb-train.h5", out / "lhcb-test.h5"
    for path, n, seed in ((train_file, args.train_events, 1), (test_file, args.test_events, 2)):
        if not path.exists():
            _run(
                "simulate",
                ["simulate", "--detector", "lhcb-ecal", "--particle", "electron",
                 "-n", str(n), "--seed", str(seed), "-o", str(path)],
                cpu,
            )  # fmt: skip

    reg_dir = out / "regressor"
    _run(
        "train regressor",
        ["train", str(CONFIGS / "train-lhcb-regressor.yaml"), "--data", str(train_file),
         "-o", str(reg_dir), "--iterations", str(args.regressor_iterations), "--threads", "1",
         "--set", f"checkpoint_every={args.regressor_iterations}"],
        cpu,
    )  # fmt: skip
    regressor = reg_dir / "checkpoints" / f"ckpt-{args.regressor_iterations:08d}.pt"

    gan_dir = out / args.gan_dir
    every = max(1, args.gan_iterations // 8)
    _run(
        "train gan",
        ["train", str(CONFIGS / "train-lhcb-wgan-gp.yaml"), "--data", str(train_file),
         "-o", str(gan_dir), "--iterations", str(args.gan_iterations), "--threads", "1",
         "--set", f"objective.regressor={regressor}",
         "--set", f"objective.condition_loss={args.condition_loss}",
         "--set", f"checkpoint_every={every}"],
        cpu,
    )  # fmt: skip
    _run(
        "select",
        ["select", str(gan_dir), "--reference", str(test_file), "--device", "cpu"],
        cpu,
    )
    generated = gan_dir / "generated-like-test.h5"
    _run(
        "generate",
        ["generate", str(gan_dir), "--like", str(test_file), "-o", str(generated),
         "--device", "cpu"],
        cpu,
    )  # fmt: skip
    _run(
        "evaluate",
        ["evaluate", "--reference", str(test_file), "--generated", str(generated),
         "--training", str(train_file), "-o", str(gan_dir / "report")],
        cpu,
    )  # fmt: skip
    if not args.no_export:
        _run("export", ["export", str(gan_dir), "-o", str(gan_dir / "lhcb-gan.onnx")], cpu)

    cpu["training (regressor + gan)"] = cpu["train regressor"] + cpu["train gan"]
    (gan_dir / "cpu.json").write_text(
        json.dumps({k: round(v, 1) for k, v in cpu.items()}, indent=2) + "\n"
    )
    print(json.dumps({k: f"{v / 60:.2f} CPU min" for k, v in cpu.items()}, indent=2))
    print(f"report: {gan_dir / 'report' / 'index.html'}")


if __name__ == "__main__":
    main()
