"""Device selection and the GPU path (the ``gpu`` tests run with ``--gpu`` on a CUDA machine;
``benchmarks/gpu_check.sh`` runs them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from fastcalogan.errors import ModelError
from fastcalogan.generate import Simulator
from fastcalogan.train import (
    EnsembleMember,
    TrainConfig,
    list_checkpoints,
    load_checkpoint,
    resolve_device,
    train,
    train_ensemble,
)


def _state(run: Path) -> dict[str, Any]:
    return load_checkpoint(list_checkpoints(run)[-1])


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k].float().cpu() - b[k].float().cpu()).abs().max()) for k in a)


# ----- everywhere ----------------------------------------------------------------------------
def test_device_selection_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ModelError, match="no CUDA device is available"):
        resolve_device("cuda")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


def test_cli_trains_through_the_graphed_trainer_only_on_cuda(
    monkeypatch: pytest.MonkeyPatch, tiny_config: Callable[..., TrainConfig]
) -> None:
    from fastcalogan.cli.train import _graphed_on_cuda

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert not _graphed_on_cuda(tiny_config(device="auto"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert _graphed_on_cuda(tiny_config(device="cuda"))
    assert _graphed_on_cuda(tiny_config(device="auto"))
    assert not _graphed_on_cuda(tiny_config(device="cuda", cuda_graph=False))
    assert not _graphed_on_cuda(tiny_config(device="cpu"))
    # presets an ensemble cannot train keep the ordinary loop
    assert not _graphed_on_cuda(tiny_config(device="cuda", preset="caloshowergan-photon"))
    assert not _graphed_on_cuda(tiny_config(device="cuda", family="vae-mlp"))


def test_precision_settings_are_validated(tiny_config: Callable[..., TrainConfig]) -> None:
    assert tiny_config(precision="tf32").precision == "tf32"
    with pytest.raises(ValueError, match="precision"):
        tiny_config(precision="fp16")


# ----- on a GPU ------------------------------------------------------------------------------
needs_cuda = pytest.mark.gpu


@needs_cuda
def test_training_runs_on_the_gpu_and_resumes_bit_identical(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    config = tiny_config(device="cuda", iterations=6, checkpoint_every=2)
    train(config, tiny_file, tmp_path / "whole")
    train(config.model_copy(update={"iterations": 4}), tiny_file, tmp_path / "split")
    train(config, tiny_file, tmp_path / "split")
    a, b = _state(tmp_path / "whole"), _state(tmp_path / "split")
    assert _max_diff(a["generator"], b["generator"]) == 0.0
    cpu = tiny_config(device="cpu", iterations=6, checkpoint_every=2)
    train(cpu, tiny_file, tmp_path / "cpu")
    # the same random numbers (drawn on the CPU): the same training up to float rounding
    assert _max_diff(a["generator"], _state(tmp_path / "cpu")["generator"]) < 1e-3


@needs_cuda
def test_graphed_ensemble_equals_eager_and_cpu(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    def run(name: str, **fields: Any) -> list[dict[str, Any]]:
        config = tiny_config(iterations=8, checkpoint_every=4, **fields)
        members = [EnsembleMember(tiny_file, tmp_path / name / f"s{k}", seed=k) for k in range(3)]
        result = train_ensemble(config, members)
        assert result.gan_iterations_per_s > 0
        return [_state(m.run_dir) for m in members]

    graphed = run("graph", device="cuda")
    eager = run("eager", device="cuda", cuda_graph=False)
    cpu = run("cpu", device="cpu")
    for g, e, c in zip(graphed, eager, cpu, strict=True):
        assert g["iteration"] == 8
        assert _max_diff(g["generator"], e["generator"]) < 1e-5
        assert _max_diff(g["generator"], c["generator"]) < 1e-3
        assert _max_diff(g["objective"]["critic"], c["objective"]["critic"]) < 1e-3
    # resumed from the checkpoint at 4: the graph is captured again
    config = tiny_config(iterations=12, checkpoint_every=4, device="cuda")
    train_ensemble(config, [EnsembleMember(tiny_file, tmp_path / "graph" / "s0", seed=0)])
    assert _state(tmp_path / "graph" / "s0")["iteration"] == 12


@needs_cuda
def test_tf32_training_stays_close(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    losses = {}
    for precision in ("fp32", "tf32"):
        config = tiny_config(device="cuda", iterations=6, precision=precision)
        train_ensemble(config, [EnsembleMember(tiny_file, tmp_path / precision)])
        rows = (tmp_path / precision / "losses.csv").read_text().splitlines()[1:]
        losses[precision] = np.array([[float(x) for x in r.split(",")] for r in rows])
    assert np.allclose(losses["tf32"], losses["fp32"], rtol=0.05, atol=1e-3)
    assert torch.backends.cuda.matmul.allow_tf32 is False


@needs_cuda
def test_generation_on_the_gpu(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    train(tiny_config(iterations=2), tiny_file, tmp_path / "run")
    energies = np.full(256, 2048.0)
    cpu = Simulator.load(tmp_path / "run", "cpu").simulate(energies, 1)
    gpu = Simulator.load(tmp_path / "run", "cuda").simulate(energies, 1)
    bf16 = Simulator.load(tmp_path / "run", "cuda", precision="bf16").simulate(energies, 1)
    scale = float(np.abs(cpu).max())
    assert float(np.abs(gpu - cpu).max()) <= 1e-4 * scale
    assert float(np.abs(bf16 - cpu).max()) <= 5e-2 * scale
