"""A model conditioned on more than the incident energy, through every stage, for each family:
train -> select (continuous spectrum) -> generate --like -> export -> onnxruntime."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import read_showers
from fastcalogan.generate import ExportConfig, OnnxSimulator, Simulator, export_onnx
from fastcalogan.generate.graph import relative_difference
from fastcalogan.models import get_preset
from fastcalogan.select import SelectConfig, select_best
from fastcalogan.train import TrainConfig, list_checkpoints, load_checkpoint, train


@pytest.mark.parametrize("preset", ["fastcalogan", "vae-mlp", "fast-photon"])
def test_conditioned_model_through_every_stage(
    preset: str,
    tmp_path: Path,
    conditioned_file: Path,
    conditions_config: dict[str, Any],
    tiny_config: Callable[..., TrainConfig],
) -> None:
    preprocess = {**get_preset(preset).preprocess.model_dump(), "conditions": conditions_config}
    run = tmp_path / "run"
    train(tiny_config(preset=preset, preprocess=preprocess), conditioned_file, run)
    state = load_checkpoint(list_checkpoints(run)[-1])
    # label: energy, depth (standardised), side (three one-hot columns)
    assert state["model_shape"]["n_conditions"] == 5

    # 256 distinct energies: scored as a continuous spectrum, like the reference
    result = select_best(SelectConfig(events_per_point=40, energy_bins=4, device="cpu"), run)
    spectrum = json.loads(result.table_path.with_suffix(".json").read_text())["spectrum"]
    assert spectrum["kind"] == "continuous" and spectrum["events_per_bin"] == [40] * 4
    assert np.isfinite(result.chi2_ndf)

    runner = CliRunner()
    out = tmp_path / "like.h5"
    args = ["generate", str(run), "--like", str(conditioned_file), "-o", str(out)]
    res = runner.invoke(cli, [*args, "--device", "cpu", "--seed", "3"])
    assert res.exit_code == 0, res.output
    ref, gen = read_showers(conditioned_file), read_showers(out, max_deposit_ratio=None)
    np.testing.assert_array_equal(gen.incident_energies, ref.incident_energies)
    assert gen.condition_names == ("depth", "side")
    np.testing.assert_array_equal(gen.conditions, ref.conditions[:, :2])
    assert gen.attrs["like"] == str(conditioned_file)

    # the conditions reach the network: the same noise with another code gives other showers
    sim = Simulator.load(run, "cpu")
    e, zero = np.full(8, 4096.0), np.zeros(8)
    a = sim.simulate(e, 0, conditions={"depth": zero, "side": zero})
    b = sim.simulate(e, 0, conditions={"depth": zero, "side": zero + 1})
    assert np.abs(a - b).max() > 1e-3 * np.abs(a).max()

    # fixed conditions from the command line; a missing one is one line naming it
    fixed = tmp_path / "fixed.h5"
    base = ["generate", str(run), "--energies", "2048,4096", "-n", "3", "-o", str(fixed)]
    res = runner.invoke(cli, [*base, "--condition", "depth=0.5"])
    assert res.exit_code == 2 and "missing: side" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, [*base, "--condition", "depth=0.5", "--condition", "side=2"])
    assert res.exit_code == 0, res.output
    fixed_data = read_showers(fixed, max_deposit_ratio=None)
    np.testing.assert_array_equal(fixed_data.conditions, [[0.5, 2.0]] * 6)

    # export: a third input `conditions` in physical units; onnxruntime equals torch
    exported = export_onnx(ExportConfig(), run, tmp_path / "gen.onnx")
    assert exported.max_rel_diff is not None and exported.max_rel_diff <= 1e-5
    sidecar = json.loads(exported.sidecar_path.read_text())
    assert sidecar["conditions"] == ["depth", "side"]
    assert sidecar["inputs"]["conditions"]["shape"] == ["batch", 2]
    onnx_sim = OnnxSimulator(exported.onnx_path, threads=1)
    names = [i.name for i in onnx_sim.session.get_inputs()]
    assert names == ["noise", "incident_energy", "conditions"]
    onnx_out = tmp_path / "like-onnx.h5"
    args = ["generate", "--onnx", str(exported.onnx_path), "--like", str(conditioned_file)]
    res = runner.invoke(cli, [*args, "-o", str(onnx_out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    from_onnx = read_showers(onnx_out, max_deposit_ratio=None)
    np.testing.assert_array_equal(from_onnx.conditions, gen.conditions)
    assert relative_difference(from_onnx.showers, gen.showers) <= 1e-5
