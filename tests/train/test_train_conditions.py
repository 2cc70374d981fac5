"""Training on conditions beyond the incident energy."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.errors import CheckpointError, DataFormatError
from fastcalogan.models import get_preset
from fastcalogan.preprocess import Preprocessor
from fastcalogan.train import RunFolder, TrainConfig, list_checkpoints, load_checkpoint, train


def _preprocess(preset: str, conditions: dict[str, Any]) -> dict[str, Any]:
    return {**get_preset(preset).preprocess.model_dump(), "conditions": conditions}


class _Kill(Exception):
    pass


def test_missing_conditions_are_one_line_and_leave_no_run(
    tmp_path: Path, tiny_file: Path, conditioned_file: Path, conditions_config: dict[str, Any]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "preset": "vae-mlp",
                "iterations": 1,
                "device": "cpu",
                "preprocess": _preprocess("vae-mlp", conditions_config),
            }
        )
    )
    run = tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", str(config), "--data", str(tiny_file), "-o", str(run)])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "tiny.h5: preprocess.conditions names depth, side" in lines[0]
    assert "Traceback" not in res.output
    assert "its conditions: none" in lines[0] and not run.exists()
    # a file with other conditions: the missing ones and what the file has are named
    typo = {"depth": "standardise", "sides": {"transform": "one_hot", "n": 3}}
    bad = TrainConfig.model_validate(
        {"preset": "vae-mlp", "device": "cpu", "preprocess": _preprocess("vae-mlp", typo)}
    )
    with pytest.raises(DataFormatError, match=r"names sides, which the file does not have \(its "):
        train(bad, conditioned_file, run)
    assert not run.exists()


def test_conditioned_run_stores_its_transforms_and_resumes_bit_identical(
    tmp_path: Path,
    conditioned_file: Path,
    conditions_config: dict[str, Any],
    tiny_config: Callable[..., TrainConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = tiny_config(
        preprocess=_preprocess("fastcalogan", conditions_config),
        iterations=6,
        checkpoint_every=2,
    )
    with caplog.at_level(logging.INFO, logger="fastcalogan.train.loop"):
        train(config, conditioned_file, tmp_path / "straight")
    assert "conditions not used by preprocess.conditions: unused" in caplog.text
    folder = RunFolder(tmp_path / "straight")
    pre = Preprocessor.load(folder.preprocess_json)
    assert pre.condition_names == ("depth", "side") and pre.n_conditions == 5
    state = json.loads(folder.preprocess_json.read_text())
    assert [c["transform"] for c in state["conditions"]] == ["standardise", "one_hot"]
    # 256 distinct energies: a continuous spectrum stores no energy points
    info = folder.info()
    assert info is not None and info.energy_points == ()

    def kill_at_3(done: int, total: int, status: str = "") -> None:
        if done == 3:
            raise _Kill

    with pytest.raises(_Kill):
        train(config, conditioned_file, tmp_path / "resumed", progress=kill_at_3)
    train(config, conditioned_file, tmp_path / "resumed")
    a = load_checkpoint(list_checkpoints(tmp_path / "straight")[-1])
    b = load_checkpoint(list_checkpoints(tmp_path / "resumed")[-1])
    for key, value in a["generator"].items():
        assert torch.equal(value, b["generator"][key]), key
    assert a["preprocess"] == b["preprocess"]

    # other conditions on resume change the architecture: refused
    assert config.preprocess is not None
    plain = config.preprocess.model_copy(update={"conditions": {}})
    other = config.model_copy(update={"preprocess": plain})
    with pytest.raises(CheckpointError, match="config field 'preprocess'"):
        train(other, conditioned_file, tmp_path / "straight")


def test_the_label_follows_the_conditions_in_training_batches(
    tmp_path: Path,
    conditioned_file: Path,
    conditions_config: dict[str, Any],
    tiny_config: Callable[..., TrainConfig],
) -> None:
    """The condition column of each training row is its own event's (no shuffling apart)."""
    from fastcalogan.data import read_showers

    config = tiny_config(
        preset="vae-mlp", preprocess=_preprocess("vae-mlp", conditions_config), iterations=1
    )
    train(config, conditioned_file, tmp_path / "run")
    pre = Preprocessor.load(RunFolder(tmp_path / "run").preprocess_json)
    data = read_showers(conditioned_file)
    x, label = pre.transform(data.incident_energies, data.showers, data.conditions[:, :2])
    depth = data.conditions[:, 0]
    np.testing.assert_allclose(label[:, 1], (depth - depth.mean()) / depth.std(), rtol=1e-5)
    np.testing.assert_array_equal(label[:, 2:].argmax(axis=1), data.conditions[:, 1])
    assert x.shape == (256, 16)
