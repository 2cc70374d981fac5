"""A run folder written before the model-family seam still selects, generates and exports.

``tests/fixtures/main-run-v1`` was made with the code of commit cd49d98 (checkpoint format
``fastcalogan-checkpoint-1``, no family stored): a 2-iteration FastCaloGAN run (tiny widths,
seed 5) on the tiny fixture file. ``main-run-v1-showers.npy`` holds what that code generated
from it at 1024, 3000 and 8192 MeV with seed 0, and 2.0113390538033395 is the chi2/NDF its
selection found (50 events per point against the same file).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from fastcalogan._config import load
from fastcalogan.generate import ExportConfig, OnnxSimulator, Simulator, export_onnx
from fastcalogan.select import SelectConfig, select_best
from fastcalogan.train import (
    TrainConfig,
    TrainedGenerator,
    list_checkpoints,
    load_checkpoint,
    train,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    run = tmp_path / "old-run"
    shutil.copytree(FIXTURES / "main-run-v1", run)
    return run


def test_old_checkpoint_loads_as_the_mlp_wgan(old_run: Path) -> None:
    path = list_checkpoints(old_run)[-1]
    assert torch.load(path, weights_only=True)["format"] == "fastcalogan-checkpoint-1"
    state = load_checkpoint(path)
    assert state["iteration"] == 2 and state["particle"] == "photon"
    assert state["family"] == "wgan-gp-mlp" and set(state["objective"]) == {
        "critic",
        "optimizer_generator",
        "optimizer_critic",
    }
    assert TrainedGenerator.from_checkpoint(path, "cpu").family == "wgan-gp-mlp"


def test_old_run_resumes(old_run: Path, tiny_file: Path) -> None:
    config = load(old_run / "config.yaml", TrainConfig, ["iterations=3"])
    result = train(config, tiny_file, old_run)
    assert result.last_iteration == 3 and result.iterations_per_s > 0
    assert load_checkpoint(result.checkpoints[-1])["format"] == "fastcalogan-checkpoint-3"


def test_old_run_generates_what_main_generated(old_run: Path) -> None:
    showers = Simulator.load(old_run, "cpu").simulate(np.array([1024.0, 3000.0, 8192.0]), rng=0)
    np.testing.assert_array_equal(showers, np.load(FIXTURES / "main-run-v1-showers.npy"))


def test_old_run_selects_and_exports(old_run: Path, tiny_file: Path, tmp_path: Path) -> None:
    result = select_best(SelectConfig(events_per_point=50, device="cpu"), old_run, tiny_file)
    assert result.best_iteration == 2
    assert result.chi2_ndf == pytest.approx(2.0113390538033395, rel=1e-12)
    exported = export_onnx(ExportConfig(), old_run, tmp_path / "old.onnx")
    assert exported.max_rel_diff is not None and exported.max_rel_diff < 1e-5
    got = OnnxSimulator(exported.onnx_path, threads=1).simulate([1024.0, 3000.0, 8192.0], rng=0)
    np.testing.assert_allclose(
        got, np.load(FIXTURES / "main-run-v1-showers.npy"), rtol=1e-5, atol=1e-3
    )
