"""``fastcalogan bench [--quick] -o bench.json``: speed and memory against this machine's limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ._app import cli, console, progress_bar, stdout_console
from ._options import check_shower_input, events_option, output_option, seed_option


def _ints(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise ConfigError(f"{option}: expected comma-separated integers, found {text!r}") from err


@cli.group("bench", invoke_without_command=True)
@output_option("JSON file to write (bench.json); needed without a subcommand.", required=False)
@click.option("--quick", is_flag=True, help="Fewer repeats and iterations (about a minute).")
@click.option("--presets", default=None, help="Comma-separated presets (default: all three).")
@click.option("--batches", default=None, help="Generation batch sizes, e.g. 1,10,100,1000,10000.")
@click.option("--threads", default=None, help="CPU thread counts for generation, e.g. 1,2.")
@click.option("--repeats", type=int, default=None, help="Timed repeats per point (median).")
@click.option("--gemm-size", type=int, default=None, help="n of the n^3 GEMM of the peak.")
@click.option("--train-iterations", type=int, default=None, help="Timed training iterations.")
@click.option("--train-batch", type=int, default=None, help="Training batch (default: preset's).")
@click.option(
    "--ensemble-sizes",
    default=None,
    help="GANs per ensemble to time, e.g. 1,4,16 (0: skip the ensemble section).",
)
@click.option(
    "--ensemble-gan-iterations",
    type=int,
    default=None,
    help="Timed GAN iterations per ensemble size (an ensemble of K runs this / K).",
)
@click.option(
    "--fidelity-events",
    type=int,
    default=None,
    help="Showers per sample of the reduced-precision fidelity guard (0: no guard).",
)
@click.option(
    "--no-reduced-precision",
    is_flag=True,
    help="Skip the bf16/int8 generation section.",
)
@click.option("--simulate-events", type=int, default=None, help="Reference-simulator showers.")
@click.option("--rss-events", type=int, default=None, help="Showers of the RSS run (0: skip).")
@click.pass_context
def bench_cmd(
    ctx: click.Context,
    output: Path | None,
    quick: bool,
    presets: str | None,
    batches: str | None,
    threads: str | None,
    repeats: int | None,
    gemm_size: int | None,
    train_iterations: int | None,
    train_batch: int | None,
    ensemble_sizes: str | None,
    ensemble_gan_iterations: int | None,
    fidelity_events: int | None,
    no_reduced_precision: bool,
    simulate_events: int | None,
    rss_events: int | None,
) -> None:
    """Time generation (torch, onnxruntime), training and the reference simulator; write JSON.

    ``fastcalogan bench quality`` measures time to quality instead (see its --help).
    """
    if ctx.invoked_subcommand is not None:
        return
    if output is None:
        raise click.UsageError("Missing option '-o' / '--output'.")
    import pydantic
    from rich.table import Table

    from .._config import format_validation_error
    from ..bench import BenchConfig, bench, bench_table

    fields: dict[str, Any] = {
        "presets": tuple(p.strip() for p in presets.split(",") if p.strip()) if presets else None,
        "batches": _ints(batches, "--batches"),
        "threads": _ints(threads, "--threads"),
        "repeats": repeats,
        "gemm_size": gemm_size,
        "train_iterations": train_iterations,
        "train_batch": train_batch,
        "ensemble_sizes": (
            tuple(k for k in _ints(ensemble_sizes, "--ensemble-sizes") or () if k != 0)
            if ensemble_sizes is not None
            else None
        ),
        "ensemble_gan_iterations": ensemble_gan_iterations,
        "fidelity_events": fidelity_events,
        "reduced_precision": False if no_reduced_precision else None,
        "simulate_events": simulate_events,
        "rss_events": rss_events,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        config = BenchConfig.quick(**fields) if quick else BenchConfig.model_validate(fields)
    except pydantic.ValidationError as err:
        message = format_validation_error(err, BenchConfig, "bench options")
        raise ConfigError(message.replace("_", "-")) from err
    with progress_bar("bench") as update:
        result = bench(config, output, progress=update)
    table = Table(title=f"fastcalogan bench ({result.seconds:.0f} s)")
    for column in ("what", "preset", "backend", "threads", "value", "vs limit"):
        table.add_column(column)
    for row in bench_table(result.data):
        table.add_row(*row)
    stdout_console().print(table)
    load = result.data["load_average"]
    console.print(f"load average before {load['before'][0]:.2f}, after {load['after'][0]:.2f}")
    console.print(result.data["gpu"])
    click.echo(str(result.path))


@bench_cmd.command("quality")
@output_option("Folder for the samples, runs, quality.json and quality.png.")
@click.option(
    "--quick", is_flag=True, help="3 minutes per recipe, smaller samples (under 10 minutes)."
)
@click.option(
    "--recipe",
    "recipes",
    multiple=True,
    help="A recipe (preset) to train; repeat for several (default: the particle's list, "
    "fast-<particle>, fastcalogan and caloshowergan-<particle>).",
)
@click.option(
    "--particle",
    type=click.Choice(["photon", "pion"]),
    default=None,
    help="Sample of the embedded simulator, |eta| 0.20-0.25, the 15 ds1 energies (photon).",
)
@click.option("--budget", type=float, default=None, help="Training seconds per recipe (1800).")
@click.option(
    "--checkpoint-seconds", type=float, default=None, help="Seconds between checkpoints (90)."
)
@click.option(
    "--budget-clock",
    type=click.Choice(["wall", "cpu"]),
    default=None,
    help="Clock of --budget and --checkpoint-seconds: wall (default) or each training's CPU.",
)
@click.option("--threads", type=int, default=None, help="Torch threads per recipe (1).")
@click.option(
    "--jobs", type=int, default=None, help="Recipes trained at once (default: one per core)."
)
@events_option("Showers generated per energy point to score each checkpoint (10000).")
@click.option(
    "--sample-events", type=int, default=None, help="ds1 scale of the simulated samples (10000)."
)
@click.option(
    "--data", type=click.Path(path_type=Path), default=None, help="Training sample to use."
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="Independent reference sample to use (with --data).",
)
@click.option(
    "--figure-of-merit",
    type=click.Choice(["etot", "etot+layers", "extended"]),
    default=None,
    help="What selection ranks by (extended); E_tot chi2/NDF is reported for every one.",
)
@click.option(
    "--classifier-events",
    type=int,
    default=None,
    help="Showers per point for the feature classifier of the choice (3000; 0: none).",
)
@seed_option(default=None, help="Seed of the sample and the trainings (0).")
def quality_cmd(
    output: Path,
    quick: bool,
    recipes: tuple[str, ...],
    particle: str | None,
    budget: float | None,
    checkpoint_seconds: float | None,
    budget_clock: str | None,
    threads: int | None,
    jobs: int | None,
    events: int | None,
    sample_events: int | None,
    data: Path | None,
    reference: Path | None,
    figure_of_merit: str | None,
    classifier_events: int | None,
    seed: int | None,
) -> None:
    """Train recipes side by side for the same wall-clock budget and score every checkpoint.

    Writes OUTPUT/quality.json and OUTPUT/quality.png: E_tot (and layer-energy) chi2/NDF
    against an independent reference, against wall time, CPU time and iterations; per recipe
    the best E_tot chi2/NDF within the budget, when it first crossed 10, 5 and 2, and the
    feature-classifier AUC of the selected checkpoint. The last line of stdout is the JSON
    file.
    """
    import pydantic
    from rich.table import Table

    from .._config import format_validation_error
    from ..bench import QualityConfig, bench_quality, quality_table

    fields: dict[str, Any] = {
        "recipes": recipes or None,
        "particle": particle,
        "budget_seconds": budget,
        "checkpoint_seconds": checkpoint_seconds,
        "budget_clock": budget_clock,
        "threads": threads,
        "jobs": jobs,
        "events_per_point": events,
        "events": sample_events,
        "data": None if data is None else str(data),
        "reference": None if reference is None else str(reference),
        "figure_of_merit": figure_of_merit,
        "classifier_events": classifier_events,
        "seed": seed,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        config = QualityConfig.quick(**fields) if quick else QualityConfig.model_validate(fields)
    except pydantic.ValidationError as err:
        message = format_validation_error(err, QualityConfig, "bench quality options")
        raise ConfigError(message.replace("_", "-")) from err
    for path, option in ((data, "--data"), (reference, "--reference")):
        check_shower_input(path, option, "bench quality")
    with progress_bar("bench quality (recipes done)", len(config.recipe_names)) as update:
        result = bench_quality(config, output, progress=update)
    table = Table(title=f"fastcalogan bench quality ({result.seconds:.0f} s)")
    thresholds = [f"first <= {t:g}" for t in config.thresholds]
    columns = ("recipe", "iterations", "wall / CPU s", "best E_tot chi2/NDF", *thresholds)
    for column in (*columns, "chosen: E_tot", "layers", "AUC"):
        table.add_column(column)
    for row in quality_table(result.data):
        table.add_row(*row)
    stdout_console().print(table)
    console.print(f"plot {result.plot_path}")
    click.echo(str(result.json_path))
