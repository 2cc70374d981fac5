"""The train -> select -> generate chain through the command line, on a tiny file."""

from __future__ import annotations

from pathlib import Path

import yaml
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.data import read_showers
from fastcalogan.train import list_checkpoints


def test_train_select_generate(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "train.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "preset": "fastcalogan",
                "data": str(tiny_file),
                "iterations": 3,
                "batch_size": 16,
                "checkpoint_every": 1,
                "model": {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]},
                "device": "cpu",
            }
        )
    )
    runner = CliRunner()
    run = tmp_path / "run"
    res = runner.invoke(cli, ["train", str(config), "-o", str(run), "--set", "n_critic=1"])
    assert res.exit_code == 0, res.output
    assert len(list_checkpoints(run)) == 3
    assert yaml.safe_load((run / "config.yaml").read_text())["n_critic"] == 1

    res = runner.invoke(
        cli, ["select", str(run), "--set", "events_per_point=50", "--figure-of-merit", "etot"]
    )
    assert res.exit_code == 0, res.output
    assert "chi2/NDF per checkpoint" in res.output and "best" in res.output
    assert (run / "selection" / "best.json").is_file()

    out = tmp_path / "gen.h5"
    res = runner.invoke(
        cli,
        ["generate", str(run), "--energies", "1024,8192", "-n", "5", "-o", str(out), "--seed", "2"],
    )
    assert res.exit_code == 0, res.output
    assert read_showers(out, max_deposit_ratio=None).showers.shape == (10, 16)

    # resuming a finished run is a no-op; a bad override is one line and exit code 2
    res = runner.invoke(cli, ["train", str(config), "-o", str(run)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["train", str(config), "-o", str(run), "--set", "preset=gan"])
    assert res.exit_code == 2 and "error: " in res.output and "preset" in res.output
    res = runner.invoke(cli, ["generate", str(run), "--energies", "1e9", "-n", "1", "-o", str(out)])
    assert res.exit_code == 2 and "outside the trained range" in res.output
    # the output may not replace the generator it comes from
    ckpt = list_checkpoints(run)[-1]
    before = ckpt.read_bytes()
    res = runner.invoke(
        cli, ["generate", str(run), "--energies", "1024", "-n", "1", "-o", str(ckpt)]
    )
    assert res.exit_code == 2 and "would overwrite the generator file" in res.output
    assert ckpt.read_bytes() == before


def test_a_vae_through_the_same_commands(tmp_path: Path, tiny_file: Path) -> None:
    config = tmp_path / "vae.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "family": "vae-mlp",
                "data": str(tiny_file),
                "iterations": 2,
                "batch_size": 16,
                "checkpoint_every": 1,
                "model": {"latent_dim": 3, "encoder_hidden": [8], "decoder_hidden": [8]},
                "objective": {"beta_kl": 0.5},
                "device": "cpu",
            }
        )
    )
    runner = CliRunner()
    run = tmp_path / "run"
    res = runner.invoke(cli, ["train", str(config), "-o", str(run)])
    assert res.exit_code == 0, res.output
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["preset"] == "vae-mlp" and saved["objective"]["beta_kl"] == 0.5
    assert saved["n_critic"] is None
    res = runner.invoke(cli, ["select", str(run), "--set", "events_per_point=20"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["export", str(run), "-o", str(tmp_path / "vae.onnx")])
    assert res.exit_code == 0, res.output
    out = tmp_path / "gen.h5"
    args = ["--energies", "1024,8192", "-n", "4", "-o", str(out)]
    res = runner.invoke(cli, ["generate", "--onnx", str(tmp_path / "vae.onnx"), *args])
    assert res.exit_code == 0, res.output
    assert read_showers(out, max_deposit_ratio=None).showers.shape == (8, 16)
    # a setting of another family is one line and exit code 2
    res = runner.invoke(cli, ["train", str(config), "-o", str(run), "--set", "n_critic=2"])
    assert res.exit_code == 2 and "n_critic is not a setting of model family vae-mlp" in res.output
