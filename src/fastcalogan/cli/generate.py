"""``fastcalogan generate RUN_DIR``: write showers from a trained run."""

from __future__ import annotations

from pathlib import Path

import click

from .._config import parse
from ..errors import ConfigError
from ..generate import GenerateConfig, generate, generate_onnx
from ._app import cli, console


def _energies(text: str) -> list[float]:
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ConfigError(
            f"--energies: expected comma-separated MeV values, found {text!r}"
        ) from err


@cli.command("generate")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True), required=False)
@click.option("--energies", required=True, help="Comma-separated incident energies in MeV.")
@click.option("-n", "--n-events", type=int, default=1000, show_default=True, help="Per energy.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=int, default=10_000, show_default=True)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto")
@click.option("--particle", default=None, help="Particle to simulate (default: the trained one).")
@click.option("--checkpoint", type=click.Path(path_type=Path), default=None)
@click.option(
    "--onnx",
    "onnx_path",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Run an exported model (fastcalogan export) with onnxruntime instead of RUN_DIR.",
)
def generate_cmd(
    run_dir: Path | None,
    energies: str,
    n_events: int,
    output: Path,
    seed: int,
    batch_size: int,
    device: str,
    particle: str | None,
    checkpoint: Path | None,
    onnx_path: Path | None,
) -> None:
    """Generate showers at the given energies into a CaloChallenge HDF5 file."""
    config = parse(
        {
            "energies": _energies(energies),
            "n_events": n_events,
            "seed": seed,
            "batch_size": batch_size,
            "device": device,
            "particle": particle,
            "checkpoint": str(checkpoint) if checkpoint else None,
        },
        GenerateConfig,
        "command line",
    )
    if (run_dir is None) == (onnx_path is None):
        raise ConfigError("give either RUN_DIR or --onnx MODEL.onnx (exactly one)")
    if onnx_path is not None:
        result = generate_onnx(config, onnx_path, output)
    else:
        assert run_dir is not None
        result = generate(config, run_dir, output)
    console.print(
        f"{result.n_events} showers in {result.seconds:.2f} s "
        f"({result.showers_per_s:.0f} showers/s) from {', '.join(map(str, result.checkpoints))}"
    )
    click.echo(str(result.path))
