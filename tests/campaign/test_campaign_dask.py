"""Campaigns on a real dask.distributed LocalCluster (worker processes), with fast fake steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import campaign_fakes
import cloudpickle
from campaign_fakes import FAKE_STEPS, checkpoints, status_of

from fastcalogan._config import parse
from fastcalogan.campaign import CampaignConfig, read_campaign, run_campaign

# the fake steps travel to the worker processes by value: they need not import this folder
cloudpickle.register_pickle_by_value(campaign_fakes)


def _config(**train: Any) -> CampaignConfig:
    return parse(
        {
            "name": "tiny",
            "particles": ["photon", "pion"],
            "eta": {"start": 0.20, "stop": 0.30, "step": 0.05},
            "train": {"iterations": 4, **train},
            "cluster": {
                "kind": "local",
                "n_workers": 2,
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": ":0",
                "retries": 2,
            },
        },
        CampaignConfig,
    )


def _snapshot(campaign: Path) -> dict[str, Any]:
    return {
        str(p.relative_to(campaign)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(campaign.rglob("*"))
        if p.is_file()
    }


def test_tiny_campaign_runs_once_and_a_rerun_redoes_nothing(tmp_path: Path) -> None:
    config = _config()
    seen: list[tuple[int, int]] = []
    links: list[str | None] = []
    first = run_campaign(
        config,
        tmp_path,
        progress=lambda d, t: seen.append((d, t)),
        steps=FAKE_STEPS,
        on_dashboard=links.append,
    )
    assert first.ok and (first.completed, first.already_done, first.n_tasks) == (4, 0, 4)
    assert first.dashboard_link and first.dashboard_link.startswith("http")
    assert links == [first.dashboard_link]
    assert seen[0] == (0, 4) and seen[-1] == (4, 4)
    folders = sorted(p.parent for p in tmp_path.rglob("status.json"))
    assert [f.relative_to(tmp_path).as_posix() for f in folders] == [
        "photon/eta_0.20-0.25",
        "photon/eta_0.25-0.30",
        "pion/eta_0.20-0.25",
        "pion/eta_0.25-0.30",
    ]
    for folder in folders:
        status = status_of(folder)
        assert status["state"] == "done" and status["attempts"] == 1
        assert all(s["state"] == "done" and s["attempts"] == 1 for s in status["steps"].values())
        assert checkpoints(folder) == [f"ckpt-{i:04d}.json" for i in range(1, 5)]
    before = _snapshot(tmp_path)

    stored = read_campaign(tmp_path)
    assert [t.name for t in stored.tasks] == [f.relative_to(tmp_path).as_posix() for f in folders]
    assert stored.config == config

    second = run_campaign(config, tmp_path, steps=FAKE_STEPS)
    assert second.ok and (second.completed, second.already_done) == (0, 4)
    assert second.nothing_to_do and not first.nothing_to_do
    assert second.dashboard_link is None  # nothing to do: no cluster was started
    assert _snapshot(tmp_path) == before  # no status, checkpoint or output touched


def test_a_worker_killed_mid_training_is_retried_and_resumes(tmp_path: Path) -> None:
    victim = "photon/eta_0.20-0.25"
    config = _config(overrides={"kill_task": victim, "kill_at": 2, "sleep": 0.05})
    result = run_campaign(config, tmp_path, steps=FAKE_STEPS)
    assert result.ok and result.completed == 4 and not result.failed
    status = status_of(tmp_path / victim)
    assert status["state"] == "done" and status["attempts"] == 2
    assert status["steps"]["data"]["attempts"] == 1  # finished work was not redone
    assert status["steps"]["train"]["attempts"] == 2
    assert status["steps"]["train"]["outputs"]["resumed_from"] == 2
    # the checkpoints written before the crash are kept; the retry wrote only the rest
    folder = tmp_path / victim
    attempts = [status_of_ckpt(folder, i) for i in range(1, 5)]
    assert attempts == [1, 1, 2, 2]
    for other in ("photon/eta_0.25-0.30", "pion/eta_0.20-0.25", "pion/eta_0.25-0.30"):
        st = status_of(tmp_path / other)
        assert st["state"] == "done" and st["steps"]["train"]["outputs"]["last_iteration"] == 4
        assert checkpoints(tmp_path / other) == [f"ckpt-{i:04d}.json" for i in range(1, 5)]
        assert (tmp_path / other / "generator.onnx").stat().st_size == 1000


def status_of_ckpt(folder: Path, iteration: int) -> int:
    import json

    data = json.loads((folder / "train" / f"ckpt-{iteration:04d}.json").read_text())
    return int(data["attempt"])


def test_a_failing_task_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    config = _config(overrides={"fail_task": "pion/eta_0.25-0.30"})
    result = run_campaign(config, tmp_path, steps=FAKE_STEPS)
    assert not result.ok and result.completed == 3
    assert result.failed == (
        ("pion/eta_0.25-0.30", "RuntimeError: training of pion/eta_0.25-0.30 diverged"),
    )
    status = status_of(tmp_path / "pion" / "eta_0.25-0.30")
    assert status["state"] == "failed" and status["current_step"] == "train"
    assert status["attempts"] == 3  # the first run and two Dask retries
    assert status["error"] == "train: RuntimeError: training of pion/eta_0.25-0.30 diverged"
