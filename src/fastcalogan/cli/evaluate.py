"""``fastcalogan evaluate``: compare generated showers with a reference and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .._config import load
from ..data.features import FEATURE_SETS
from ..evaluate import EvaluateConfig, evaluate
from ..report import write_report
from ._app import cli, console, progress_bar

#: ``--binning`` values that choose the histogram binning rather than the voxel binning.
_HISTOGRAM_MODES = {"calochallenge": "calochallenge", "per-energy": "per_energy"}


def _overrides(
    particle: str | None,
    binning: str | None,
    features: str | None,
    allow_mismatch: bool,
    n_max: int | None,
    seed: int | None,
) -> list[str]:
    out = []
    histograms = _HISTOGRAM_MODES.get(binning or "")
    if histograms is not None:
        binning = None
    for key, value in (
        ("particle", particle),
        ("binning", binning),
        ("histogram_binning", histograms),
        ("features", features),
        ("allow_mismatch", "true" if allow_mismatch else None),
        ("n_max", n_max),
        ("seed", seed),
    ):
        if value is not None:
            out.append(f"{key}={value}")
    return out


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
@click.option(
    "--particle",
    default=None,
    help="Particle (default: the files'); a particle the files contradict is refused.",
)
@click.option(
    "--binning",
    default=None,
    help="'calochallenge': pool all energies on the CaloChallenge evaluator's fixed ranges "
    "(numbers comparable with the published ones); 'per-energy' (default): per energy point "
    "on the reference's range. Any other value names the voxel binning (name or file; "
    "default: the geometry the reference file carries or names).",
)
@click.option(
    "--features",
    type=click.Choice(FEATURE_SETS),
    default=None,
    help="High-level features for FPD, KPD and the feature classifier (default fastcalogan; "
    "calochallenge: the CaloChallenge evaluator's set, beside the published table).",
)
@click.option(
    "--allow-mismatch",
    is_flag=True,
    help="Compare files of different particles or |eta| slices, or without a common energy.",
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
    features: str | None,
    allow_mismatch: bool,
    config_path: Path | None,
    sets: tuple[str, ...],
    n_max: int | None,
    seed: int | None,
    out_dir: Path,
) -> None:
    """Compare generated showers with reference showers; write metrics.json and index.html.

    Prints the report's path and the headline metrics.
    """
    overrides = [*_overrides(particle, binning, features, allow_mismatch, n_max, seed), *sets]
    config = load(config_path, EvaluateConfig, overrides)
    with progress_bar("evaluate", total=None) as update:
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
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    console.print(f"evaluated in {result.seconds:.1f} s")


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4g}"
