"""``fastcalogan simulate``: reference showers in a detector's file layout (and barrel hits)."""

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

#: The simulator's detectors and file layouts, spelled out so that ``--help`` imports no
#: physics (a test keeps them equal to ``simulate.DETECTORS`` and ``simulate.config.LAYOUTS``).
DETECTOR_CHOICES = ("atlas-barrel", "calogan", "lhcb-ecal", "atlas-cells")
LAYOUT_CHOICES = ("calochallenge", "calogan", "lhcb", "atlas-cells")


@cli.command("simulate")
@click.option(
    "--detector",
    type=click.Choice(DETECTOR_CHOICES),
    default="atlas-barrel",
    show_default=True,
    help="Detector: atlas-barrel (ATLAS barrel samplings, polar voxels; the default), calogan "
    "(three-layer Pb/LAr cube), lhcb-ecal (shashlik, 30x30 cells), atlas-cells (ATLAS EM "
    "barrel cells around the impact cell).",
)
@particle_option("photon, electron, positron, pion, proton, antiproton, ...", required=True)
@click.option(
    "--eta",
    nargs=2,
    type=float,
    default=None,
    help="|eta| slice (eta_min eta_max) of atlas-barrel and atlas-cells, 0..1.4 "
    "[default: 0.20 0.25].",
)
@energies_option(
    "'ds1' (the 15 points 2^8..2^22 MeV of dataset 1, with its counts: a line says how "
    "many) or comma-separated MeV; default: the detector's (atlas-barrel ds1, atlas-cells "
    "2^0..2^8 GeV)."
)
@click.option(
    "--energy-range",
    nargs=2,
    type=float,
    default=None,
    help="E_min E_max in GeV: --events energies drawn uniformly (default of calogan 1 100, "
    "lhcb-ecal 2 100).",
)
@events_option(
    "Events per point (energy list), in all (energy range), or with ds1 the dataset-1 scale "
    "(10000 = the dataset-1 counts: 10k per point up to 262 GeV, then fewer).",
    default=10_000,
    show_default=True,
)
@output_option("Shower file to write (the detector's layout, see --layout).")
@click.option(
    "--layout",
    type=click.Choice(LAYOUT_CHOICES),
    default=None,
    help="File layout (default: the detector's: calochallenge, calogan, lhcb, atlas-cells).",
)
@click.option(
    "--transverse",
    type=click.Choice(["integrate", "spots"]),
    default="integrate",
    show_default=True,
    help="Integrate the lateral profile over voxels/cells (fast) or draw spots and bin them.",
)
@click.option(
    "--hits",
    "hits",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the hit-level file here (atlas-barrel only).",
)
@seed_option()
@click.option(
    "--batch-size", type=int, default=1024, show_default=True, help="Events per random stream."
)
@binning_option(
    required=False,
    help="Geometry: a built-in name or a .xml/.yaml file (default: the detector's; for "
    "atlas-barrel the particle's dataset-1 binning).",
)
def simulate_cmd(
    detector: str,
    particle: str,
    eta: tuple[float, float] | None,
    energies: str | None,
    energy_range: tuple[float, float] | None,
    events: int,
    output: Path,
    layout: str | None,
    transverse: str,
    hits: Path | None,
    seed: int,
    batch_size: int,
    binning: str | None,
) -> None:
    """Simulate reference showers with the physics-based parametric simulator.

    Examples: fastcalogan simulate --particle photon --eta 0.20 0.25 --energies ds1
    --events 10000 -o photons.h5;
    fastcalogan simulate --detector calogan --particle positron --energy-range 1 100
    --events 10000 -o eplus.h5
    """
    from .._config import parse
    from ..simulate import SimulateConfig, simulate

    values: dict[str, Any] = {
        "detector": detector,
        "particle": particle,
        "events": events,
        "seed": seed,
        "batch_size": batch_size,
        "binning": binning,
        "transverse": transverse,
        "layout": layout,
        "hits": hits is not None,
    }
    if eta is not None:
        values["eta_min"], values["eta_max"] = eta
    if energies is not None:
        values["energies"] = parse_energies(energies)
    if energy_range is not None:
        values["energy_range"] = [1000.0 * energy_range[0], 1000.0 * energy_range[1]]
    config = parse(values, SimulateConfig, source="command line")
    if config.energies == "ds1":
        console.print(ds1_note(config.events), markup=False, highlight=False)
    output.parent.mkdir(parents=True, exist_ok=True)
    with progress_bar(f"simulating {config.particle} in {config.detector}") as update:
        result = simulate(config, output, hits_path=hits, progress=update)
    console.print(
        f"wrote {result.n_events} {config.particle} showers ({result.n_points} energy points, "
        f"detector {result.detector}, geometry {result.binning}, layout {result.layout}) "
        f"to {result.showers_path}"
    )
    if result.hits_path is not None:
        console.print(f"hits: {result.hits_path}")
    console.print(f"time: {result.seconds:.1f} s")
