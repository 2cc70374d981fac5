"""``fastcalogan simulate``: reference showers in the CaloChallenge layout (and hits)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._app import cli, console, progress_bar
from ._options import (
    binning_option,
    ds1_note,
    energies_option,
    events_option,
    output_option,
    parse_energies,
    particle_option,
    seed_option,
)


@cli.command("simulate")
@particle_option("photon, electron, pion, proton, antiproton, ...", required=True)
@click.option(
    "--eta",
    nargs=2,
    type=float,
    default=(0.20, 0.25),
    show_default=True,
    help="|eta| slice (eta_min eta_max), barrel 0..1.4.",
)
@energies_option(
    "'ds1' (the 15 points 2^8..2^22 MeV of dataset 1, with its counts: a line says how "
    "many) or comma-separated MeV.",
    default="ds1",
)
@events_option(
    "Events per energy point, or with ds1 the dataset-1 scale (10000 = the dataset-1 "
    "counts: 10k per point up to 262 GeV, then fewer).",
    default=10_000,
    show_default=True,
)
@output_option("Shower file to write (CaloChallenge HDF5).")
@click.option(
    "--hits",
    "hits",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the hit-level file here.",
)
@seed_option()
@click.option(
    "--batch-size", type=int, default=1024, show_default=True, help="Events per random stream."
)
@binning_option(
    required=False,
    help="Geometry: ds1-photons, ds1-pions, or a .xml/.yaml file (default: the built-in "
    "one of the particle).",
)
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
    from .._config import parse
    from ..simulate import SimulateConfig, simulate

    values: dict[str, Any] = {
        "particle": particle,
        "eta_min": eta[0],
        "eta_max": eta[1],
        "energies": parse_energies(energies),
        "events": events,
        "seed": seed,
        "batch_size": batch_size,
        "binning": binning,
        "hits": hits is not None,
    }
    config = parse(values, SimulateConfig, source="command line")
    if config.energies == "ds1":
        console.print(ds1_note(config.events), markup=False, highlight=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    with progress_bar(f"simulating {config.particle}") as update:
        result = simulate(config, output, hits_path=hits, progress=update)
    console.print(
        f"wrote {result.n_events} {config.particle} showers ({result.n_points} energy points, "
        f"binning {result.binning}) to {result.showers_path}"
    )
    if result.hits_path is not None:
        console.print(f"hits: {result.hits_path}")
    console.print(f"time: {result.seconds:.1f} s")
