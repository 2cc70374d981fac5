"""Fast stand-ins for the campaign steps (files of a few bytes instead of showers and GANs).

The fake training writes one JSON "checkpoint" per iteration and resumes from the last one,
like the real one. With ``train.overrides: {fail_task: NAME}`` the training of task NAME
raises. With ``train.overrides: {kill_task: NAME, kill_at: K}`` it ends the worker
process (``os._exit``) right after writing checkpoint K of task NAME in the task's first
attempt, as a machine lost mid-training would.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from fastcalogan._fileio import write_json
from fastcalogan.campaign import CampaignConfig, Step, StepSkipped, TaskContext, TaskSpec


def fake_data(ctx: TaskContext) -> dict[str, Any]:
    out = write_json(ctx.folder / "data" / "showers.json", {"particle": ctx.task.particle})
    return {"showers_path": ctx.relative(out), "binning": "default"}


def fake_layers(ctx: TaskContext) -> dict[str, Any]:
    return {"showers_path": ctx.output("data", "showers_path"), "layers": [0, 1, 2]}


def checkpoints(ctx_folder: Any) -> list[str]:
    return sorted(p.name for p in (ctx_folder / "train").glob("ckpt-*.json"))


def fake_train(ctx: TaskContext) -> dict[str, Any]:
    settings = ctx.config.train.overrides
    total = ctx.config.train.iterations
    run_dir = ctx.folder / "train"
    if ctx.task.name == settings.get("fail_task"):
        raise RuntimeError(f"training of {ctx.task.name} diverged")
    done = [int(p.stem.split("-")[1]) for p in run_dir.glob("ckpt-*.json")]
    start = max(done, default=0)
    for it in range(start + 1, total + 1):
        time.sleep(float(settings.get("sleep", 0.0)))
        write_json(run_dir / f"ckpt-{it:04d}.json", {"iteration": it, "attempt": ctx.attempt})
        ctx.progress(it, total)
        if (
            ctx.task.name == settings.get("kill_task")
            and it == settings.get("kill_at")
            and ctx.attempt == 1
        ):
            os._exit(17)  # the worker process dies, as on a lost batch node
    return {
        "run_dir": "train",
        "last_iteration": total,
        "checkpoints": total,
        "resumed_from": start,
    }


def fake_chi2(task: TaskSpec) -> float:
    return round(1.0 + task.eta_min + (0.5 if task.particle == "pion" else 0.0), 6)


def fake_select(ctx: TaskContext) -> dict[str, Any]:
    chi2 = fake_chi2(ctx.task)
    table = write_json(ctx.folder / "train" / "selection.json", {"chi2_ndf": chi2})
    return {
        "table_path": ctx.relative(table),
        "chi2_ndf": chi2,
        "best_iteration": ctx.config.train.iterations,
    }


def fake_export(ctx: TaskContext) -> dict[str, Any]:
    if not ctx.config.export.enabled:
        raise StepSkipped("export disabled")
    out = ctx.folder / "generator.onnx"
    out.write_bytes(b"x" * 1000)
    return {"onnx_path": ctx.relative(out), "weights_bytes": 1000}


def fake_response(ctx: TaskContext) -> dict[str, Any]:
    return {"gan_mean": 0.9 - 0.01 * ctx.task.eta_min, "reference_mean": 0.9}


def _train_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.train.iterations


FAKE_STEPS: tuple[Step, ...] = (
    Step("data", fake_data),
    Step("layers", fake_layers),
    Step("train", fake_train, _train_settings),
    Step("select", fake_select),
    Step("export", fake_export),
    Step("response", fake_response),
)


def status_of(folder: Any) -> dict[str, Any]:
    return dict(json.loads((folder / "status.json").read_text()))
