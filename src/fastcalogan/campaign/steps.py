"""The real chain of a task: data -> relevant layers -> train -> select -> export -> response.

Each step calls one stage through its public entry function with the typed config the driver
built (:attr:`TaskContext.stages`), and returns the outputs the engine records. The
``*_settings`` functions say what each step depends on (its fingerprint): they read the
campaign's own sections, so that a new default in a stage config does not rerun finished
campaigns.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from .._fileio import write_json
from ..errors import ConfigError, ModelError
from ..geometry import write_geometry_yaml
from .config import CampaignConfig
from .engine import Step, StepSkipped, TaskContext
from .plan import TaskSpec, binning_label, task_binning

__all__ = [
    "DEFAULT_STEPS",
    "data_step",
    "ensemble_train",
    "export_step",
    "layers_step",
    "response_step",
    "select_step",
    "train_step",
]

log = logging.getLogger(__name__)


def _shower_attrs(task: TaskSpec, binning: str, **extra: Any) -> dict[str, Any]:
    from .. import __version__

    return {
        "particle": task.particle,
        "eta_min": task.eta_min,
        "eta_max": task.eta_max,
        "binning": binning,
        "fastcalogan_version": __version__,
        **extra,
    }


# ----- data ----------------------------------------------------------------------------------
def _data_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {
        "data": config.data.model_dump(mode="json"),
        "binning": task.binning,
        "files": list(task.data_files),
        "seed": task.seed,
    }


def data_step(ctx: TaskContext) -> dict[str, Any]:
    """Training showers of the task in ``data/showers.h5`` (full binning).

    The reference simulator (voxel path), or the user's files: HDF5 showers, ATLAS CSV
    files (one per energy point), or hit files voxelised with the task's binning.
    """
    task, src = ctx.task, ctx.config.data
    binning = task_binning(task)
    label = binning_label(task, binning)
    out = ctx.folder / "data" / "showers.h5"
    if ctx.stages.simulate is not None:
        from ..simulate import simulate

        simulate(ctx.stages.simulate, out, progress=ctx.progress)
        return {"showers_path": ctx.relative(out), "binning": label, "source": "simulate"}
    fmt = src.format
    if fmt == "auto":
        suffixes = {Path(f).suffix.lower() for f in task.data_files}
        fmt = "csv" if suffixes == {".csv"} else "showers"
    if fmt == "hits":
        from ..voxelise import VoxeliseConfig, voxelise

        if len(task.data_files) != 1:
            raise ConfigError(
                f"data.pattern: hit input of {task.name} must be one file, "
                f"found {len(task.data_files)}"
            )
        vox = VoxeliseConfig(binning=label, particle=task.particle, eta=task.eta)
        voxelise(vox, task.data_files[0], out, progress=ctx.progress)
        return {"showers_path": ctx.relative(out), "binning": label, "source": "hits"}
    if fmt == "csv":
        from ..data import convert_atlas_csv

        convert_atlas_csv(
            task.data_files,
            binning,
            out,
            n_leading=src.csv_leading_columns,
            attrs=_shower_attrs(task, label),
        )
        return {"showers_path": ctx.relative(out), "binning": label, "source": "csv"}
    from ..data import read_showers, write_showers

    if len(task.data_files) == 1:
        read_showers(task.data_files[0], binning=binning)  # validate before training on it
        return {"showers_path": task.data_files[0], "binning": label, "source": "file"}
    parts = [read_showers(f, binning=binning) for f in task.data_files]
    write_showers(
        out,
        np.concatenate([p.incident_energies for p in parts]),
        np.concatenate([p.showers for p in parts]),
        _shower_attrs(task, label, sources=json.dumps(list(task.data_files))),
        geometry=binning,
    )
    return {"showers_path": ctx.relative(out), "binning": label, "source": "files"}


# ----- relevant layers -----------------------------------------------------------------------
def _layer_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.layers.model_dump(mode="json")


def layers_step(ctx: TaskContext) -> dict[str, Any]:
    """FastCaloGAN's relevant layers: ``data/showers-relevant.h5`` with only those layers.

    The rule is :func:`fastcalogan.voxelise.relevant_layers_at`, the voxeliser's: at
    ``layers.energy_mev``, or at the nearest energy point of the data when that one is
    absent (a warning in ``task.log``; the point used is recorded as ``energy_mev``).
    """
    from ..data import read_showers, write_showers
    from ..voxelise import relevant_layers_at, restrict_to_layers

    settings = ctx.config.layers
    showers_path = ctx.path(ctx.output("data", "showers_path"))
    label = str(ctx.output("data", "binning"))
    binning = task_binning(ctx.task)
    if not settings.relevant_layers:
        return {
            "showers_path": ctx.relative(showers_path),
            "binning": label,
            "layers": list(binning.layer_ids),
        }
    data = read_showers(showers_path, binning=binning)
    rule = relevant_layers_at(
        data.showers,
        data.incident_energies,
        binning,
        energy_mev=settings.energy_mev,
        threshold=settings.threshold,
        source=str(showers_path),
    )
    layers = rule.layers
    if tuple(layers) == binning.layer_ids:
        log.info("task %s: every layer is relevant", ctx.task.name)
        return {
            "showers_path": ctx.relative(showers_path),
            "binning": label,
            "layers": list(layers),
            "n_voxels": binning.n_voxels,
            "energy_mev": rule.energy_mev,
        }
    showers, reduced = restrict_to_layers(data.showers, binning, layers)
    # the reduced binning as a file, so that every later stage loads it by name
    binning_file = ctx.folder / "data" / "binning-relevant.yaml"
    write_geometry_yaml(reduced, binning_file)
    out = ctx.folder / "data" / "showers-relevant.h5"
    attrs = {k: v for k, v in data.attrs.items() if k not in ("n_voxels", "n_events")}
    attrs.update(_shower_attrs(ctx.task, str(binning_file), binning_layers=list(layers)))
    write_showers(out, data.incident_energies, showers, attrs, geometry=reduced)
    log.info(
        "task %s: relevant layers %s (%d of %d voxels)",
        ctx.task.name,
        list(layers),
        reduced.n_voxels,
        binning.n_voxels,
    )
    return {
        "showers_path": ctx.relative(out),
        "binning_path": ctx.relative(binning_file),
        "layers": list(layers),
        "n_voxels": reduced.n_voxels,
        "energy_mev": rule.energy_mev,
    }


# ----- train, select, export -----------------------------------------------------------------
def _train_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    # how tasks are grouped into ensembles is not a setting of their training
    return config.train.model_dump(mode="json", exclude={"ensemble"})


def _train_inputs(ctx: TaskContext) -> tuple[Path, Any]:
    """The task's training showers and its TrainConfig with the layer step's binning."""
    showers = ctx.path(ctx.output("layers", "showers_path"))
    layers = ctx.outputs.get("layers", {})
    binning = (
        str(ctx.path(layers["binning_path"])) if "binning_path" in layers else layers.get("binning")
    )
    config = ctx.stages.train
    if config.binning is None and binning is not None:
        # the one field the driver cannot know: the layer step's binning (a str field)
        config = config.model_copy(update={"binning": binning})
    return showers, config


def ensemble_train(
    config: CampaignConfig, tasks: list[TaskSpec], campaign_dir: str | Path
) -> list[list[str]]:
    """Train the GANs of ``tasks`` together where they can be, before their chains run.

    Each task's steps before ``train`` must be done (their outputs are read from the status
    file). Tasks whose showers have the same width and whose runs stand at the same
    iteration form one ensemble (:func:`fastcalogan.train.train_ensemble`) in their own
    ``train/`` folders; the train step of each then finds its run finished and records it.
    Tasks left alone (another width, a preset that allows no ensemble) train in their own
    train step as usual.

    Returns:
        The task names of each ensemble trained.
    """
    from ..train import (
        EnsembleMember,
        RunFolder,
        checkpoint_iteration,
        ensemble_supported,
        train_ensemble,
    )
    from .engine import read_status

    groups: dict[tuple[Any, ...], list[tuple[TaskSpec, EnsembleMember]]] = {}
    for task in tasks:
        folder = (Path(campaign_dir) / task.name).resolve()
        status = read_status(folder) or {}
        outputs = {k: dict(v.get("outputs", {})) for k, v in status.get("steps", {}).items()}
        ctx = TaskContext(config, task, folder, outputs=outputs)
        showers, train_config = _train_inputs(ctx)
        if ensemble_supported(train_config.resolved()) is not None:
            continue
        run = RunFolder(folder / "train")
        found = run.checkpoints() if run.checkpoint_dir.is_dir() else []
        start = checkpoint_iteration(found[-1]) if found else 0
        if start >= train_config.iterations:
            continue
        layers = outputs.get("layers", {})
        width = layers.get("n_voxels") or layers.get("binning")
        member = EnsembleMember(showers, folder / "train", config=train_config)
        groups.setdefault((task.particle, width, start), []).append((task, member))
    trained = []
    for members in groups.values():
        if len(members) < 2:
            continue
        names = [t.name for t, _ in members]
        log.info("training the GANs of %s as one ensemble", ", ".join(names))
        first = members[0][1].config
        assert first is not None
        train_ensemble(first, [m for _, m in members])
        trained.append(names)
    return trained


def train_step(ctx: TaskContext) -> dict[str, Any]:
    """Train (or resume) the task's GAN in ``train/`` on the relevant-layer showers."""
    from ..train import train

    showers, config = _train_inputs(ctx)
    run_dir = ctx.folder / "train"
    result = train(config, showers, run_dir, progress=ctx.progress)
    return {
        "run_dir": ctx.relative(run_dir),
        "last_iteration": int(result.last_iteration),
        "checkpoints": len(result.checkpoints),
    }


