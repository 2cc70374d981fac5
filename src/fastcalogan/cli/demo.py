"""``fastcalogan demo``: the whole chain on the embedded reference simulator.

simulate (training and an independent reference sample, photons at |eta| 0.20-0.25, the 15
dataset-1 energy points) -> voxelise a small hit-level sample -> train a short run of the
fast recipe (``fast-photon``: energy flow + shape GAN, ``docs/fast-recipe.md``; ``--preset
fastcalogan`` trains the paper's recipe instead) -> select the best checkpoint by chi2 ->
export it to ONNX -> generate -> evaluate and write the HTML report.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import click

from ._app import cli, console, progress_bar, stdout_console
from ._options import Command, output_option, seed_option

#: Presets the demo trains (photons): the fast recipe (default) and the paper's.
_PRESETS = ("fast-photon", "fastcalogan")
#: Iterations of the full demo per preset (the fast recipe's take longer each).
_ITERATIONS = {"fast-photon": 1000, "fastcalogan": 1500}

#: Settings of the full demo and of ``--quick`` (the end-to-end smoke test).
_SETTINGS: dict[str, dict[str, int]] = {
    "full": {
        "events": 1000,
        "hit_events": 200,
        "iterations": 1500,
        "checkpoint_every": 250,
        "injection_every": 50,
        "select_events": 2000,
        "generate_events": 1000,
    },
    "quick": {
        "events": 20,
        "hit_events": 5,
        "iterations": 3,
        "checkpoint_every": 1,
        "injection_every": 1,
        "select_events": 20,
        "generate_events": 20,
        # the tiny sample (242 events) is smaller than the fast recipe's batch of 256
        "batch_size": 32,
    },
}


@cli.command("demo", cls=Command, renamed={"--out": "--output"})
@output_option(
    "Folder for every output of the demo.",
    required=False,
    default=Path("demo-output"),
    show_default=True,
)
@click.option("--quick", is_flag=True, help="Tiny sizes: checks the chain in seconds.")
@click.option(
    "--preset",
    type=click.Choice(_PRESETS),
    default=_PRESETS[0],
    show_default=True,
    help="Recipe to train: fast-photon (energy flow + shape GAN) or fastcalogan (the paper's).",
)
@click.option(
    "--iterations",
    type=int,
    default=None,
    help="Training iterations (default 1000 for fast-photon, 1500 for fastcalogan).",
)
@seed_option(default=1, help="Seed of every step (simulation, training, generation).")
def demo_cmd(output: Path, quick: bool, preset: str, iterations: int | None, seed: int) -> None:
    """Run simulate -> voxelise -> train -> select -> export -> generate -> evaluate (photons)."""
    from rich.table import Table

    from .._fileio import PathPlan, write_json
    from ..data import DS1_ENERGIES, ds1_event_counts
    from ..evaluate import EvaluateConfig, evaluate
    from ..generate import ExportConfig, GenerateConfig, export_onnx, generate
    from ..report import write_report
    from ..select import SelectConfig, select_best
    from ..simulate import SimulateConfig, simulate
    from ..train import TrainConfig, train
    from ..voxelise import VoxeliseConfig, voxelise

    out_dir = output
    s = dict(_SETTINGS["quick" if quick else "full"])
    if not quick:
        s["iterations"] = _ITERATIONS[preset]
    if iterations is not None:
        s["iterations"] = iterations
    PathPlan().write(out_dir, "demo folder", folder=True).check()
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    timings: dict[str, float] = {}

    def step(name: str) -> Any:
        timings[name] = time.perf_counter()
        console.print(f"[bold]{name}[/bold]")

    def done(name: str) -> None:
        timings[name] = time.perf_counter() - timings[name]

    sim: dict[str, Any] = {
        "particle": "photon",
        "eta_min": 0.20,
        "eta_max": 0.25,
        "energies": "ds1",
    }
    step("simulate")
    n_total = int(ds1_event_counts(s["events"] / 10_000).sum())
    with progress_bar("simulate training sample", n_total) as update:
        training = simulate(
            SimulateConfig(**sim, events=s["events"], seed=seed),
            out_dir / "photons.h5",
            progress=update,
        )
    with progress_bar("simulate reference sample", n_total) as update:
        reference = simulate(
            SimulateConfig(**sim, events=s["events"], seed=seed + 1000),
            out_dir / "reference.h5",
            progress=update,
        )
    done("simulate")

    step("voxelise")
    hit_cfg: dict[str, Any] = {
        **sim,
        "energies": [65536.0],
        "events": s["hit_events"],
        "seed": seed + 2000,
    }
    simulate(
        SimulateConfig(**hit_cfg, hits=True),
        out_dir / "hits-65GeV-simulated.h5",
        hits_path=out_dir / "hits-65GeV.h5",
    )
    hits_path = out_dir / "hits-65GeV.h5"
    vox = voxelise(
        VoxeliseConfig(binning="ds1-photons"), hits_path, out_dir / "hits-65GeV-voxels.h5"
    )
    done("voxelise")

    step("train")
    config = TrainConfig(
        preset=preset,
        iterations=s["iterations"],
        checkpoint_every=s["checkpoint_every"],
        injection_every=s["injection_every"],
        log_every=max(1, s["checkpoint_every"] // 5),
        seed=seed,
        batch_size=s.get("batch_size"),
        objective=_objective(preset, s["iterations"]),
    )
    with progress_bar("train", config.iterations) as update:
        trained = train(config, training.showers_path, out_dir / "run", progress=update)
    done("train")

    step("select")
    with progress_bar("select", len(trained.checkpoints)) as update:
        selected = select_best(
            SelectConfig(events_per_point=s["select_events"]),
            trained.run_dir,
            reference_path=reference.showers_path,
            progress=update,
        )
    done("select")

    step("export")
    exported = export_onnx(ExportConfig(), trained.run_dir, out_dir / "generator.onnx")
    done("export")

    step("generate")
    generated = generate(
        GenerateConfig(
            energies=tuple(float(e) for e in DS1_ENERGIES), n_events=s["generate_events"], seed=seed
        ),
        trained.run_dir,
        out_dir / "generated.h5",
    )
    done("generate")

    step("evaluate")
    eval_config = EvaluateConfig(particle="photon")
    with progress_bar("evaluate") as update:
        evaluated = evaluate(
            eval_config,
            reference.showers_path,
            generated.path,
            out_dir / "report",
            progress=update,
            reporter=functools.partial(
                write_report,
                title=f"demo: {preset} ({config.family}), photons |eta| 0.20-0.25",
            ),
        )
    done("evaluate")

    best = next(r for r in selected.rows if r.iteration == selected.best_iteration)
    table = Table(title=f"chi2/NDF of E_tot per energy point, checkpoint {selected.best_iteration}")
    table.add_column("E_inc [MeV]", justify="right")
    table.add_column("chi2/NDF", justify="right")
    for point in best.points:
        table.add_row(f"{point.energy:.0f}", f"{point.chi2_ndf:.2f}")
    table.add_row("total", f"{selected.chi2_ndf:.2f}")
    stdout_console().print(table)

    wall = time.perf_counter() - t0
    summary = {
        "preset": preset,
        "family": config.family,
        "wall_seconds": wall,
        "timings_seconds": timings,
        "settings": s,
        "training_file": str(training.showers_path),
        "reference_file": str(reference.showers_path),
        "hit_file": str(hits_path),
        "voxelised_hits": str(vox.out_path),
        "hit_leakage_fraction": vox.leakage_fraction,
        "run_dir": str(trained.run_dir),
        "iterations_per_s": trained.iterations_per_s,
        "best_checkpoint": str(selected.best_checkpoint),
        "best_iteration": selected.best_iteration,
        "chi2_ndf": selected.chi2_ndf,
        "onnx": str(exported.onnx_path),
        "onnx_bytes": exported.weights_bytes,
        "generated_file": str(generated.path),
        "report": str(evaluated.report_path),
        "metrics": str(evaluated.metrics_path),
        "headline": dict(evaluated.headline),
    }
    write_json(out_dir / "demo.json", summary)
    click.echo(f"training showers:  {training.showers_path} ({training.n_events} events)")
    click.echo(f"reference showers: {reference.showers_path} ({reference.n_events} events)")
    click.echo(
        f"hits -> voxels:    {hits_path} -> {vox.out_path} "
        f"(leakage {100 * vox.leakage_fraction:.2f} %)"
    )
    click.echo(
        f"training run:      {trained.run_dir} ({preset}, {config.family}; "
        f"{trained.iterations_per_s:.2f} it/s)"
    )
    click.echo(f"selection:         {selected.table_path} and {selected.plot_path}")
    click.echo(f"ONNX generator:    {exported.onnx_path} ({exported.weights_bytes / 1e6:.2f} MB)")
    click.echo(f"generated showers: {generated.path}")
    click.echo(f"report:            {evaluated.report_path}")
    click.echo(f"summary:           {out_dir / 'demo.json'}")
    click.echo(f"demo finished in {wall:.0f} s")


def _objective(preset: str, iterations: int) -> dict[str, Any]:
    """The fast recipe's schedule scaled to the demo's length: the flow trains during the
    first half, the GAN's learning rate decays over the whole run."""
    if preset != "fast-photon":
        return {}
    return {
        "flow_steps": max(1, iterations // 2),
        "gan_decay_iterations": iterations,
        "fit_events": 5000,
    }
