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
    "--ensemble-sizes",
    "1,2",
    "--fidelity-events",
    "150",
    "--ensemble-gan-iterations",
    "2",
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
        "ensemble fastcalogan",
        "ensemble fastcalogan, after",
    ]
    gen = data["generation"]
    assert {(g["backend"], g["batch"]) for g in gen} == {
        (b, n) for b in ("torch", "torch-graph", "onnxruntime") for n in (1, 10)
    }
    assert all(g["seconds_per_shower"] > 0 and g["fraction_of_peak"] > 0 for g in gen)
    (tr,) = data["training"]
    assert tr["preset"] == "fastcalogan" and tr["batch_size"] == 4 and tr["iterations"] == 1
    assert tr["flops_per_iteration"] > 0 and tr["fraction_of_flop_limit"] > 0
    # one iteration, 5 critic steps and a generator step (the written-out critic step):
    # per critic step the generator (4 products), the critic over real+fake+interpolates (4),
    # the top-down pass of the loss rows and the penalty's input gradient (2 over all rows, 1
    # at the interpolates), the penalty's backward (3) and one product per weight gradient
    # (4); the generator step runs the generator and the critic (4 + 4), the critic's input
    # gradient (3) and the generator's backward (4 weights + 3 inputs)
    assert tr["critic_step"] == "fused"
    assert tr["matmuls_per_iteration"] == 5 * (4 + 4 + 3 + 3 + 4) + (4 + 4 + 3 + 7)
    # the FLOP limit counts the recipe's FLOPs on the reference (autograd) path
    assert tr["reference_flops_per_iteration"] > tr["flops_per_iteration"]
    assert tr["fraction_of_flop_limit"] > tr["fraction_of_peak_executed"]
    plain = tr["plain_loop"]
    assert plain["iterations_per_s"] > 0 and plain["flops_per_iteration"] > 0
    assert tr["ratio_to_plain_loop"] == pytest.approx(
        tr["iterations_per_s"] / plain["iterations_per_s"]
    )
    assert 0 < tr["matmul_share_of_iteration"] and tr["matmul_fraction_of_peak"] > 0
    # ensembles: GANs x iterations per second, against one GAN through the same trainer
    assert [(e["members"], e["iterations"]) for e in data["ensemble"]] == [(1, 2), (2, 2)]
    for e in data["ensemble"]:
        assert e["gan_iterations_per_s"] == pytest.approx(e["members"] * e["iterations_per_s"])
    assert data["ensemble"][0]["speedup_over_first"] == 1.0
    assert "ensemble K=2 b=4" in result.output and "GAN it/s" in result.output
    assert data["gpu"].startswith("no GPU was available") or "CUDA" in data["gpu"]
    # reduced precision: the same backend in fp32 and bf16 / int8, with the fidelity guard
    reduced = {(r["backend"], r["precision"]): r for r in data["reduced_precision"]}
    assert set(reduced) == {("torch", "bf16"), ("onnxruntime", "int8")}
    for r in reduced.values():
        assert r["us_per_shower"] > 0 and r["speedup_over_fp32"] > 0
        assert r["guard"]["n_events"] == 150 and 0 <= r["guard"]["auc"] <= 1
    assert "guard" in result.output and "int8" in result.output
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


def test_a_failing_section_is_recorded_and_the_rest_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastcalogan.bench import run

    def refuse(*args: object, **kwargs: object) -> list[dict[str, object]]:
        raise RuntimeError("[ONNXRuntimeError] : 1 : FAIL : b zero point is not valid")

    monkeypatch.setattr(run, "reduced_precision_rows", refuse)
    out = tmp_path / "bench.json"
    args = [*TINY, "--ensemble-sizes", "0", "--simulate-events", "0"]
    result = CliRunner().invoke(cli, ["bench", *args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["reduced_precision"] == [] and data["training"]  # the next section ran
    (err,) = data["errors"]
    assert err["section"] == "reduced_precision" and err["preset"] == "fastcalogan"
    assert "zero point" in err["error"] and "failed" in result.output
