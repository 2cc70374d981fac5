"""``fastcalogan inspect FILE``: what a shower or hit file holds."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import DataFormatError
from ._app import cli, stdout_console
from ._options import binning_option, check_shower_input, particle_option, resolve_binning

#: Up to this many layers, the layer fractions are columns of the per-energy table.
_MAX_LAYER_COLUMNS = 8


@cli.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@binning_option(required=False)
@particle_option("Particle of the binning (XML files with several).")
def inspect_cmd(path: Path, binning: str | None, particle: str | None) -> None:
    """Summarise a shower file (any layout: CaloChallenge, CaloGAN, LHCb HDF5 or npz, ATLAS
    cells) or a hit file.

    Prints events per energy point, the voxel count, mean E_tot/E_inc and the mean energy
    fraction of each layer per energy point, and the range of each per-event condition. A
    shower file's geometry is the one it carries, else the one its attributes name, else the
    built-in with its voxel count (--binning overrides).
    """
    import h5py
    from rich.table import Table

    from ..data import detect_layout, read_hits, read_shower_attrs, read_showers
    from ..data.inspect import summarise_hits, summarise_showers

    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    check_shower_input(path, "FILE", "inspect", reads_hits=True)
    layout = detect_layout(path)
    is_hits = False
    if layout == "calochallenge":
        try:
            with h5py.File(path, "r") as f:
                is_hits = "hits" in f
        except OSError as err:
            raise DataFormatError(f"{path}: cannot open as HDF5 ({err})") from err
    if is_hits:
        summary = summarise_hits(read_hits(path))
        title = f"{path} (hits)"
        about = ""
    else:
        attrs = read_shower_attrs(path)
        b = resolve_binning(binning, particle, attrs, source=str(path))
        # no deposit ceiling: inspecting a doubtful file (an untrained generator's output)
        # should show its E_tot/E_inc, not refuse it; the other readers keep the check
        summary = summarise_showers(read_showers(path, binning=b, max_deposit_ratio=None), b)
        title = f"{path} ({b.name}, {b.n_voxels} voxels)"
        about = f"; geometry {b.name} ({b.kind}, {b.n_layers} layers); layout {layout}"
    names = summary["layer_names"]
    # a few layers fit as columns; many (45 in CaloChallenge datasets 2 and 3) get a table of
    # their own, one row per layer
    wide = len(names) <= _MAX_LAYER_COLUMNS
    table = Table(title=title)
    table.add_column("E_inc [MeV]", justify="right")
    table.add_column("events", justify="right")
    table.add_column("<E_tot/E_inc>", justify="right")
    table.add_column("RMS/mean", justify="right")
    for name in names if wide else []:
        table.add_column(f"f({name})", justify="right")
    for row in summary["points"]:
        table.add_row(
            f"{row['energy']:.0f}",
            str(row["events"]),
            f"{row['response']:.4f}",
            f"{row['resolution']:.4f}",
            *(f"{x:.4f}" for x in (row["layer_fractions"] if wide else [])),
        )
    console = stdout_console()
    console.print(table)
    if not wide:
        layers = Table(title="mean energy fraction per layer and E_inc [MeV]")
        layers.add_column("layer")
        for row in summary["points"]:
            layers.add_column(f"{row['energy']:.0f}", justify="right")
        for j, name in enumerate(names):
            layers.add_row(name, *(f"{row['layer_fractions'][j]:.4f}" for row in summary["points"]))
        console.print(layers)
    for c in summary.get("conditions", []):
        click.echo(
            f"condition {c['name']}: {c['min']:.6g} .. {c['max']:.6g} (mean {c['mean']:.6g})"
        )
    click.echo(
        f"{summary['n_events']} events, {summary['n_points']} energy points"
        + (f", {summary['n_voxels']} voxels" if "n_voxels" in summary else "")
        + (f", mean hits/event {summary['mean_hits']:.1f}" if "mean_hits" in summary else "")
        + about
    )
