"""``fastcalogan bench [--quick] -o bench.json``: speed and memory against this machine's limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ._app import cli, console, progress_bar, stdout_console
from ._options import output_option


def _ints(text: str | None, option: str) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise ConfigError(f"{option}: expected comma-separated integers, found {text!r}") from err


@cli.command("bench")
@output_option("JSON file to write (bench.json).")
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
def bench_cmd(
    output: Path,
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
    """Time generation (torch, onnxruntime), training and the reference simulator; write JSON."""
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
