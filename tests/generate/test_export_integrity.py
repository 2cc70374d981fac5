"""ONNX exports carry checksums: a changed model or sidecar is named, an old export still runs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from fastcalogan.bench import synthetic_generator
from fastcalogan.errors import ModelError, OutputError
from fastcalogan.generate import ExportConfig, OnnxSimulator, export_generators
from fastcalogan.generate.graph import SIDECAR_CHECKSUM, file_sha256, verify_sidecar


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    model = synthetic_generator("fastcalogan")
    return export_generators([model], ExportConfig(verify=False), tmp_path / "g.onnx").onnx_path


def test_the_sidecar_records_both_checksums(exported: Path) -> None:
    side = json.loads(exported.with_suffix(".json").read_text())
    assert side["onnx_sha256"] == file_sha256(exported)
    assert verify_sidecar(side, "g.json") and side[SIDECAR_CHECKSUM].startswith("sha256:")
    OnnxSimulator(exported)  # verifies


def test_a_changed_model_is_refused(exported: Path) -> None:
    data = bytearray(exported.read_bytes())
    data[len(data) // 2] ^= 0x01
    exported.write_bytes(bytes(data))
    with pytest.raises(
        ModelError,
        match=r"g.onnx: corrupt ONNX model: its bytes do not match the checksum in g.json",
    ):
        OnnxSimulator(exported)


def test_a_changed_sidecar_is_refused(exported: Path) -> None:
    side_path = exported.with_suffix(".json")
    side = json.loads(side_path.read_text())
    side_path.write_text(json.dumps({**side, "energy_range": [1.0, 1e9]}))
    with pytest.raises(ModelError, match=r"g.json: corrupt sidecar: its contents do not match"):
        OnnxSimulator(exported)


def test_an_export_from_before_checksums_runs_with_a_note(
    exported: Path, caplog: pytest.LogCaptureFixture
) -> None:
    side_path = exported.with_suffix(".json")
    side = json.loads(side_path.read_text())
    del side[SIDECAR_CHECKSUM], side["onnx_sha256"]
    side_path.write_text(json.dumps(side))
    with caplog.at_level(logging.WARNING, logger="fastcalogan"):
        OnnxSimulator(exported)
    assert "exported before exports carried checksums" in caplog.text


def test_a_failed_check_replaces_nothing(tmp_path: Path, exported: Path) -> None:
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    model = synthetic_generator("fastcalogan")
    with pytest.raises(ModelError, match="ONNX output differs from torch"):
        export_generators([model], ExportConfig(rtol=1e-30), exported)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_an_export_into_a_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "x.onnx").mkdir()
    with pytest.raises(
        OutputError, match=r"x.onnx: is a folder; expected a file name for the ONNX"
    ):
        export_generators([synthetic_generator("fastcalogan")], ExportConfig(), tmp_path / "x.onnx")
