"""Optional tracking (TensorBoard) and what run.json records about where a run came from."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from fastcalogan.cli import cli
from fastcalogan.cli._tracking import ENABLE_HINT, LossFollower, log_metrics
from fastcalogan.cli.evaluate import _log_headline
from fastcalogan.data import read_showers

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import (
    EventAccumulator,
)


def _scalars(logdir: Path) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(logdir))
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def _config(tmp_path: Path, data: Path) -> Path:
    config = tmp_path / "train.yaml"
    settings = {
        "preset": "fastcalogan",
        "data": str(data),
        "iterations": 2,
        "batch_size": 16,
        "checkpoint_every": 1,
        "log_every": 1,
        "n_critic": 1,
        "model": {"latent_dim": 4, "generator_hidden": [8], "critic_hidden": [8]},
        "device": "cpu",
    }
    config.write_text(yaml.safe_dump(settings))
    return config


def _losses(run: Path) -> dict[str, list[tuple[int, float]]]:
    with (run / "losses.csv").open() as f:
        rows = list(csv.DictReader(f))
    return {
        f"loss/{k}": [(int(r["iteration"]), float(r[k])) for r in rows]
        for k in rows[0]
        if k not in ("iteration", "active_points")
    }


def test_train_and_select_log_to_tensorboard_and_say_where(tmp_path: Path, tiny_file: Path) -> None:
    config, run = _config(tmp_path, tiny_file), tmp_path / "run"
    runner = CliRunner()
    res = runner.invoke(cli, ["train", str(config), "-o", str(run), "--tensorboard"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert f"run folder: {run}" in said and f"log: {run / 'train.log'}" in said
    assert f"TensorBoard: tensorboard --logdir {run / 'tensorboard'}" in said
    logged = _scalars(run / "tensorboard" / "train")
    assert set(_losses(run)) < set(logged) and "active_points" in logged
    for tag, values in _losses(run).items():
        assert [s for s, _ in logged[tag]] == [1, 2]
        assert [v for _, v in logged[tag]] == pytest.approx([v for _, v in values], rel=1e-5)

    # resumed: one clean curve (the second session re-logs the table, hiding the first's)
    res = runner.invoke(
        cli, ["train", str(config), "-o", str(run), "--tensorboard", "--iterations", "3"]
    )
    assert res.exit_code == 0, res.output
    assert f"run folder: {run} (resumed from its last checkpoint)" in " ".join(res.output.split())
    logged = _scalars(run / "tensorboard" / "train")
    assert [s for s, _ in logged["loss/critic_loss"]] == [1, 2, 3]

    res = runner.invoke(cli, ["select", str(run), "-n", "10", "--tensorboard"])
    assert res.exit_code == 0, res.output
    chi2 = json.loads((run / "selection" / "chi2.json").read_text())["rows"]
    selection = _scalars(run / "tensorboard" / "select")
    assert [s for s, _ in selection["selection/chi2_ndf"]] == [r["iteration"] for r in chi2]
    assert any(tag.startswith("selection/chi2_ndf/E=") for tag in selection)

    # evaluate's headline numbers go to the run the generated file came from, at its step
    gen = tmp_path / "gen.h5"
    res = runner.invoke(
        cli, ["generate", str(run), "--energies", "1024", "-n", "3", "-o", str(gen)]
    )
    assert res.exit_code == 0, res.output
    best = json.loads((run / "selection" / "best.json").read_text())["iteration"]
    logdir = _log_headline(gen, tmp_path / "report", {"chi2_ndf_e_tot": 1.5, "n_saturated": 0})
    assert logdir == run / "tensorboard" / "evaluate"
    assert _scalars(logdir) == {
        "evaluate/chi2_ndf_e_tot": [(best, 1.5)],
        "evaluate/n_saturated": [(best, 0.0)],
    }
    assert read_showers(gen, max_deposit_ratio=None).n_events == 3


def test_train_without_tensorboard_says_how_to_turn_it_on(tmp_path: Path, tiny_file: Path) -> None:
    config, run = _config(tmp_path, tiny_file), tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", str(config), "-o", str(run), "--iterations", "1"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert f"TensorBoard: off (add --tensorboard; needs {ENABLE_HINT})" in said
    assert said.endswith(str(run))  # the run folder is the result on stdout
    assert not (run / "tensorboard").exists()


def test_without_tensorboard_one_line_says_how_to_get_it(
    tmp_path: Path, tiny_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard -> ImportError
    config, run = _config(tmp_path, tiny_file), tmp_path / "run"
    res = CliRunner().invoke(cli, ["train", str(config), "-o", str(run), "--tensorboard"])
    assert res.exit_code == 2
    assert res.output == f"error: --tensorboard: TensorBoard is not installed ({ENABLE_HINT})\n"
    assert not run.exists()


def test_the_follower_logs_complete_rows_once(tmp_path: Path) -> None:
    table = tmp_path / "losses.csv"
    table.write_text("iteration,loss,active_points\n1,0.5,1\n2,0.25")
    follower = LossFollower(tmp_path)
    assert follower.poll(force=True) == 1  # the row being written waits for its end
    with table.open("a") as f:
        f.write(",2\n3,nan,3\n")
    assert follower.poll(force=True) == 2 and follower.poll(force=True) == 0
    follower.close()
    logged = _scalars(tmp_path / "tensorboard" / "train")
    assert logged["loss/loss"] == [(1, 0.5), (2, 0.25)]  # NaN is left out
    assert logged["active_points"] == [(1, 1.0), (2, 2.0), (3, 3.0)]
    out = log_metrics(tmp_path / "m", {"auc": 0.5, "passed": True, "note": "x"}, step=7)
    assert _scalars(out) == {"evaluate/auc": [(7, 0.5)], "evaluate/passed": [(7, 1.0)]}
