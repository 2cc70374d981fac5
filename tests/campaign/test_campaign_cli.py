"""``fastcalogan campaign run|status|report``; the run test drives the real stage chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from campaign_fakes import FAKE_STEPS
from click.testing import CliRunner

from fastcalogan._config import load, parse
from fastcalogan.campaign import (
    CampaignConfig,
    plan_tasks,
    read_campaign,
    run_task,
    write_manifest,
)
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


#: The tiny settings, given on the command line over a bigger campaign file (issue 15:
#: status and report must then show what was run, not what the file says).
TINY_SET = [
    "--set",
    "particles=[photon]",
    "--set",
    "eta=[[0.20, 0.25]]",
    "--set",
    "train.iterations=4",
]


def test_campaign_run_drives_the_real_chain_and_a_rerun_does_nothing(tmp_path: Path) -> None:
    spec = tmp_path / "campaign.yaml"
    # the file asks for 4 tasks of 100 iterations; the run (--set) for 1 task of 4
    big = {**TINY_REAL, "particles": ["photon", "pion"], "eta": [[0.20, 0.25], [0.25, 0.30]]}
    spec.write_text(yaml.safe_dump({**big, "train": {**TINY_REAL["train"], "iterations": 100}}))
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(cli, ["campaign", "run", str(spec), "-o", str(out), *TINY_SET])
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
    assert steps["layers"]["outputs"]["energy_mev"] == 2.0**20  # ds1 has the 1 TeV point
    assert (folder / "generator.onnx").stat().st_size == steps["export"]["outputs"]["weights_bytes"]
    files = ["generator.binning.yaml", "generator.json", "generator.onnx"]  # reduced binning
    assert steps["export"]["outputs"]["files"] == files
    # the campaign folder stores the campaign as run: config after --set and resolved tasks
    manifest = json.loads((out / "campaign.json").read_text())
    assert manifest["config"]["train"]["iterations"] == 4
    assert [t["name"] for t in manifest["tasks"]] == ["photon/eta_0.20-0.25"]
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
    # a plain status shows the campaign as it was run, and says the file differs
    plain = runner.invoke(cli, ["campaign", "status", str(spec), "--dir", str(out)])
    assert plain.exit_code == 0, plain.output
    assert "deprecated: --dir goes away in fastcalogan 0.2" in plain.output  # still works
    assert "1/1 tasks done" in plain.output and "4/4" in plain.output
    assert "pion" not in plain.output.split("showing the stored one")[-1]
    assert f"note: {spec} differs from the campaign stored in {out / 'campaign.json'}" in (
        " ".join(plain.output.split())
    )
    assert "train.iterations: 100 in the file, 4 stored" in " ".join(plain.output.split())
    # a rerun of finished work does nothing and says so
    before = {p: p.read_bytes() for p in out.rglob("*.json")}
    again = runner.invoke(cli, ["campaign", "run", str(spec), "-o", str(out), *TINY_SET])
    assert again.exit_code == 0, again.output
    assert "Dask dashboard" not in again.output
    assert "all 1 tasks are already done with these settings; nothing was run" in again.output
    assert {p: p.read_bytes() for p in out.rglob("*.json")} == before


def test_status_and_report_commands(tmp_path: Path) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text(
        "name: t\nparticles: [photon, pion]\neta: [[0.2, 0.25]]\ntrain: {iterations: 2}\n"
    )
    config = load(spec, CampaignConfig)
    write_manifest(config, tmp_path / "c", plan_tasks(config))
    for task in plan_tasks(config):
        run_task(config, task, tmp_path / "c", FAKE_STEPS)
    runner = CliRunner()
    status = runner.invoke(cli, ["campaign", "status", str(spec), "--dir", str(tmp_path / "c")])
    assert status.exit_code == 0, status.output
    assert "photon/eta_0.20-0.25" in status.output and "2/2" in status.output
    assert "2/2 tasks done; exported generators: 2.0 KiB" in status.output
    assert "note:" not in status.output  # the file is the stored campaign
    # the campaign folder alone is enough
    by_folder = runner.invoke(cli, ["campaign", "status", str(tmp_path / "c")])
    assert by_folder.exit_code == 0 and "2/2 tasks done" in by_folder.output
    report = runner.invoke(cli, ["campaign", "report", str(spec), "--dir", str(tmp_path / "c")])
    assert report.exit_code == 0, report.output
    assert "index.html: 2/2 tasks done, exported generators 2.0 KiB" in report.output
    assert (tmp_path / "c" / "index.html").exists()


@pytest.mark.parametrize("command", ["status", "report"])
def test_set_on_status_and_report_is_refused_in_one_line(tmp_path: Path, command: str) -> None:
    spec = tmp_path / "c.yaml"
    spec.write_text("particles: [photon]\neta: [[0.2, 0.25]]\n")
    args = ["campaign", command, str(spec), "--set", "train.iterations=5"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: --set train.iterations=5: status and report show the campaign as it was run"
    )
    assert len(result.output.strip().splitlines()) == 1


def test_a_folder_without_campaign_json_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["campaign", "status", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path}: not a campaign folder: no campaign.json" in result.output


def test_a_manifest_of_an_older_version_still_reads(tmp_path: Path) -> None:
    config = parse({"particles": ["photon"], "eta": [[0.2, 0.25], [0.25, 0.3]]}, CampaignConfig)
    old = {"config": config.model_dump(mode="json"), "tasks": ["photon/eta_0.25-0.30"]}
    (tmp_path / "campaign.json").write_text(json.dumps(old))
    stored = read_campaign(tmp_path)
    assert [t.name for t in stored.tasks] == ["photon/eta_0.25-0.30"]
    assert stored.tasks[0] == plan_tasks(config)[1]


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
        cli,
        ["campaign", "run", str(spec), "-o", str(tmp_path / "o"), "--set", "train.iteratoins=5"],
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
    args = ["campaign", "run", str(spec), "-o", str(out), "--set", setting]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_ensemble_groups_train_tasks_together(tmp_path: Path) -> None:
    from fastcalogan.campaign import DEFAULT_STEPS, read_status
    from fastcalogan.campaign.run import _groups, _run_group_on_worker

    spec = {
        **TINY_REAL,
        "eta": [[0.20, 0.25], [0.25, 0.30]],
        "layers": {"relevant_layers": False},
        "train": {**TINY_REAL["train"], "ensemble": 2},
    }
    config = parse(spec, CampaignConfig, "test")
    tasks = plan_tasks(config)
    assert [[t.name for t in g] for g in _groups(tasks, 2)] == [[t.name for t in tasks]]
    # the real chain up to training (selection and export read the run folders as usual)
    chain = DEFAULT_STEPS[:3]
    assert [s.name for s in chain] == ["data", "layers", "train"]
    outcomes = _run_group_on_worker(config, tasks, str(tmp_path), chain)
    assert [o.state for o in outcomes] == ["done", "done"]
    for task in tasks:
        log = (tmp_path / task.name / "train" / "train.log").read_text()
        assert "training an ensemble of 2 fastcalogan GANs" in log
        status = read_status(tmp_path / task.name)
        assert status is not None and status["steps"]["train"]["outputs"]["last_iteration"] == 4
        assert status["steps"]["train"]["outputs"]["checkpoints"] == 2
    # the grouping is not a training setting: the same fingerprints as a campaign without it
    from fastcalogan.campaign.engine import fingerprint

    alone = parse({**spec, "train": TINY_REAL["train"]}, CampaignConfig, "test")
    train_step = next(s for s in DEFAULT_STEPS if s.name == "train")
    assert fingerprint(train_step, config, tasks[0]) == fingerprint(train_step, alone, tasks[0])
