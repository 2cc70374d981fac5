"""Reduced-precision generation: int8 export (onnxruntime), bf16 torch, the fidelity guard."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner

from fastcalogan.bench import synthetic_generator
from fastcalogan.cli import cli
from fastcalogan.data import DS1_ENERGIES, read_showers
from fastcalogan.errors import ModelError
from fastcalogan.evaluate import ClassifierConfig, precision_guard
from fastcalogan.generate import (
    ExportConfig,
    GenerateConfig,
    OnnxSimulator,
    Simulator,
    export_generators,
    generate_onnx,
    quantise_int8,
)
from fastcalogan.generate.graph import relative_difference
from fastcalogan.train import TrainConfig, train

#: A small, quick classifier (the bench runs the default one on 15k events per sample, where
#: the AUC's error is a few 1e-3; on the 1000 events here it is about 0.02).
QUICK = ClassifierConfig(hidden=(16,), epochs=4, patience=2, folds=3, batch_size=250)


@pytest.fixture(scope="module")
def fastcalogan_model() -> object:
    return synthetic_generator("fastcalogan")


def _samples(
    model: object, n_per_point: int, seed: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    energies = np.repeat(np.asarray(DS1_ENERGIES[4:9], dtype=np.float64), n_per_point)
    sim = Simulator([model])  # type: ignore[list-item]
    bf16 = Simulator([model], precision="bf16")  # type: ignore[list-item]
    return energies, {
        "fp32": sim.simulate(energies, seed),
        "bf16": bf16.simulate(energies, seed),
        "other": sim.simulate(energies, seed + 1),
    }


def test_int8_export_quantises_and_runs(tmp_path: Path, fastcalogan_model: object) -> None:
    fp32 = export_generators([fastcalogan_model], ExportConfig(), tmp_path / "g.onnx")  # type: ignore[list-item]
    int8 = export_generators(
        [fastcalogan_model],  # type: ignore[list-item]
        ExportConfig(precision="int8"),
        tmp_path / "g8.onnx",
    )
    ops = {n.op_type for n in onnx.load(str(int8.onnx_path)).graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops
    assert "MatMulInteger" not in {n.op_type for n in onnx.load(str(fp32.onnx_path)).graph.node}
    # int8 weights: about a quarter of the bytes
    assert int8.weights_bytes < 0.4 * fp32.weights_bytes
    side = json.loads(int8.sidecar_path.read_text())
    assert side["precision"] == "int8" and side["max_rel_diff_fp32"] < 1e-4
    assert 1e-5 < side["max_rel_diff"] <= 0.1  # quantised: close, not equal
    sims = {p: OnnxSimulator(r.onnx_path, threads=1) for p, r in (("fp32", fp32), ("int8", int8))}
    assert sims["int8"].precision == "int8" and sims["fp32"].precision == "fp32"
    energies = np.full(500, 65536.0)
    a, b = (sims[p].simulate(energies, 3) for p in ("fp32", "int8"))
    assert relative_difference(b, a) < 0.1
    # the totals move by well under a per cent
    assert abs(b.sum() / a.sum() - 1.0) < 0.01


def test_int8_keeps_batched_products_float(tmp_path: Path) -> None:
    """A product with a 3-D weight (one matrix per position, as in CaloGAN's locally
    connected layers) stays float32; the 2-D one is quantised; the model runs."""
    g = np.random.default_rng(0)
    w3 = g.normal(size=(2, 3, 5)).astype(np.float32)
    w2 = g.normal(size=(5, 4)).astype(np.float32)
    graph = onnx.helper.make_graph(
        [
            onnx.helper.make_node("MatMul", ["x", "w3"], ["h"], name="per_position"),
            onnx.helper.make_node("MatMul", ["h", "w2"], ["y"], name="dense"),
        ],
        "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, "n", 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, "n", 4])],
        [onnx.numpy_helper.from_array(w3, "w3"), onnx.numpy_helper.from_array(w2, "w2")],
    )
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "f.onnx"))
    quantise_int8(tmp_path / "f.onnx", tmp_path / "q.onnx")
    nodes = onnx.load(str(tmp_path / "q.onnx")).graph.node
    assert [n.op_type for n in nodes if n.name == "per_position"] == ["MatMul"]
    assert "MatMulInteger" in {n.op_type for n in nodes}
    x = g.normal(size=(2, 7, 3)).astype(np.float32)
    import onnxruntime

    y = onnxruntime.InferenceSession(str(tmp_path / "q.onnx")).run(None, {"x": x})[0]
    np.testing.assert_allclose(y, x @ w3 @ w2, rtol=0.1, atol=0.1)


def test_bf16_generation_is_close_to_fp32(fastcalogan_model: object) -> None:
    _, s = _samples(fastcalogan_model, 20, seed=0)
    assert not np.array_equal(s["fp32"], s["bf16"])
    assert relative_difference(s["bf16"], s["fp32"]) < 0.05
    with pytest.raises(ModelError, match="precision must be one of"):
        Simulator([fastcalogan_model], precision="fp16")  # type: ignore[list-item]


def test_guard_passes_bf16_and_catches_a_distortion(fastcalogan_model: object) -> None:
    energies, s = _samples(fastcalogan_model, 200, seed=0)
    ok = precision_guard(s["fp32"], s["bf16"], s["other"], energies, QUICK, 0.08, seed=1)
    assert ok.passed, ok
    assert ok.n_events == 1000 and ok.auc_tolerance == 0.08
    assert abs(ok.etot_chi2_ndf_reduced - ok.etot_chi2_ndf_fp32) <= ok.etot_chi2_ndf_error
    # a distortion a reduced precision must not cause: 5 % more energy everywhere
    bad = precision_guard(s["fp32"], 1.05 * s["fp32"], s["other"], energies, QUICK, 0.08, seed=1)
    assert not bad.passed
    assert bad.etot_chi2_ndf_reduced - bad.etot_chi2_ndf_fp32 > bad.etot_chi2_ndf_error


def test_cli_precision_options(
    tmp_path: Path, tiny_file: Path, tiny_config: Callable[..., TrainConfig]
) -> None:
    run = tmp_path / "run"
    train(tiny_config(iterations=2), tiny_file, run)
    runner = CliRunner()
    out = tmp_path / "g8.onnx"
    result = runner.invoke(cli, ["export", str(run), "-o", str(out), "--precision", "int8"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.with_suffix(".json").read_text())["precision"] == "int8"
    showers = tmp_path / "bf16.h5"
    args = ["generate", str(run), "--energies", "2048", "-n", "20", "-o", str(showers)]
    result = runner.invoke(cli, [*args, "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    data = read_showers(showers)
    assert data.attrs["precision"] == "bf16" and data.n_events == 20
    result = runner.invoke(
        cli,
        [
            "generate",
            "--onnx",
            str(out),
            *args[2:-2],
            "-o",
            str(tmp_path / "x.h5"),
            "--precision",
            "bf16",
        ],
    )
    assert result.exit_code == 2 and "export --precision int8" in result.output
    with pytest.raises(ModelError, match="precision: bf16"):
        generate_onnx(
            GenerateConfig(energies=(2048.0,), n_events=5, precision="bf16"), out, tmp_path / "y.h5"
        )
    assert torch.get_num_threads() >= 1
