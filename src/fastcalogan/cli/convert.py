"""``fastcalogan convert IN... -o OUT [--to FORMAT]``: between the layouts the toolkit reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._app import cli, console
from ._options import binning_option, output_option, particle_option
from .voxelise import _LazyProgress


@cli.command("convert")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_option("File to write.")
@click.option(
    "--to",
    "to",
    default="calochallenge",
    show_default=True,
    help="Output format: calochallenge (a shower file carrying its geometry, what every "
    "command reads) or hits (voxels spread back onto hits); see the formats above.",
)
@click.option(
    "--from",
    "input_format",
    default=None,
    help="Input format (default: recognised from the files).",
)
@binning_option(
    required=False,
    help="Geometry: ds1-photons, ds1-pions, or a .xml/.yaml file (default: the one the input "
    "carries or names; ATLAS CSV: the particle's built-in, else the one with the row's "
    "voxel count).",
)
@particle_option(
    "Particle of the output (default: the input's; ATLAS CSV: pidNN in the file name)."
)
@click.option(
    "--eta",
    nargs=2,
    type=float,
    default=None,
    help="|eta| slice (eta_min eta_max) of the output (default: the input's; ATLAS CSV: "
    "eta_AA_BB in the file name, in units of 0.01).",
)
@click.option(
    "--energy",
    "energy_mev",
    type=float,
    default=None,
    help="Energy point in MeV of a single ATLAS CSV file whose name lacks _E<MeV>_.",
)
@click.option(
    "--relevant-layers",
    is_flag=True,
    help="Hits -> showers: keep only FastCaloGAN's relevant layers (as voxelise does).",
)
def convert_cmd(
    inputs: tuple[Path, ...],
    output: Path,
    to: str,
    input_format: str | None,
    binning: str | None,
    particle: str | None,
    eta: tuple[float, float] | None,
    energy_mev: float | None,
    relevant_layers: bool,
) -> None:
    """Convert INPUTS into another layout, through a CaloChallenge shower file.

    INPUTS is one shower or hit file, or the ATLAS CSV files of one particle and |eta| slice
    (one per energy point; or the folder holding them). Formats:

    \b
      calochallenge  CaloChallenge HDF5 shower file (read, write); any layout the
                     shower readers recognise comes in here
      hits           hit file: r, alpha, layer, energy per hit (read: voxelise;
                     write: voxels -> hits)
      atlas-csv      ATLAS open-data CSV, one file per energy point (read)
      ...            layouts registered with fastcalogan.convert.register_format

    Examples:

    \b
      fastcalogan convert pid22_E*_eta_20_25.csv -o photons.h5
      fastcalogan convert hits.h5 -o showers.h5 --binning ds1-photons
      fastcalogan convert showers.h5 --to hits -o hits.h5
    """
    from .._config import parse
    from ..convert import ConvertConfig, convert

    values: dict[str, Any] = {
        "to": to,
        "input_format": input_format,
        "binning": binning,
        "particle": particle,
        "eta": eta,
        "energy_mev": energy_mev,
        "relevant_layers": relevant_layers,
    }
    config = parse({k: v for k, v in values.items() if v is not None}, ConvertConfig, "options")
    with _LazyProgress("convert") as update:
        result = convert(config, inputs, output, progress=update)
    console.print(
        f"{result.input_format} -> {result.output_format}: {result.n_events} events from "
        f"{len(result.inputs)} file(s) in {result.seconds:.1f} s",
        markup=False,
        highlight=False,
    )
    click.echo(str(result.out_path))