def _select_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return config.select.model_dump(mode="json")


def select_step(ctx: TaskContext) -> dict[str, Any]:
    """Choose the best checkpoint by chi2/NDF against the training showers."""
    from ..select import select_best

    run_dir = ctx.path(ctx.output("train", "run_dir"))
    reference = ctx.path(ctx.output("layers", "showers_path"))
    result = select_best(
        ctx.stages.select, run_dir, reference_path=reference, progress=ctx.progress
    )
    chi2 = float(result.chi2_ndf)
    return {
        "best_checkpoint_path": ctx.relative(result.best_checkpoint),
        "best_iteration": int(result.best_iteration),
        # JSON has no infinity: an unusable fit (e.g. a few iterations) is recorded as null
        "chi2_ndf": chi2 if math.isfinite(chi2) else None,
        "table_path": ctx.relative(result.table_path),
        "plot_path": ctx.relative(result.plot_path),
    }


def _export_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {k: v for k, v in config.export.model_dump(mode="json").items() if "response" not in k}


def export_step(ctx: TaskContext) -> dict[str, Any]:
    """Export the selected generator to ``generator.onnx`` (with its JSON sidecar)."""
    from ..generate import export_onnx

    config = ctx.stages.export
    if config is None:
        raise StepSkipped("export disabled in the campaign (export.enabled: false)")
    run_dir = ctx.path(ctx.output("train", "run_dir"))
    out = ctx.folder / "generator.onnx"
    result = export_onnx(config, run_dir, out)
    # the files the export wrote: the model, its sidecar and a binning beside it
    files = {result.onnx_path, result.sidecar_path, result.binning_path}
    return {
        "onnx_path": ctx.relative(out),
        "files": sorted(ctx.relative(f) for f in files if f is not None),
        "weights_bytes": int(result.weights_bytes),
    }


