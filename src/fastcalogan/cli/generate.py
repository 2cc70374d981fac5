"""``fastcalogan generate RUN_DIR``: write showers from a trained run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import ConfigError
from ._app import cli, console
from ._options import (
    Command,
    device_option,
    ds1_note,
    energies_option,
    events_option,
    output_option,
    parse_energies,
    particle_option,
    seed_option,
)


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


@cli.command("generate", cls=Command, renamed={"--n-events": "--events"})
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True), required=False)
@energies_option(
    "Incident energies: comma-separated MeV, or 'ds1' (the 15 dataset-1 points with the "
    "dataset-1 counts scaled by -n / 10000, as in simulate; a line says how many)."
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
@events_option(
    "Showers per energy (default 1000); with ds1 the dataset-1 scale, as in simulate "
    "(default 10000 = the dataset-1 counts)."
)
@output_option("Shower file to write (CaloChallenge HDF5).")
@seed_option(help="Noise seed; the same seed gives the same showers.")
@click.option(
    "--batch-size",
    type=int,
    default=10_000,
    show_default=True,
    help="Showers per generator pass.",
)
@device_option()
@particle_option("Particle to simulate (default: the trained one; hadrons share a model).")
@click.option(
    "--checkpoint",
    type=click.Path(path_type=Path),
    default=None,
    help="Use this checkpoint instead of the selected one (else the latest).",
)
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
    help="bf16: the generator's matrix products in bfloat16 (torch; 2.1-2.3x the fp32 "
    "throughput of the wide CaloShowerGAN generators on an AVX-512 BF16 CPU, little for "
    "small ones). For onnxruntime, export with --precision int8.",
)
def generate_cmd(
    run_dir: Path | None,
    energies: str | None,
    like: Path | None,
    conditions: tuple[str, ...],
    events: int | None,
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
    CaloChallenge HDF5 file.

    Example: fastcalogan generate runs/photons --energies 1024,65536 -n 1000 -o gen.h5
    """
    if (energies is None) == (like is None):
        raise ConfigError("give --energies or --like REF.h5 (exactly one)")
    if like is not None and events is not None:
        raise ConfigError("-n does not apply to --like (one shower per reference event)")
    from .._config import parse
    from ..generate import GenerateConfig, generate, generate_onnx

    values: dict[str, Any] = {
        "energies": None if energies is None else parse_energies(energies),
        "like": None if like is None else str(like),
        "conditions": _conditions(conditions),
        "seed": seed,
        "batch_size": batch_size,
        "device": device,
        "particle": particle,
        "checkpoint": str(checkpoint) if checkpoint else None,
        "precision": precision,
    }
    if events is not None:
        values["n_events"] = events
    elif values["energies"] == "ds1":
        values["n_events"] = 10_000  # the dataset-1 counts, as simulate's default
    config = parse(values, GenerateConfig, "command line")
    if (run_dir is None) == (onnx_path is None):
        raise ConfigError("give either RUN_DIR or --onnx MODEL.onnx (exactly one)")
    if config.energies == "ds1":
        console.print(ds1_note(config.n_events), markup=False, highlight=False)
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
