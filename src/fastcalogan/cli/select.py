"""``fastcalogan select RUN_DIR``: choose the best checkpoint by chi2/NDF."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import click
from rich.table import Table

from .._config import load
from ..select import SelectConfig, SelectResult, select_best
from ..train import SelectionRow
from ._app import LazyProgress, cli, console


def _number(value: float, spec: str) -> str:
    return "inf" if not math.isfinite(value) else format(value, spec)


def _table(title: str, rows: Sequence[SelectionRow], best_iteration: int) -> Table:
    table = Table(title=title)
    for col in ("iteration", "chi2", "NDF", "chi2/NDF", ""):
        table.add_column(col, justify="right")
    for row in rows:
        mark = "best" if row.iteration == best_iteration else ""
        table.add_row(
            str(row.iteration),
            _number(row.chi2, ".1f"),
            str(row.ndf),
            _number(row.chi2_ndf, ".3f"),
            mark,
        )
    return table


def _points_table(title: str, row: SelectionRow) -> Table:
    table = Table(title=title)
    table.add_column("E_inc [MeV]", justify="right")
    table.add_column("chi2/NDF", justify="right")
    for point in row.points:
        table.add_row(point.label.removeprefix("E="), _number(point.chi2_ndf, ".3f"))
    return table


def _show(result: SelectResult, name: str) -> None:
    rows = result.rows
    console.print(_table(f"{name}: chi2/NDF per checkpoint", rows, result.best_iteration))
    best = next(r for r in rows if r.iteration == result.best_iteration)
    console.print(_points_table(f"{name}: iteration {result.best_iteration}", best))


@cli.command("select")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None)
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key.")
@click.option(
    "--figure-of-merit",
    type=click.Choice(["etot", "etot+layers"]),
    default=None,
    help="etot (default) or etot+layers.",
)
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="Showers to compare with (default: the run's training file).",
)
def select_cmd(
    run_dir: Path,
    config_path: Path | None,
    overrides: tuple[str, ...],
    figure_of_merit: str | None,
    reference: Path | None,
) -> None:
    """Score every checkpoint of RUN_DIR and print the chi2/NDF table."""
    extra = list(overrides) + ([f"figure_of_merit={figure_of_merit}"] if figure_of_merit else [])
    config = load(config_path, SelectConfig, extra)
    with LazyProgress("select") as update:
        result = select_best(config, run_dir, reference, progress=update)
    for sub in result.per_range or (result,):
        name = sub.best_checkpoint.parent.parent.name if result.per_range else run_dir.name
        _show(sub, name)
    if result.skipped:
        names = ", ".join(path.name for path, _ in result.skipped)
        console.print(
            f"skipped {len(result.skipped)} damaged checkpoint(s): {names} "
            "(the reasons are in selection/chi2.json and the log)"
        )
    console.print(
        f"best: {result.best_checkpoint} (chi2/NDF {result.chi2_ndf:.3f}); "
        f"table {result.table_path}, plot {result.plot_path}"
    )
    click.echo(f"{result.chi2_ndf:.6g}")