# ----- response ------------------------------------------------------------------------------
def _response_settings(config: CampaignConfig, task: TaskSpec) -> Any:
    return {
        "energy": config.export.response_energy_mev,
        "events": config.export.response_events,
        "seed": task.seed,
    }


def response_step(ctx: TaskContext) -> dict[str, Any]:
    """Mean E_tot/E_inc of the selected generator and of the training showers at 65 GeV."""
    from ..data import read_showers
    from ..evaluate import response_summary
    from ..generate import Simulator

    energy = ctx.config.export.response_energy_mev
    n = ctx.config.export.response_events
    simulator = Simulator.load(ctx.path(ctx.output("train", "run_dir")))
    rng = np.random.default_rng(ctx.task.seed)
    try:
        generated = np.asarray(simulator.simulate(np.full(n, energy), rng), dtype=np.float64)
    except ModelError as err:  # e.g. the energy lies outside the trained range
        raise StepSkipped(f"no response at {energy:g} MeV: {err}") from err
    data = read_showers(ctx.path(ctx.output("data", "showers_path")))
    summary = response_summary(generated, data.showers, data.incident_energies, energy).to_dict()
    out = write_json(ctx.folder / "response.json", summary)
    return {"response_path": ctx.relative(out), **summary}


#: The real chain: data -> relevant layers -> train -> select -> export -> 65 GeV response.
DEFAULT_STEPS: tuple[Step, ...] = (
    Step("data", data_step, _data_settings),
    Step("layers", layers_step, _layer_settings),
    Step("train", train_step, _train_settings),
    Step("select", select_step, _select_settings),
    Step("export", export_step, _export_settings),
    Step("response", response_step, _response_settings),
)
