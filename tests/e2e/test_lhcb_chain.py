"""The LHCb ECAL study by the command line, tiny: simulate -> train the regressor -> train
the GAN conditioned by it -> generate --like -> export, then evaluate with the study's
suites (scripts/lhcb_ecal.py runs the same sequence at full size; docs/lhcb.md).

The evaluation is called without its HTML report: drawing the report's panels takes about a
minute of CPU, too long for the suite (the report's rendering of suites has its own tests
in tests/evaluate/test_suites.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import read_showers
from fastcalogan.evaluate import EvaluateConfig, evaluate

COMMON = (
    "eta: [2.8, 3.2]\niterations: 2\nbatch_size: 8\ncheckpoint_every: 2\nlog_every: 1\n"
    "device: cpu\nthreads: 1\nseed: 3\n"
)


def test_lhcb_study_runs_through_the_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    train_h5, test_h5 = tmp_path / "train.h5", tmp_path / "test.h5"
    (tmp_path / "reg.yaml").write_text(
        "preset: lhcb-regressor\nmodel: {channels: [4, 2]}\n" + COMMON
    )
    (tmp_path / "gan.yaml").write_text(
        "preset: lhcb-wgan-gp\nmodel: {channels: [4, 2], latent_dim: 4}\nn_critic: 1\n"
        f"objective: {{regressor: {tmp_path / 'reg' / 'checkpoints' / 'ckpt-00000002.pt'}, energy_weight: 1.0}}\n"
        + COMMON
    )
    gen = tmp_path / "gen.h5"
    steps = [
        ["simulate", "--detector", "lhcb-ecal", "--particle", "electron", "-n", "48",
         "--seed", "1", "-o", str(train_h5)],
        ["simulate", "--detector", "lhcb-ecal", "--particle", "electron", "-n", "24",
         "--seed", "2", "-o", str(test_h5)],
        ["train", str(tmp_path / "reg.yaml"), "--data", str(train_h5), "-o", str(tmp_path / "reg")],
        ["train", str(tmp_path / "gan.yaml"), "--data", str(train_h5), "-o", str(tmp_path / "gan")],
        ["generate", str(tmp_path / "gan"), "--like", str(test_h5), "-o", str(gen),
         "--device", "cpu"],
        ["export", str(tmp_path / "gan"), "-o", str(tmp_path / "gan.onnx")],
    ]  # fmt: skip
    for args in steps:
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args[0], result.output)

    # the energy term was on: logged, finite, beside the regressor's columns
    with open(tmp_path / "gan" / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows and all(np.isfinite(float(r["energy_term"])) for r in rows)
    # generated like the test file: its conditions, in its order, 30 x 30 cells in MeV
    ref, out = read_showers(test_h5), read_showers(gen)
    assert out.showers.shape == (24, 900)
    assert out.condition_names == ("px", "py", "pz", "x", "y")
    np.testing.assert_allclose(out.conditions, ref.conditions, rtol=1e-6)
    assert np.all(out.showers >= 0)
    evaluate(EvaluateConfig(metrics=("chi2",)), test_h5, gen, tmp_path / "eval")
    # both suites of the study ran; the regressor was found through the generated file's run
    suites = json.loads((tmp_path / "eval" / "metrics.json").read_text())["suites"]
    assert suites["lhcb-ecal"]["available"] is True
    regressor = suites["lhcb-regressor"]
    assert regressor["available"] is True and regressor["regressor_iteration"] == 2
    assert set(regressor["parameters"]) == {"px", "py", "pz", "x", "y"}
    assert (tmp_path / "gan.onnx").stat().st_size > 0
