"""``fastcalogan compare EVAL_A EVAL_B ... -o page/``: several models' evaluations side by side."""

from __future__ import annotations

from pathlib import Path

import click

from ._app import cli, console, stdout_console
from ._options import output_option


@cli.command("compare")
@click.argument("evaluations", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--label",
    "labels",
    multiple=True,
    help="Name of each evaluation, in order (repeat; default: the folder names).",
)
@click.option("--title", default=None, help="Page title.")
@output_option("Output folder for index.html and comparison.json.")
def compare_cmd(
    evaluations: tuple[Path, ...], labels: tuple[str, ...], title: str | None, output: Path
) -> None:
    """Put evaluations of several models against one reference on one page.

    EVALUATIONS are folders written by ``fastcalogan evaluate`` (one per model). Prints the
    chi2/NDF of every distribution of the observable suites for each model and which model
    is closest to the reference.
    """
    from ..report import compare_evaluations

    result = compare_evaluations(evaluations, output, labels or None, title)
    out = stdout_console()
    names = result.labels
    width = max([len(r.distribution) for r in result.rows] + [12])
    out.print(f"{'distribution':{width}s}  " + "  ".join(f"{n:>12s}" for n in names) + "  closest")
    for row in result.rows:
        values = "  ".join(
            f"{row.chi2_ndf[n]:12.3g}" if row.chi2_ndf[n] is not None else f"{'-':>12s}"
            for n in names
        )
        out.print(f"{row.distribution:{width}s}  {values}  {row.closest or '-'}", highlight=False)
    wins = ", ".join(f"{n} {k}" for n, k in result.wins.items())
    console.print(f"closest to the reference in {len(result.rows)} distributions: {wins}")
    click.echo(f"report: {result.html_path}")
