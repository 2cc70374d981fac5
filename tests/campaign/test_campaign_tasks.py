"""One task without Dask: status file, idempotence, failure and resume, setting changes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from campaign_fakes import FAKE_STEPS, checkpoints, status_of

from fastcalogan._config import parse
from fastcalogan.campaign import (
    CampaignConfig,
    Step,
    StepSkipped,
    TaskContext,
    plan_tasks,
    run_task,
    task_finished,
)


def _config(iterations: int = 3, **train: Any) -> CampaignConfig:
    return parse(
        {
            "particles": ["photon"],
            "eta": [[0.2, 0.25]],
            "train": {"iterations": iterations, **train},
        },
        CampaignConfig,
    )


def test_a_task_records_every_step_and_a_rerun_skips_them(tmp_path: Path) -> None:
    config = _config()
    (task,) = plan_tasks(config)
    assert not task_finished(config, task, tmp_path, FAKE_STEPS)
    first = run_task(config, task, tmp_path, FAKE_STEPS)
    assert first.ran == ("data", "layers", "train", "select", "export", "response")
    folder = tmp_path / "photon" / "eta_0.20-0.25"
    status = status_of(folder)
    assert status["state"] == "done" and status["task"] == task.name
    assert status["steps"]["train"]["outputs"]["last_iteration"] == 3
    assert (folder / "task.log").read_text().count("step train") == 1
    assert task_finished(config, task, tmp_path, FAKE_STEPS)
    again = run_task(config, task, tmp_path, FAKE_STEPS)
    assert again.ran == () and len(again.skipped) == 6
    after = status_of(folder)
    assert after["attempts"] == 2
    assert after["steps"] == status["steps"]  # timestamps and counters untouched


def test_a_failed_step_is_recorded_and_the_rerun_starts_there(tmp_path: Path) -> None:
    config = _config(overrides={"fail_task": "photon/eta_0.20-0.25"})
    (task,) = plan_tasks(config)
    with pytest.raises(RuntimeError, match="diverged"):
        run_task(config, task, tmp_path, FAKE_STEPS)
    folder = tmp_path / task.name
    status = status_of(folder)
    assert status["state"] == "failed" and status["current_step"] == "train"
    assert status["steps"]["train"]["state"] == "failed"
    assert status["error"] == "train: RuntimeError: training of photon/eta_0.20-0.25 diverged"
    fixed = _config()
    outcome = run_task(fixed, task, tmp_path, FAKE_STEPS)
    assert outcome.skipped == ("data", "layers") and outcome.ran[0] == "train"
    assert status_of(folder)["steps"]["train"]["attempts"] == 2


def test_more_iterations_resume_training_and_redo_only_what_follows(tmp_path: Path) -> None:
    (task,) = plan_tasks(_config(3))
    run_task(_config(3), task, tmp_path, FAKE_STEPS)
    outcome = run_task(_config(5), task, tmp_path, FAKE_STEPS)
    assert outcome.skipped == ("data", "layers")
    assert outcome.ran == ("train", "select", "export", "response")
    folder = tmp_path / task.name
    assert status_of(folder)["steps"]["train"]["outputs"]["resumed_from"] == 3
    assert checkpoints(folder) == [f"ckpt-{i:04d}.json" for i in range(1, 6)]


def test_a_missing_output_makes_its_step_run_again(tmp_path: Path) -> None:
    config = _config()
    (task,) = plan_tasks(config)
    run_task(config, task, tmp_path, FAKE_STEPS)
    (tmp_path / task.name / "generator.onnx").unlink()
    assert not task_finished(config, task, tmp_path, FAKE_STEPS)
    outcome = run_task(config, task, tmp_path, FAKE_STEPS)
    assert outcome.ran == ("export", "response")


_AVAILABLE = {"feature": False}


def _feature_missing() -> str | None:
    return None if _AVAILABLE["feature"] else "feature X is not installed"


def _needs_feature(ctx: TaskContext) -> dict[str, Any]:
    if _feature_missing():
        raise StepSkipped(_feature_missing())
    return {"ok": True}


def test_a_skipped_step_runs_once_its_feature_arrives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = (*FAKE_STEPS[:2], Step("extra", _needs_feature, unavailable=_feature_missing))
    config = _config()
    (task,) = plan_tasks(config)
    run_task(config, task, tmp_path, steps)
    record = status_of(tmp_path / task.name)["steps"]["extra"]
    assert record["state"] == "skipped" and record["note"] == "feature X is not installed"
    assert task_finished(config, task, tmp_path, steps)  # nothing to do while it is missing
    monkeypatch.setitem(_AVAILABLE, "feature", True)
    assert not task_finished(config, task, tmp_path, steps)
    assert run_task(config, task, tmp_path, steps).ran == ("extra",)
    assert status_of(tmp_path / task.name)["steps"]["extra"]["outputs"] == {"ok": True}


def test_the_real_export_step_skips_when_disabled(tmp_path: Path) -> None:
    from fastcalogan.campaign.tasks import export_step

    config = parse(
        {"particles": ["photon"], "eta": [[0.2, 0.25]], "export": {"enabled": False}},
        CampaignConfig,
    )
    (task,) = plan_tasks(config)
    ctx = TaskContext(config, task, tmp_path)
    with pytest.raises(StepSkipped, match=r"export disabled in the campaign"):
        export_step(ctx)


def test_the_real_export_step_calls_export_onnx_and_sizes_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import dataclass

    import fastcalogan.generate as generate
    from fastcalogan._config import StageConfig
    from fastcalogan.campaign.tasks import export_step

    class FakeExportConfig(StageConfig):
        opset: int = 17

    @dataclass(frozen=True)
    class FakeExportResult:
        onnx_path: Path
        sidecar_path: Path

    calls: list[tuple[Any, Path, Path]] = []

    def fake_export(config: Any, run_dir: Path, out: Path) -> FakeExportResult:
        calls.append((config, Path(run_dir), Path(out)))
        out.write_bytes(b"m" * 300)
        sidecar = out.with_suffix(".json")
        sidecar.write_text("{}")
        return FakeExportResult(out, sidecar)

    monkeypatch.setattr(generate, "ExportConfig", FakeExportConfig, raising=False)
    monkeypatch.setattr(generate, "export_onnx", fake_export, raising=False)
    config = parse(
        {"particles": ["photon"], "eta": [[0.2, 0.25]], "export": {"overrides": {"opset": 18}}},
        CampaignConfig,
    )
    (task,) = plan_tasks(config)
    ctx = TaskContext(config, task, tmp_path, outputs={"train": {"run_dir": "train"}})
    outputs = export_step(ctx)
    assert calls == [(FakeExportConfig(opset=18), tmp_path / "train", tmp_path / "generator.onnx")]
    assert outputs == {
        "onnx_path": "generator.onnx",
        "files": ["generator.json", "generator.onnx"],
        "weights_bytes": 302,
    }
