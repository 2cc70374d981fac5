"""run.json says where a run came from: versions, device, host and the data's checksum."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fastcalogan.data import read_showers, write_showers
from fastcalogan.train import RunFolder, TrainConfig, train


def test_run_json_records_versions_device_host_and_the_data_checksum(
    tmp_path: Path,
    tiny_file: Path,
    tiny_config: Callable[..., TrainConfig],
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = tmp_path / "run"
    train(tiny_config(iterations=2), tiny_file, run)
    info = json.loads((run / "run.json").read_text())
    assert info["data_sha256"] == hashlib.sha256(tiny_file.read_bytes()).hexdigest()
    assert set(info["versions"]) == {
        "fastcalogan",
        "python",
        "torch",
        "numpy",
        "h5py",
        "onnx",
        "onnxruntime",
    }
    assert info["versions"]["torch"].startswith("2.") and info["device"] == "cpu"
    assert isinstance(info["host"], str) and info["host"]
    read = RunFolder(run).info()
    assert read is not None and json.loads(json.dumps(read.to_dict())) == info

    # resumed on other data: recorded, and said
    data = read_showers(tiny_file)
    changed = write_showers(
        tmp_path / "changed.h5", data.incident_energies, np.asarray(data.showers) * 1.01, data.attrs
    )
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        train(tiny_config(iterations=4), changed, run)
    assert "the training data changed since the run started" in caplog.text
    again = json.loads((run / "run.json").read_text())
    assert again["data_sha256"] == hashlib.sha256(changed.read_bytes()).hexdigest()
