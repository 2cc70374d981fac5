"""``fastcalogan evaluate``: compare generated showers with a reference and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._config import load
from .._fileio import PathPlan
from ..evaluate import EvaluateConfig, evaluate
from ..report import write_report
from ._app import LazyProgress, cli, console


def _overrides(
    particle: str | None, binning: str | None, n_max: int | None, seed: int | None
) -> list[str]:
    out = []
    for key, value in (
        ("particle", particle),
        ("binning", binning),
        ("n_max", n_max),
        ("seed", seed),
    ):
        if value is not None:
            out.append(f"{key}={value}")
    return out


#: The files ``evaluate`` writes into its output folder (replacing an older evaluation's).
_OUTPUTS = (
    ("metrics.json", "metrics"),
    ("histograms.npz", "histograms"),
    ("index.html", "report page"),
)


@cli.command("evaluate")
@click.option(
    "--reference",
    required=True,
    type=click.Path(path_type=Path),
    help="Reference shower file (CaloChallenge HDF5).",
)
@click.option(
    "--generated",
    required=True,
    type=click.Path(path_type=Path),
    help="Generated shower file, same binning.",
)
@click.option(
    "--training",
    default=None,
    type=click.Path(path_type=Path),
    help="Training shower file, for the nearest-neighbour memorisation check.",
)
@click.option("--particle", default=None, help="Particle (default: photon, or the config's).")
@click.option(
    "--binning",
    default=None,
    help="Geometry name or file (default: the one the reference file carries or names).",
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(path_type=Path),
    help="EvaluateConfig YAML file.",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. --set classifier.epochs=20 (repeatable).",
)
@click.option("--n-max", type=int, default=None, help="At most this many events per sample.")
@click.option("--seed", type=int, default=None, help="Random seed.")
@click.option(
    "-o",
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder for metrics.json, histograms.npz and index.html.",
)
def evaluate_cmd(
    reference: Path,
    generated: Path,
    training: Path | None,
    particle: str | None,
    binning: str | None,
    config_path: Path | None,
    sets: tuple[str, ...],
    n_max: int | None,
    seed: int | None,
    out_dir: Path,
) -> None:
    """Compare generated showers with reference showers; write metrics.json and index.html.

    Prints the report's path and the headline metrics.
    """
    overrides = [*_overrides(particle, binning, n_max, seed), *sets]
    config = load(config_path, EvaluateConfig, overrides)
    # the outputs are checked before the (long) evaluation
    plan = PathPlan().read(reference, "reference file").read(generated, "generated file")
    plan.read(training, "training file").read(config_path, "config file")
    if config.binning and Path(config.binning).is_file():
        plan.read(config.binning, "binning file")
    plan.write(out_dir, "output folder", folder=True)
    for name, what in _OUTPUTS:
        plan.write(out_dir / name, what, quiet=True)
    plan.check()
    with LazyProgress("evaluate") as update:
        result = evaluate(
            config,
            reference,
            generated,
            out_dir,
            progress=update,
            training_path=training,
            reporter=write_report,
        )
    click.echo(f"report: {result.report_path}")
    click.echo(f"metrics: {result.metrics_path}")
    for key, value in result.headline.items():
        click.echo(f"  {key:32s} {_fmt(value)}")
    console.print(f"evaluated in {result.seconds:.1f} s")


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}"
