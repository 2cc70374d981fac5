"""The ATLAS 2018 study through the command line, tiny sizes: simulate the cells, train the VAE
and the WGAN from the example configs, select, generate like a held-out file, evaluate each,
and compare them on one page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import read_showers

REPO = Path(__file__).resolve().parents[2]
TINY = {
    "vae": [
        "iterations=3",
        "batch_size=32",
        "checkpoint_every=1",
        "model.encoder_hidden=[16]",
        "model.decoder_hidden=[16]",
    ],
    "wgan": [
        "iterations=3",
        "batch_size=32",
        "checkpoint_every=1",
        "objective.n_critic=1",
        "model.generator_hidden=[16]",
        "model.critic_hidden=[16]",
    ],
}


def _run(runner: CliRunner, args: list[str]) -> str:
    result = runner.invoke(cli, [str(a) for a in args], terminal_width=200)
    assert result.exit_code == 0, (args[:2], result.output, result.exception)
    return result.output


def test_vae_and_wgan_side_by_side(tmp_path: Path) -> None:
    runner = CliRunner()
    train, test = tmp_path / "train.h5", tmp_path / "test.h5"
    for path, seed, n in ((train, 1, 40), (test, 2, 25)):
        _run(
            runner,
            [
                *("simulate", "--detector", "atlas-cells", "--particle", "photon"),
                *("--energies", "4000,32000", "--events", n, "--seed", seed, "-o", path),
            ],
        )
    evaluations = []
    for name in ("vae", "wgan"):
        run = tmp_path / name
        config = REPO / "configs" / f"train-atlas18-{name}.yaml"
        sets = [a for kv in TINY[name] for a in ("--set", kv)]
        _run(runner, ["train", config, "--data", train, "-o", run, *sets])
        _run(runner, ["select", run, "--set", "events_per_point=40"])
        gen = tmp_path / f"{name}.h5"
        _run(runner, ["generate", run, "--like", test, "-o", gen])
        generated = read_showers(gen)
        assert generated.showers.shape == (50, 266)
        np.testing.assert_array_equal(
            generated.incident_energies, read_showers(test).incident_energies
        )
        # the WGAN carries its alignments, the VAE (the energy alone) none
        expected = ("phi_alignment", "eta_alignment") if name == "wgan" else ()
        assert generated.condition_names == expected
        out = tmp_path / f"eval-{name}"
        _run(
            runner,
            [
                "evaluate",
                "--reference",
                test,
                "--generated",
                gen,
                "-o",
                out,
                "--set",
                "metrics=[chi2]",
            ],
        )
        suite = json.loads((out / "metrics.json").read_text())["suites"]["atlas-2018"]
        assert "middle-layer energy" in suite["chi2"] and "profile EMB1 eta" in suite["chi2"]
        evaluations.append(out)
    page = tmp_path / "compare"
    output = _run(
        runner, ["compare", *evaluations, "--label", "VAE", "--label", "WGAN", "-o", page]
    )
    assert "shower depth" in output and "closest to the reference in 11 distributions" in output
    table = json.loads((page / "comparison.json").read_text())
    assert table["labels"] == ["VAE", "WGAN"] and len(table["rows"]) == 11
    assert sum(table["wins"].values()) == 11
    html = (page / "index.html").read_text()
    assert "VAE chi2/NDF" in html and html.count("data:image/png;base64,") == 6 + 8
