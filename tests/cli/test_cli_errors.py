"""User errors that the command line reports in one line (exit code 2), and file modes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fastcalogan import _fileio
from fastcalogan._config import load
from fastcalogan.bench import BenchConfig
from fastcalogan.campaign import read_status
from fastcalogan.campaign.config import ClusterConfig
from fastcalogan.cli import cli
from fastcalogan.data import write_showers
from fastcalogan.errors import ConfigError, DataFormatError
from fastcalogan.train import TrainConfig


def _error(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return lines[0]


def test_invert_refuses_to_replace_its_input(tiny_file: Path) -> None:
    before = tiny_file.read_bytes()
    line = _error(["invert", str(tiny_file), "-o", str(tiny_file)])
    assert "the output would overwrite the input shower file" in line
    assert tiny_file.read_bytes() == before


def test_simulate_refuses_one_file_for_showers_and_hits(tmp_path: Path) -> None:
    same = tmp_path / "same.h5"
    args = ["simulate", "--particle", "photon", "--events", "20", "-o", str(same)]
    line = _error([*args, "--hits", str(same)])
    assert "would overwrite the hit file of the same run" in line and not same.exists()


def test_override_that_is_not_yaml_names_the_override(tiny_file: Path, tmp_path: Path) -> None:
    line = _error(["invert", str(tiny_file), "-o", str(tmp_path / "h.h5"), "--set", "step_mm=[1,"])
    assert "override 'step_mm=[1,': the value is not valid YAML" in line
    with pytest.raises(ConfigError, match="n_bins=\\{': the value is not valid YAML"):
        load(None, TrainConfig, ["n_bins={"])


def test_binary_config_is_named(tiny_file: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"tiny.h5: expected a YAML config \(text\), found binary"
    ):
        load(tiny_file, TrainConfig)


def test_an_output_that_is_a_folder_is_one_line(tiny_file: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out.h5"
    folder.mkdir()
    line = _error(["invert", str(tiny_file), "-o", str(folder)])
    # the user's path, not the temporary file of the atomic write
    assert line == f"error: {folder}: Is a directory"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_outputs_get_the_mode_of_an_ordinary_new_file(tmp_path: Path) -> None:
    path = _fileio.write_text(tmp_path / "a.txt", "x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_fileio._UMASK
    reference = tmp_path / "plain.txt"
    reference.write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(reference.stat().st_mode)


def test_status_file_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text("[1, 2]")
    with pytest.raises(DataFormatError, match=r"status.json: expected a status mapping.*a list"):
        read_status(tmp_path)
    (tmp_path / "status.json").write_text('{"state": 5, "steps": [1]}')
    with pytest.raises(DataFormatError, match="found 'steps' as a list; delete the file"):
        read_status(tmp_path)
    (tmp_path / "status.json").write_text('{"steps": {"train": 1}}')
    with pytest.raises(DataFormatError, match="found a step record that is not a mapping"):
        read_status(tmp_path)


@pytest.mark.parametrize(
    ("model", "values", "message"),
    [
        (ClusterConfig, {"n_workers": 0}, "n_workers must be >= 1"),
        (TrainConfig, {"lr": float("inf")}, "lr"),
        (BenchConfig, {"batches": [0]}, "batches"),
        (BenchConfig, {"threads": []}, "threads"),
    ],
)
def test_settings_that_cannot_run_are_refused(
    model: type, values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load(
            None,
            model,
            [f"{k}={v!r}" if not isinstance(v, list) else f"{k}={v}" for k, v in values.items()],
        )


def test_bench_refuses_batch_zero_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "b.json"
    result = CliRunner().invoke(cli, ["bench", "--quick", "--batches", "0", "-o", str(out)])
    assert result.exit_code == 2 and "batches" in result.output and not out.exists()
    assert os.listdir(tmp_path) == []


def test_train_on_a_bad_file_leaves_no_run_folder(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    run = tmp_path / "run"
    config = tmp_path / "train.yaml"
    config.write_text("preset: fastcalogan\n")
    line = _error(["train", str(config), "--data", str(bad), "-o", str(run)])
    assert str(bad) in line and not run.exists()


def test_train_on_a_file_without_events_leaves_no_run_folder(tmp_path: Path) -> None:
    empty = write_showers(
        tmp_path / "empty.h5", np.zeros(0), np.zeros((0, 368)), {"binning": "ds1-photons"}
    )
    config = tmp_path / "train.yaml"
    config.write_text("preset: fastcalogan\n")
    run = tmp_path / "run"
    line = _error(["train", str(config), "--data", str(empty), "-o", str(run)])
    assert line == f"error: {empty}: expected showers to train on, found 0 events"
    assert not run.exists()
