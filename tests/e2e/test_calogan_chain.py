"""CaloGAN's documented sequence (docs/calogan.md, scripts/calogan_chain.sh) by the command
line at tiny sizes: simulate -> train -> select -> generate --like -> export -> evaluate, with
the Table IV and Table II suites in the report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import read_showers

TINY = (
    "preset: calogan\niterations: 2\nbatch_size: 8\ncheckpoint_every: 1\n"
    "eta: [0.0, 0.1]\ndevice: cpu\nthreads: 1\n"
    "model: {latent_dim: 8, generator_dense_channels: 2, generator_conv_channels: 2,"
    " generator_local_channels: 2, discriminator_conv_channels: 2,"
    " discriminator_local_channels: [2, 2, 2], mbd_kernels: 2, mbd_kernel_dim: 2}\n"
)


def test_calogan_positrons_simulate_train_select_generate_export_evaluate(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "train.yaml").write_text(TINY)
    files = {name: tmp_path / f"{name}.h5" for name in ("train", "test", "pion")}
    run, gen, onnx, report = (tmp_path / n for n in ("run", "gen.h5", "g.onnx", "report"))
    (tmp_path / "evaluate.yaml").write_text(
        "n_bins: 8\nnn_tree_events: 20\nnn_query_events: 10\nmetrics: [chi2]\nexample_showers: 0\n"
        "suite_options:\n  calogan-transfer:\n"
        f"    particles: {{pion: {{reference: {files['pion']}}}}}\n"
        "    repeats: 1\n    hidden: [8]\n    epochs: 2\n"
    )
    simulate = ["simulate", "--detector", "calogan", "--energy-range", "10", "50", "-n", "48"]
    for args in (
        [*simulate, "--particle", "positron", "--seed", "1", "-o", str(files["train"])],
        [*simulate, "--particle", "positron", "--seed", "2", "-o", str(files["test"])],
        [*simulate, "--particle", "pion", "--seed", "3", "-o", str(files["pion"])],
        ["train", str(tmp_path / "train.yaml"), "--data", str(files["train"]), "-o", str(run)],
        ["select", str(run), "--reference", str(files["test"]), "-n", "48"],
        ["generate", str(run), "--like", str(files["test"]), "-o", str(gen)],
        ["export", str(run), "-o", str(onnx)],
        [
            "evaluate",
            "--reference", str(files["test"]),
            "--generated", str(gen),
            "--config", str(tmp_path / "evaluate.yaml"),
            "-o", str(report),
        ],
    ):  # fmt: skip
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, (args[0], result.output)
    # one generated shower per test event, at its energy, in the CaloGAN layout
    test, generated = read_showers(files["test"]), read_showers(gen, max_deposit_ratio=None)
    assert generated.showers.shape == (48, 504)
    assert (generated.incident_energies == test.incident_energies).all()
    assert (run / "selection" / "best.json").is_file() and onnx.stat().st_size > 10_000
    suites = json.loads((report / "metrics.json").read_text())["suites"]
    shapes, transfer = suites["calogan"], suites["calogan-transfer"]
    assert {"E_tot", "s_d", "sigma_sd", "E_ratio_2", "sparsity_0"} <= set(shapes["variables"])
    assert transfer["stand_ins"] == ["pion"] and transfer["repeats"] == 1
    assert transfer["table"]["rows"][0][0].startswith("e+ vs pi+")
    page = (report / "index.html").read_text()
    assert "CaloGAN shower shapes (Table IV)" in page and "classifier transfer (Table II)" in page
