"""``fastcalogan simulate``: reference showers in the CaloChallenge layout (and hits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._config import parse
from ..errors import ConfigError
from ..simulate import SimulateConfig, simulate
from ._app import LazyProgress, cli, console
from ._options import binning_option


def _parse_energies(text: str) -> str | list[float]:
    if text.strip().lower() == "ds1":
        return "ds1"
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ConfigError(
            f"--energies: expected 'ds1' or a comma list of MeV (e.g. 1024,65536), found '{text}'"
        ) from err


@cli.command("simulate")
@click.option("--particle", required=True, help="photon, electron, pion, proton, antiproton, ...")
@click.option(
    "--eta",
    nargs=2,
    type=float,
    default=(0.20, 0.25),
    show_default=True,
    help="|eta| slice (eta_min eta_max), barrel 0..1.4.",
)
@click.option(
    "--energies",
    default="ds1",
    show_default=True,
    help="'ds1' (15 points 2^8..2^22 MeV) or a comma list of MeV.",
)
@click.option(
    "--events",
    type=int,
    default=10_000,
    show_default=True,
    help="Events per point (list) or the ds1 scale (10000 = dataset 1).",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path),
    help="Shower file to write (CaloChallenge HDF5).",
)
@click.option(
    "--hits",
    "hits",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the hit-level file here.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--batch-size", type=int, default=1024, show_default=True, help="Events per random stream."
)
@binning_option(required=False)
def simulate_cmd(
    particle: str,
    eta: tuple[float, float],
    energies: str,
    events: int,
    output: Path,
    hits: Path | None,
    seed: int,
    batch_size: int,
    binning: str | None,
) -> None:
    """Simulate reference showers with the physics-based parametric simulator.

    Example: fastcalogan simulate --particle photon --eta 0.20 0.25 --energies ds1
    --events 10000 -o photons.h5
    """
    values: dict[str, Any] = {
        "particle": particle,
        "eta_min": eta[0],
        "eta_max": eta[1],
        "energies": _parse_energies(energies),
        "events": events,
        "seed": seed,
        "batch_size": batch_size,
        "binning": binning,
        "hits": hits is not None,
    }
    config = parse(values, SimulateConfig, source="command line")
    with LazyProgress(f"simulating {config.particle}") as update:
        result = simulate(config, output, hits_path=hits, progress=update)
    console.print(
        f"wrote {result.n_events} {config.particle} showers ({result.n_points} energy points, "
        f"binning {result.binning}) to {result.showers_path}"
    )
    if result.hits_path is not None:
        console.print(f"hits: {result.hits_path}")
    console.print(f"time: {result.seconds:.1f} s")
