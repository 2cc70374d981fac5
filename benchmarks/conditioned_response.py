"""Does a conditioned model follow its conditions? A measurement, not a test.

Synthetic showers on a 3-layer, 16-voxel binning whose shape depends on a continuous
condition and an integer code (as in ``tests/conftest.py::fabricate_conditioned``): ``depth``
in [-1, 1] sets the first layer's share of the energy to 0.3 + 0.2 depth (the last layer's to
0.3 - 0.2 depth); ``side`` in 0..2 puts the middle layer's energy in alpha bin 0, bin 1, or
half in each. Energies are log-uniform in 1-8 GeV (a continuous spectrum).

Each family trains on it conditioned on both (``depth: standardise``, ``side: one_hot``);
then the script generates at fixed conditions and prints the measured response beside the
truth, runs the continuous-spectrum selection, and checks that the ONNX export gives the
same showers. JSON goes to stdout (or ``-o FILE``)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/conditioned_response.py --iterations 3000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastcalogan.data import write_showers
from fastcalogan.generate import ExportConfig, OnnxSimulator, Simulator, export_onnx
from fastcalogan.generate.graph import relative_difference
from fastcalogan.geometry import Binning
from fastcalogan.models import get_preset
from fastcalogan.select import SelectConfig, select_best
from fastcalogan.train import TrainConfig, train

NAMES = ("depth", "side")
#: Smaller networks than the presets' (16 voxels); the presets' learning rates.
FAMILIES = {
    "vae-mlp": {"model": {"latent_dim": 4, "encoder_hidden": [64, 64], "decoder_hidden": [64, 64]}},
    "fastcalogan": {
        "model": {"latent_dim": 8, "generator_hidden": [64, 64], "critic_hidden": [64, 64]},
        "n_critic": 3,
    },
}


def _binning() -> Binning:
    return Binning.from_layers(
        "tiny",
        "photon",
        (0.20, 0.25),
        [(0, [0, 10, 20, 50, 100], 1), (1, [0, 5, 10, 20, 40], 2), (2, [0, 10, 30, 60, 120], 1)],
    )


def _showers(
    n: int, seed: int, depth: np.ndarray | None = None, side: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    e = np.exp(g.uniform(np.log(1024.0), np.log(8192.0), n))
    depth = g.uniform(-1.0, 1.0, n) if depth is None else depth
    side = g.integers(0, 3, n) if side is None else side
    frac = np.stack([0.3 + 0.2 * depth, np.full(n, 0.4), 0.3 - 0.2 * depth], axis=1)
    radial = g.dirichlet(np.full(4, 4.0), size=(n, 3))
    alpha = np.stack([side == 0, side == 1], axis=1) + 0.5 * (side == 2)[:, None]
    middle = (alpha[:, :, None] * radial[:, 1, None, :]).reshape(n, 8)
    showers = np.concatenate(
        [radial[:, 0] * frac[:, :1], middle * frac[:, 1:2], radial[:, 2] * frac[:, 2:]], axis=1
    )
    showers *= (e * g.uniform(0.8, 1.0, n))[:, None]
    return e, showers.astype(np.float32), np.stack([depth, side.astype(float)], axis=1)


def _response(showers: np.ndarray) -> tuple[float, float]:
    """Mean first-layer share of E_tot, and mean share of the middle layer in alpha bin 0."""
    total = showers.sum(axis=1)
    middle = showers[:, 4:12].sum(axis=1)
    first = float(np.mean(showers[:, :4].sum(axis=1) / np.maximum(total, 1e-9)))
    alpha0 = float(np.mean(showers[:, 4:8].sum(axis=1) / np.maximum(middle, 1e-9)))
    return first, alpha0


def _measure(preset: str, iterations: int, folder: Path, data: Path) -> dict[str, Any]:
    preprocess = {
        **get_preset(preset).preprocess.model_dump(),
        "conditions": {"depth": "standardise", "side": {"transform": "one_hot", "n": 3}},
    }
    config = TrainConfig.model_validate(
        {
            "preset": preset,
            **FAMILIES[preset],
            "preprocess": preprocess,
            "iterations": iterations,
            "batch_size": 128,
            "checkpoint_every": max(1, iterations // 5),
            "log_every": 100,
            "device": "cpu",
            "threads": 1,
            "eta": [0.2, 0.25],
        }
    )
    run = folder / preset
    t0 = time.process_time()
    train(config, data, run)
    t_train = time.process_time() - t0
    t0 = time.process_time()
    selected = select_best(SelectConfig(events_per_point=1000, device="cpu"), run)
    t_select = time.process_time() - t0
    sim = Simulator.load(run, "cpu")
    n = 4000
    rows = []
    for depth in (-0.8, 0.0, 0.8):
        for side in (0, 1, 2):
            e, ref, c = _showers(n, 7, np.full(n, depth), np.full(n, side))
            gen = sim.simulate(e, 0, conditions={"depth": c[:, 0], "side": c[:, 1]})
            first_ref, alpha_ref = _response(ref)
            first_gen, alpha_gen = _response(gen)
            rows.append(
                {
                    "depth": depth,
                    "side": side,
                    "first_layer_share": {"reference": first_ref, "generated": first_gen},
                    "middle_alpha0_share": {"reference": alpha_ref, "generated": alpha_gen},
                }
            )
    exported = export_onnx(ExportConfig(), run, folder / f"{preset}.onnx")
    e, _, c = _showers(2000, 9)
    conditions = {"depth": c[:, 0], "side": c[:, 1]}
    onnx_out = OnnxSimulator(exported.onnx_path, threads=1).simulate(e, 3, conditions=conditions)
    torch_out = sim.simulate(e, 3, conditions=conditions)
    return {
        "preset": preset,
        "iterations": iterations,
        "train_cpu_s": t_train,
        "select_cpu_s": t_select,
        "selection": {
            "best_iteration": selected.best_iteration,
            "chi2_ndf": selected.chi2_ndf,
            "per_checkpoint": [(r.iteration, r.chi2_ndf) for r in selected.rows],
        },
        "response": rows,
        "onnx_vs_torch_max_rel_diff": relative_difference(onnx_out, torch_out),
        "export_check_max_rel_diff": exported.max_rel_diff,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--presets", default="vae-mlp,fastcalogan")
    parser.add_argument("-o", "--output", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        e, s, c = _showers(args.events, 1)
        data = write_showers(
            folder / "conditioned.h5",
            e,
            s,
            {"particle": "photon"},
            geometry=_binning(),
            conditions=c,
            condition_names=NAMES,
        )
        results = [_measure(p, args.iterations, folder, data) for p in args.presets.split(",") if p]
    text = json.dumps(results, indent=2)
    if args.output:
        args.output.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
