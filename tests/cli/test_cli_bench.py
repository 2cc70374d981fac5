"""``fastcalogan bench --quick``: the JSON document's shape on a tiny run (no timing asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from fastcalogan.cli import cli

TINY = [
    "--quick",
    "--presets",
    "fastcalogan",
    "--batches",
    "1,10",
    "--repeats",
    "1",
    "--gemm-size",
    "64",
    "--train-iterations",
    "1",
    "--train-batch",
    "4",
    "--simulate-events",
    "5",
    "--rss-events",
    "0",
]


def test_quick_bench_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(cli, ["bench", *TINY, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "matmul peak" in result.output and "us/shower" in result.output
    data = json.loads(out.read_text())
    assert {
        "schema",
        "config",
        "machine",
        "load_average",
        "matmul_peak",
        "generation",
        "training",
        "reference_simulator",
        "memory",
        "seconds",
    } <= set(data)
    peak = data["matmul_peak"][0]
    assert peak["n"] == 64 and peak["threads"] == 1 and peak["gflops_best"] > 0
    # a peak next to each section it normalises
    assert [p["section"] for p in data["matmul_peak"]] == [
        "start",
        "generation fastcalogan",
        "training fastcalogan",
        "training fastcalogan, after",
    ]
    gen = data["generation"]
    assert {(g["backend"], g["batch"]) for g in gen} == {
        (b, n) for b in ("torch", "torch-graph", "onnxruntime") for n in (1, 10)
    }
    assert all(g["seconds_per_shower"] > 0 and g["fraction_of_peak"] > 0 for g in gen)
    (tr,) = data["training"]
    assert tr["preset"] == "fastcalogan" and tr["batch_size"] == 4 and tr["iterations"] == 1
    assert tr["flops_per_iteration"] > 0 and tr["fraction_of_flop_limit"] > 0
    # one iteration, 5 critic steps and a generator step: per critic step the generator
    # (4 products), the critic over real+fake+interpolates (4), the explicit input gradient
    # (3) and the backward (2 per product but the first layer's input); the generator step
    # runs the generator and the critic (4 + 4), the critic's input gradients (4, its weights
    # are frozen) and the generator's backward (4 weights + 3 inputs)
    assert tr["matmuls_per_iteration"] == 5 * (4 + 4 + 3 + 7 + 6) + (4 + 4 + 4 + 7)
    assert 0 < tr["matmul_share_of_iteration"] and tr["matmul_fraction_of_peak"] > 0
    assert [s["particle"] for s in data["reference_simulator"]] == ["photon", "pion"]
    (mem,) = data["memory"]
    assert mem["weights_bytes"] == 4 * mem["parameters"] and mem["onnx_bytes"] > 0
    # the batch-1 floor: the generator's weights over the read bandwidth of that many bytes
    for g in gen:
        floor = mem["weights_bytes"] / (g["read_bandwidth_gbs"] * 1e9) * 1e6
        assert g["weights_read_us_per_call"] == pytest.approx(floor, rel=1e-9)
    assert "reading the weights" in result.output


def test_bad_option_is_a_user_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["bench", "--batches", "1,x", "-o", str(tmp_path / "b.json")])
    assert result.exit_code == 2 and "--batches: expected comma-separated integers" in result.output


def test_bench_measures_any_family(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = [a if a != "fastcalogan" else "vae-mlp" for a in TINY]
    result = CliRunner().invoke(cli, ["bench", *args, "--simulate-events", "0", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    (tr,) = data["training"]
    assert tr["preset"] == "vae-mlp" and tr["family"] == "vae-mlp"
    assert tr["objective"]["beta_kl"] == 1.0 and tr["flops_per_iteration"] > 0
    assert {g["preset"] for g in data["generation"]} == {"vae-mlp"}
    result = CliRunner().invoke(cli, ["bench", "--presets", "gan", "-o", str(out)])
    assert result.exit_code == 2 and "unknown preset(s) ['gan']" in result.output


def test_speed_table_puts_generation_beside_the_detector_simulator() -> None:
    """CaloGAN's Table III: ms per shower per batch against the reference simulator's, for a
    preset made for a simulator detector (and nothing for one that is not)."""
    from fastcalogan.bench.config import BenchConfig
    from fastcalogan.bench.sections import detector_simulator, speed_table

    config = BenchConfig(presets=("calogan",), simulate_events=5)
    assert detector_simulator(config, "fastcalogan") is None
    sim = detector_simulator(config, "calogan")
    assert sim is not None
    assert (sim["detector"], sim["particle"], sim["events"]) == ("calogan", "positron", 5)
    assert sim["energies_mev"] == [1_000.0, 100_000.0] and sim["ms_per_shower"] > 0
    row = {"preset": "calogan", "backend": "torch", "device": "cpu", "threads": 1}
    generation = [
        {**row, "batch": 1, "seconds_per_shower": 0.004},
        {**row, "batch": 1024, "seconds_per_shower": 0.001},
        {**row, "preset": "fastcalogan", "batch": 1, "seconds_per_shower": 0.001},
    ]
    sim = {**sim, "ms_per_shower": 2.0}
    table = speed_table(generation, [sim])
    assert [(r["batch"], r["ms_per_shower"], r["speedup"]) for r in table] == [
        (1, 4.0, 0.5),
        (1024, 1.0, 2.0),
    ]


def test_bench_feeds_a_conditioned_preset_its_conditions(tmp_path: Path) -> None:
    # atlas18-wgan: its own geometry (266 cells) and the multi-hot alignment code beside the
    # energy label, on every backend (torch, the graph, onnxruntime) and in training
    out = tmp_path / "bench.json"
    args = [a if a != "fastcalogan" else "atlas18-wgan" for a in TINY]
    result = CliRunner().invoke(cli, ["bench", *args, "--simulate-events", "0", "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    (tr,) = data["training"]
    assert tr["preset"] == "atlas18-wgan" and tr["family"] == "atlas18-wgan"
    assert tr["flops_per_iteration"] > 0
    gen = data["generation"]
    assert {(g["backend"], g["batch"]) for g in gen} == {
        (b, n) for b in ("torch", "torch-graph", "onnxruntime") for n in (1, 10)
    }
    assert all(g["seconds_per_shower"] > 0 for g in gen)
