"""`fastcalogan voxelise HITS -o SHOWERS` and its inverse `fastcalogan invert SHOWERS -o HITS`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import Any

import click

from ._app import cli
from ._app import progress_bar as _progress_bar
from ._options import (
    Command,
    binning_option,
    config_option,
    output_option,
    particle_option,
    set_option,
)


class _LazyProgress:
    """A progress bar drawn from the first progress report on, so early errors stay one line."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._stack = contextlib.ExitStack()
        self._update: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._update is None:
            self._update = self._stack.enter_context(_progress_bar(self._description, total))
        self._update(done, total)

    def __enter__(self) -> _LazyProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.__exit__(exc_type, exc, tb)


def _config_data(config_path: Path | None, model: type[Any]) -> dict[str, Any]:
    from .._config import load

    if config_path is None:
        return {}
    return dict(load(config_path, model).model_dump(exclude_unset=True))


@cli.command("voxelise", cls=Command, renamed={"--out": "--output"})
@click.argument("hits", type=click.Path(path_type=Path))
@output_option("Shower file to write (CaloChallenge HDF5).")
@binning_option(
    required=False,
    help="Geometry: ds1-photons, ds1-pions, or a .xml/.yaml binning file "
    "(default: the built-in binning of the hit file's particle).",
)
@particle_option("Particle label of the output (default: the hit file's).")
@click.option(
    "--relevant-layers/--all-layers",
    default=None,
    help="Keep only FastCaloGAN's relevant layers (>= 0.1 % of the 1 TeV sample's energy, "
    "and every layer in front of one).",
)
@click.option("--chunk-events", type=int, default=None, help="Showers per block.")
@config_option("voxelisation")
@set_option("relevant_threshold=0.002")
def voxelise_cmd(
    hits: Path,
    output: Path,
    binning: str | None,
    particle: str | None,
    relevant_layers: bool | None,
    chunk_events: int | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Voxelise a hit file HITS into a CaloChallenge shower file.

    Energy beyond each layer's last r edge is counted as leakage and reported; a JSON summary
    (OUTPUT with suffix .voxelise.json) is written next to the output. The inverse, voxels back
    to hits, is `fastcalogan invert SHOWERS -o HITS`.
    """
    from .._config import apply_overrides, parse
    from ..voxelise import VoxeliseConfig, voxelise

    data = _config_data(config_path, VoxeliseConfig)
    cli_values = {
        "binning": binning,
        "particle": particle,
        "relevant_layers": relevant_layers,
        "chunk_events": chunk_events,
    }
    data.update({k: v for k, v in cli_values.items() if v is not None})
    config = parse(
        apply_overrides(data, overrides), VoxeliseConfig, str(config_path or "command line")
    )
    with _LazyProgress("voxelise") as update:
        result = voxelise(config, hits, output, progress=update)
    click.echo(str(result.out_path))
    click.echo(
        f"{result.n_events} events, {result.n_voxels} voxels ({result.binning}, layers "
        f"{','.join(map(str, result.layer_ids))})"
    )
    per_layer = ", ".join(
        f"{i}: {100 * f:.3g} %" for i, f in result.leakage_fraction_per_layer.items()
    )
    click.echo(f"leakage fraction {100 * result.leakage_fraction:.4g} % ({per_layer})")
    if result.unbinned_fraction > 0:
        click.echo(f"energy in layers without voxels {100 * result.unbinned_fraction:.4g} %")
    click.echo(f"summary: {result.summary_path}")


@cli.command("invert", cls=Command, renamed={"--out": "--output"})
@click.argument("showers", type=click.Path(path_type=Path))
@output_option("Hit file to write.")
@binning_option(required=False)
@config_option("inversion")
@set_option("step_mm=2.5")
def invert_cmd(
    showers: Path,
    output: Path,
    binning: str | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Turn a CaloChallenge shower file SHOWERS back into hits (the inverse of voxelise).

    Each voxel's energy is spread uniformly on a grid of 1 mm (EMB1/EME1) or 5 mm cells along
    r and along the arc, at most 10 x 10 points per voxel; re-voxelising gives the voxels back.
    """
    from .._config import apply_overrides, parse
    from ..voxelise import InvertConfig, invert_showers

    data = _config_data(config_path, InvertConfig)
    config = parse(
        apply_overrides(data, overrides), InvertConfig, str(config_path or "command line")
    )
    with _LazyProgress("invert") as update:
        result = invert_showers(config, showers, output, binning=binning, progress=update)
    click.echo(str(result.out_path))
    click.echo(
        f"{result.n_events} events, {result.n_hits} hits, {result.total_energy_mev:.6g} MeV "
        f"({result.binning})"
    )
