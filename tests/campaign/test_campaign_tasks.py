"""One task without Dask: status file, idempotence, failure and resume, setting changes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from campaign_fakes import FAKE_STEPS, checkpoints, status_of

from fastcalogan._config import parse
from fastcalogan.campaign import (
    CampaignConfig,
    Step,
    StepSkipped,
    TaskContext,
    check_campaign,
    plan_tasks,
    run_task,
    task_finished,
)
from fastcalogan.errors import ConfigError


def _config(
    iterations: int = 3, export: dict[str, Any] | None = None, **train: Any
) -> CampaignConfig:
    return parse(
        {
            "particles": ["photon"],
            "eta": [[0.2, 0.25]],
            "train": {"iterations": iterations, **train},
            "export": export or {},
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


def test_a_step_skipped_by_its_settings_stays_done(tmp_path: Path) -> None:
    """Export disabled: the skip is current while the settings stay (issue 13's rerun)."""
    from fastcalogan.campaign.steps import export_step

    steps = (*FAKE_STEPS[:4], Step("export", export_step, unavailable=lambda: None))
    config = _config(export={"enabled": False})
    (task,) = plan_tasks(config)
    assert run_task(config, task, tmp_path, steps).ran[-1] == "export"
    record = status_of(tmp_path / task.name)["steps"]["export"]
    assert record["state"] == "skipped" and "unavailable" not in record
    assert record["note"] == "export disabled in the campaign (export.enabled: false)"
    assert task_finished(config, task, tmp_path, steps)
    assert run_task(config, task, tmp_path, steps).ran == ()
    assert status_of(tmp_path / task.name)["steps"]["export"]["attempts"] == 1


def test_the_real_export_step_calls_export_onnx_with_the_typed_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastcalogan.generate as generate
    from fastcalogan.campaign.steps import export_step
    from fastcalogan.generate import ExportConfig, ExportResult

    calls: list[tuple[Any, Path, Path]] = []

    def fake_export(config: Any, run_dir: Path, out: Path) -> ExportResult:
        calls.append((config, Path(run_dir), Path(out)))
        out.write_bytes(b"m" * 300)
        sidecar = out.with_suffix(".json")
        sidecar.write_text("{}")
        return ExportResult(out, sidecar, None, 300, 1200, 1, (), None)

    monkeypatch.setattr(generate, "export_onnx", fake_export)
    config = _config(export={"overrides": {"opset": 18, "verify": False}})
    (task,) = check_campaign(config)
    assert task.stages is not None and task.stages.export == ExportConfig(opset=18, verify=False)
    ctx = TaskContext(config, task, tmp_path, outputs={"train": {"run_dir": "train"}})
    outputs = export_step(ctx)
    assert calls == [(task.stages.export, tmp_path / "train", tmp_path / "generator.onnx")]
    assert outputs == {
        "onnx_path": "generator.onnx",
        "files": ["generator.json", "generator.onnx"],
        "weights_bytes": 300,
    }


def test_steps_get_the_typed_configs_the_driver_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastcalogan.select as select
    import fastcalogan.train as train
    from fastcalogan.campaign.steps import select_step, train_step

    seen: dict[str, Any] = {}

    def fake_train(config: Any, showers: Path, run_dir: Path, progress: Any = None) -> Any:
        seen["train"] = config
        return SimpleNamespace(last_iteration=config.iterations, checkpoints=[1, 2])

    def fake_select(config: Any, run_dir: Path, reference_path: Path, progress: Any) -> Any:
        seen["select"] = config
        return SimpleNamespace(
            best_checkpoint=run_dir / "c.pt",
            best_iteration=2,
            chi2_ndf=float("inf"),
            table_path=run_dir / "t.csv",
            plot_path=run_dir / "p.png",
        )

    monkeypatch.setattr(train, "train", fake_train)
    monkeypatch.setattr(select, "select_best", fake_select)
    config = _config(7, overrides={"batch_size": 16}, export={"enabled": False})
    (task,) = check_campaign(config)
    stages = task.stages
    assert stages is not None and stages.export is None
    assert (stages.train.iterations, stages.train.batch_size, stages.train.seed) == (
        7,
        16,
        task.seed,
    )
    assert stages.train.particle == "photon" and stages.train.binning is None
    assert stages.simulate is not None and stages.simulate.seed == task.seed
    outputs = {"layers": {"showers_path": "s.h5", "binning_path": "data/b.yaml"}}
    ctx = TaskContext(config, task, tmp_path, outputs=dict(outputs))
    assert train_step(ctx)["last_iteration"] == 7
    # the layer step's binning is the one field filled in on the worker
    assert seen["train"] == stages.train.model_copy(
        update={"binning": str(tmp_path / "data/b.yaml")}
    )
    ctx.outputs["train"] = {"run_dir": "train"}
    assert select_step(ctx)["chi2_ndf"] is None
    assert seen["select"] is stages.select
    # a task planned without them builds them once, on first use
    (bare,) = plan_tasks(config)
    ctx = TaskContext(config, bare, tmp_path)
    assert ctx.stages == stages and ctx.stages is ctx.stages


def test_a_stage_setting_is_refused_with_its_campaign_section() -> None:
    config = _config(overrides={"batch_size": 0})
    with pytest.raises(ConfigError, match=r"campaign train settings \(photon/eta_0.20-0.25\)"):
        check_campaign(config)
