"""``fastcalogan generate RUN_DIR``: write showers from a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._config import parse
from ..errors import ConfigError
from ..generate import GenerateConfig, ds1_summary, generate, generate_onnx
from ._app import cli, console


def _energies(text: str) -> str | list[float]:
    if text.strip().lower() == "ds1":
        return "ds1"
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ConfigError(
            f"--energies: expected 'ds1' or comma-separated MeV values, found {text!r}"
        ) from err


def _conditions(items: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError(item)
            out[name.strip()] = float(value)
        except ValueError as err:
            raise ConfigError(
                f"--condition: expected NAME=VALUE (e.g. px=1500 or phi_alignment=2), "
                f"found {item!r}"
            ) from err
    return out


@cli.command("generate")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True), required=False)
@click.option(
    "--energies",
    default=None,
    help="Comma-separated incident energies in MeV, or 'ds1' (the 15 dataset-1 points with "
    "dataset-1 counts scaled by -n / 10000, as in simulate).",
)
@click.option(
    "--like",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=None,
    help="Generate one shower per event of this shower file, with its incident energy and "
    "conditions, in its order (instead of --energies).",
)
@click.option(
    "--condition",
    "conditions",
    multiple=True,
    metavar="NAME=VALUE",
    help="A condition of a conditioned model, the same for every event (repeat per "
    "condition; with --energies).",
)
@click.option(
    "-n",
    "--n-events",
    type=int,
    default=None,
    help="Showers per energy (default 1000); with ds1 the dataset-1 scale, as in simulate "
    "(default 10000 = the dataset-1 counts).",
)
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
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16"]),
    default="fp32",
    show_default=True,
    help="bf16: the generator's matrix products in bfloat16 (torch; about 1.9x the fp32 "
    "throughput on an AVX-512 BF16 CPU). For onnxruntime, export with --precision int8.",
)
def generate_cmd(
    run_dir: Path | None,
    energies: str | None,
    like: Path | None,
    conditions: tuple[str, ...],
    n_events: int | None,
    output: Path,
    seed: int,
    batch_size: int,
    device: str,
    particle: str | None,
    checkpoint: Path | None,
    onnx_path: Path | None,
    precision: str,
) -> None:
    """Generate showers at the given energies (or like a reference file) into a
    CaloChallenge HDF5 file."""
    if (energies is None) == (like is None):
        raise ConfigError("give --energies or --like REF.h5 (exactly one)")
    if like is not None and n_events is not None:
        raise ConfigError("-n does not apply to --like (one shower per reference event)")
    values: dict[str, Any] = {
        "energies": None if energies is None else _energies(energies),
        "like": None if like is None else str(like),
        "conditions": _conditions(conditions),
        "seed": seed,
        "batch_size": batch_size,
        "device": device,
        "particle": particle,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "precision": precision,
    }
    if n_events is not None:
        values["n_events"] = n_events
    elif values["energies"] == "ds1":
        values["n_events"] = 10_000  # the dataset-1 counts, as simulate's default
    config = parse(values, GenerateConfig, "command line")
    if (run_dir is None) == (onnx_path is None):
        raise ConfigError("give either RUN_DIR or --onnx MODEL.onnx (exactly one)")
    if config.energies == "ds1":
        console.print(ds1_summary(config.n_events / 10_000))
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
