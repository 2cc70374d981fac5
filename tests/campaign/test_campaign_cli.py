"""``fastcalogan campaign run|status|report``; the run test drives the real stage chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from campaign_fakes import FAKE_STEPS
from click.testing import CliRunner

from fastcalogan._config import load
from fastcalogan.campaign import CampaignConfig, plan_tasks, run_task
from fastcalogan.cli import cli
from fastcalogan.data import geometry_of_file, read_showers

TINY_REAL = {
    "name": "real",
    "particles": ["photon"],
    "eta": [[0.20, 0.25]],
    "data": {"source": "simulate", "energies": "ds1", "events": 20},
    # a threshold that drops layers, so the exported generator carries a reduced binning
    "layers": {"threshold": 0.05},
    "train": {
        "iterations": 4,
        "overrides": {"checkpoint_every": 2, "batch_size": 32, "injection_every": 1},
    },
    "select": {"overrides": {"events_per_point": 10}},
    "export": {"response_events": 50},
    "cluster": {"n_workers": 1, "threads_per_worker": 1, "dashboard_address": ":0"},
}


def test_campaign_run_drives_the_real_chain_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "campaign.yaml"
    spec.write_text(yaml.safe_dump(TINY_REAL))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["campaign", "run", str(spec), "--dir", str(out)])
    assert result.exit_code == 0, result.output
    assert "Dask dashboard: http" in result.output
    assert "1 tasks run, 0 already done, 0 failed" in result.output
    folder = out / "photon" / "eta_0.20-0.25"
    status = json.loads((folder / "status.json").read_text())
    steps = status["steps"]
    assert status["state"] == "done"
    assert steps["train"]["outputs"]["last_iteration"] == 4
    assert sorted(p.name for p in (folder / "train" / "checkpoints").glob("*.pt")) == [
        "ckpt-00000002.pt",
        "ckpt-00000004.pt",
    ]
    assert steps["select"]["outputs"]["best_iteration"] in (2, 4)
    assert (folder / steps["select"]["outputs"]["table_path"]).exists()
    response = json.loads((folder / "response.json").read_text())
    assert response["energy_mev"] == 65536.0 and response["reference_events"] == 20
    layers = steps["layers"]["outputs"]["layers"]
    assert 0 < len(layers) < 5 and steps["layers"]["outputs"]["n_voxels"] < 368
    assert (folder / "generator.onnx").stat().st_size == steps["export"]["outputs"]["weights_bytes"]
    # showers from the exported generator read back with their reduced binning
    generated = tmp_path / "generated.h5"
    onnx_file = str(folder / "generator.onnx")
    args = ["generate", "--onnx", onnx_file, "--energies", "65536", "-n", "3", "-o", str(generated)]
    gen = runner.invoke(cli, args)
    assert gen.exit_code == 0, gen.output
    # (no deposit ceiling: four iterations make no physical showers)
    data = read_showers(generated, max_deposit_ratio=None)
    attrs = {**data.attrs, "n_voxels": data.n_voxels}
    binning = geometry_of_file(attrs, source=str(generated))
    assert binning.layer_ids == tuple(layers) and binning.n_voxels == data.n_voxels
    before = (folder / "status.json").read_bytes()
    again = runner.invoke(cli, ["campaign", "run", str(spec), "--dir", str(out)])
    assert again.exit_code == 0, again.output
    assert "0 tasks run, 1 already done, 0 failed" in again.output
    assert (folder / "status.json").read_bytes() == before


def test_status_and_report_commands(tmp_path: Path) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "name: t\nparticles: [photon, pion]\neta: [[0.2, 0.25]]\ntrain: {iterations: 2}\n"
    )
    config = load(spec, CampaignConfig)
    for task in plan_tasks(config):
        run_task(config, task, tmp_path / "c", FAKE_STEPS)
    runner = CliRunner()
    status = runner.invoke(cli, ["campaign", "status", str(spec), "--dir", str(tmp_path / "c")])
    assert status.exit_code == 0, status.output
    assert "photon/eta_0.20-0.25" in status.output and "2/2" in status.output
    assert "2/2 tasks done; exported generators: 2.0 KiB" in status.output
    report = runner.invoke(cli, ["campaign", "report", str(spec), "--dir", str(tmp_path / "c")])
    assert report.exit_code == 0, report.output
    assert "index.html: 2/2 tasks done, exported generators 2.0 KiB" in report.output
    assert (tmp_path / "c" / "index.html").exists()


def test_status_of_a_campaign_never_run_is_a_user_error(tmp_path: Path) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text("particles: [photon]\neta: [[0.2, 0.25]]\n")
    result = CliRunner().invoke(
        cli, ["campaign", "status", str(spec), "--dir", str(tmp_path / "nope")]
    )
    assert result.exit_code == 2
    assert "no campaign folder yet (run 'fastcalogan campaign run" in result.output


def test_bad_override_names_the_key(tmp_path: Path) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text("particles: [photon]\neta: [[0.2, 0.25]]\n")
    result = CliRunner().invoke(
        cli, ["campaign", "status", str(spec), "--set", "train.iteratoins=5"]
    )
    assert result.exit_code == 2
    assert "unknown key 'train.iteratoins'" in result.output and "did you mean" in result.output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            "train.overrides={n_critik: 2}",
            "campaign train settings (photon/eta_0.20-0.25): unknown",
        ),
        ("select.overrides={events_per_point: 1}", "campaign select settings"),
        ("eta=[[2.0, 2.5]]", "campaign data settings (photon/eta_2.00-2.50)"),
    ],
)
def test_settings_a_step_would_refuse_stop_the_run_before_any_work(
    tmp_path: Path, setting: str, message: str
) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text("particles: [photon]\neta: [[0.2, 0.25]]\n")
    out = tmp_path / "out"
    args = ["campaign", "run", str(spec), "--dir", str(out), "--set", setting]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()
