"""``fastcalogan select RUN_DIR``: choose the best checkpoint by chi2/NDF."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import cli, console, progress_bar
from ._options import (
    check_shower_input,
    config_option,
    device_option,
    events_option,
    seed_option,
    set_option,
    shortcut_overrides,
)
from ._tracking import tensorboard_option

if TYPE_CHECKING:
    from rich.table import Table

    from ..select import SelectResult
    from ..train import SelectionRow


def _number(value: float, spec: str) -> str:
    return "inf" if not math.isfinite(value) else format(value, spec)


def _table(title: str, rows: Sequence[SelectionRow], best_iteration: int) -> Table:
    from rich.table import Table

    table = Table(title=title, caption=_CAPTION)
    for col in ("iteration", "chi2", "NDF", "chi2/NDF", "ceiling", "saturated", "W1", ""):
        table.add_column(col, justify="right")
    for row in rows:
        mark = "best" if row.iteration == best_iteration else ""
        table.add_row(
            str(row.iteration),
            _number(row.chi2, ".1f"),
            str(row.ndf),
            _number(row.chi2_ndf, ".3f"),
            _number(row.ceiling, ".1f"),
            f"{row.n_saturated}/{len(row.points)}",
            _number(row.wasserstein, ".3g"),
            mark,
        )
    return table


#: What the columns beside chi2/NDF mean.
_CAPTION = (
    "ceiling: the largest chi2/NDF the sample sizes allow, (N+M)/NDF; saturated: energy "
    "points within a factor 2 of it (the samples barely overlap); W1: Wasserstein distance "
    "of E_tot/E_inc, mean over the points (no ceiling)"
)


def _points_table(title: str, row: SelectionRow) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for col in ("E_inc [MeV]", "chi2/NDF", "NDF", "N ref / gen", "ceiling", "W1", ""):
        table.add_column(col, justify="right")
    for point in row.points:
        table.add_row(
            point.label.removeprefix("E="),
            _number(point.chi2_ndf, ".3f"),
            str(point.ndf),
            f"{point.n_reference:.0f} / {point.n_generated:.0f}",
            _number(point.ceiling, ".1f"),
            _number(point.wasserstein, ".3g"),
            "saturated" if point.saturated else "",
        )
    return table


def _show(result: SelectResult, name: str) -> None:
    rows = result.rows
    console.print(_table(f"{name}: chi2/NDF per checkpoint", rows, result.best_iteration))
    best = next(r for r in rows if r.iteration == result.best_iteration)
    console.print(_points_table(f"{name}: iteration {result.best_iteration}", best))


@cli.command("select")
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "--reference",
    type=click.Path(path_type=Path),
    default=None,
    help="Showers to compare with (default: the run's training file).",
)
@click.option(
    "--figure-of-merit",
    type=click.Choice(["etot", "etot+layers"]),
    default=None,
    help="etot: chi2 of the total energy per energy point (default); etot+layers: and of "
    "every layer's energy.",
)
@events_option("Showers generated per energy point for the comparison (default 10000).")
@seed_option(default=None, help="Seed of the generated showers (default 0).")
@device_option(default=None, help="Where to generate: auto, cpu or cuda (default auto).")
@config_option("selection")
@set_option("stride=2")
@tensorboard_option("chi2/NDF per checkpoint")
def select_cmd(
    run_dir: Path,
    reference: Path | None,
    figure_of_merit: str | None,
    events: int | None,
    seed: int | None,
    device: str | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
    tensorboard: bool,
) -> None:
    """Score every checkpoint of RUN_DIR and print the chi2/NDF table.

    The best checkpoint is recorded in RUN_DIR/selection/best.json; generate and export use
    it. The last line of stdout is the best chi2/NDF.
    """
    from .._config import load
    from ..select import SelectConfig, select_best
    from ._tracking import log_selection, require_tensorboard

    extra = shortcut_overrides(
        overrides,
        figure_of_merit=figure_of_merit,
        events_per_point=events,
        seed=seed,
        device=device,
    )
    config = load(config_path, SelectConfig, extra)
    check_shower_input(reference, "--reference", "select")
    if tensorboard:
        require_tensorboard()  # before the work
    with progress_bar("select", None) as update:
        result = select_best(config, run_dir, reference, progress=update)
    for sub in result.per_range or (result,):
        name = sub.best_checkpoint.parent.parent.name if result.per_range else run_dir.name
        _show(sub, name)
    console.print(
        f"best: {result.best_checkpoint} (chi2/NDF {result.chi2_ndf:.3f}); "
        f"table {result.table_path}, plot {result.plot_path}"
    )
    if tensorboard:
        logdir = log_selection(run_dir, result.rows)
        console.print(f"TensorBoard: tensorboard --logdir {logdir.parent}")
    click.echo(f"{result.chi2_ndf:.6g}")
