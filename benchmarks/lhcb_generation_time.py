"""Process CPU time per generated LHCb ECAL shower, one thread (docs/lhcb.md section 6).

The paper-size generator (the ``lhcb-wgan-gp`` preset, untrained: the speed does not depend
on the weights) and a trained run's generator with torch, and its exported graph with
onnxruntime, at batch 1 and 1000; the label and the Box-Cox inverse are included::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lhcb_generation_time.py \\
        runs/lhcb/gan/checkpoints/ckpt-00004000.pt runs/lhcb/gan/lhcb-gan.onnx
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch

from fastcalogan.generate import OnnxSimulator
from fastcalogan.geometry import load_geometry
from fastcalogan.train import TrainedGenerator
from fastcalogan.train.sampling import showers_from_noise


def _cpu_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a trained lhcb-wgan-gp checkpoint")
    parser.add_argument("onnx", help="its exported graph (fastcalogan export)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    geometry = load_geometry("lhcb-ecal", particle="electron")
    models = {
        "paper widths, torch": TrainedGenerator.untrained(
            "lhcb-wgan-gp", geometry, (2e3, 1e5), particle="electron"
        ),
        "trained, torch": TrainedGenerator.from_checkpoint(args.checkpoint, device="cpu"),
    }
    for name, m in models.items():
        for batch, repeats in ((1, 50), (1000, 3)):
            noise = m.noise.sample(batch, torch.Generator().manual_seed(0))
            energy, conditions = torch.full((batch,), 2e4), torch.zeros(batch, 5)
            with torch.inference_mode():
                run = partial(
                    showers_from_noise, m.generator, m.preprocessor, noise, energy, conditions
                )
                s = _cpu_seconds(run, repeats)
            print(f"{name}, batch {batch}: {s / batch * 1e3:.3f} ms/shower (CPU)")
    session = OnnxSimulator(args.onnx, 1)
    latent = models["trained, torch"].noise.width
    for batch, repeats in ((1, 50), (1000, 3)):
        z = np.random.default_rng(0).standard_normal((batch, latent)).astype(np.float32)
        e = np.full((batch,), 2e4, dtype=np.float32)
        c = np.zeros((batch, 5), dtype=np.float32)
        s = _cpu_seconds(partial(session.run, z, e, c), repeats)
        print(f"trained, onnxruntime, batch {batch}: {s / batch * 1e3:.3f} ms/shower (CPU)")


if __name__ == "__main__":
    main()
