"""``fastcalogan evaluate``: compare generated showers with a reference and write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._app import cli, console, progress_bar
from ._options import (
    Command,
    binning_option,
    check_shower_input,
    config_option,
    deprecation_note,
    output_option,
    particle_option,
    seed_option,
    set_option,
    shortcut_overrides,
    threads_option,
)
from ._tracking import tensorboard_option

#: ``--histograms`` values -> ``histogram_binning``.
_HISTOGRAM_MODES = {"per-energy": "per_energy", "calochallenge": "calochallenge"}
#: The feature sets (``data.features.FEATURE_SETS``; a test keeps the two equal).
FEATURE_CHOICES = ("fastcalogan", "calochallenge")


def _overrides(
    particle: str | None,
    binning: str | None,
    histograms: str | None,
    features: str | None,
    allow_mismatch: bool,
    n_max: int | None,
    seed: int | None,
    threads: int | None,
) -> list[str]:
    if binning in _HISTOGRAM_MODES:
        # --binning calochallenge|per-energy chose the histograms before --histograms existed
        click.echo(deprecation_note(f"--binning {binning}", f"--histograms {binning}"), err=True)
        histograms, binning = histograms or binning, None
    return shortcut_overrides(
        [],
        particle=particle,
        binning=binning,
        histogram_binning=_HISTOGRAM_MODES.get(histograms or ""),
        features=features,
        allow_mismatch="true" if allow_mismatch else None,
        n_max=n_max,
        seed=seed,
        **{"classifier.threads": threads},
    )


@cli.command("evaluate", cls=Command, renamed={"--out": "--output"})
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
@output_option("Output folder for metrics.json, histograms.npz and index.html.")
@click.option(
    "--training",
    default=None,
    type=click.Path(path_type=Path),
    help="Training shower file, for the nearest-neighbour memorisation check.",
)
@particle_option("Particle (default: the files'); a particle the files contradict is refused.")
@binning_option(
    required=False,
    help="Voxel geometry: ds1-photons, ds1-pions, or a .xml/.yaml file (default: the one "
    "the reference carries or names).",
)
@click.option(
    "--histograms",
    type=click.Choice(list(_HISTOGRAM_MODES)),
    default=None,
    help="per-energy (default): each observable per energy point on the reference's range; "
    "calochallenge: all energies pooled on the CaloChallenge evaluator's fixed ranges "
    "(numbers comparable with the published ones).",
)
@click.option(
    "--features",
    type=click.Choice(FEATURE_CHOICES),
    default=None,
    help="High-level features for FPD, KPD and the feature classifier (default fastcalogan; "
    "calochallenge: the CaloChallenge evaluator's set, beside the published table).",
)
@click.option(
    "--allow-mismatch",
    is_flag=True,
    help="Compare files of different particles or |eta| slices, or without a common energy.",
)
@click.option("--n-max", type=int, default=None, help="At most this many events per sample.")
@seed_option(default=None, help="Seed of every random choice (default 0).")
@threads_option(help="CPU threads of the classifier's training (default 1).")
@config_option("evaluation")
@set_option("classifier.epochs=20")
@tensorboard_option("the headline metrics")
def evaluate_cmd(
    reference: Path,
    generated: Path,
    output: Path,
    training: Path | None,
    particle: str | None,
    binning: str | None,
    histograms: str | None,
    features: str | None,
    allow_mismatch: bool,
    n_max: int | None,
    seed: int | None,
    threads: int | None,
    config_path: Path | None,
    overrides: tuple[str, ...],
    tensorboard: bool,
) -> None:
    """Compare generated showers with reference showers; write metrics.json and index.html.

    Prints the report's path and the headline metrics. With --tensorboard they also go to
    the TensorBoard folder of the run the generated file came from.
    """
    from .._config import load
    from ..evaluate import EvaluateConfig, evaluate
    from ..report import write_report

    settings = [
        *_overrides(particle, binning, histograms, features, allow_mismatch, n_max, seed, threads),
        *overrides,
    ]
    config = load(config_path, EvaluateConfig, settings)
    for path, option in ((reference, "--reference"), (generated, "--generated")):
        check_shower_input(path, option, "evaluate")
    check_shower_input(training, "--training", "evaluate")
    if tensorboard:
        from ._tracking import require_tensorboard

        require_tensorboard()  # before the work
    with progress_bar("evaluate", total=None) as update:
        result = evaluate(
            config,
            reference,
            generated,
            output,
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
    if tensorboard:
        logdir = _log_headline(generated, output, result.headline)
        console.print(f"TensorBoard: tensorboard --logdir {logdir.parent}")
    console.print(f"evaluated in {result.seconds:.1f} s")


def _log_headline(generated: Path, output: Path, headline: Any) -> Path:
    """The headline metrics in the generator's run folder (at its checkpoint's iteration)."""
    from ..data import read_shower_attrs
    from ..errors import CheckpointError
    from ..evaluate.training import run_folder
    from ..train import checkpoint_iteration
    from ._tracking import TENSORBOARD_DIR, log_metrics

    attrs = read_shower_attrs(generated)
    run = run_folder(attrs, relative_to=generated.parent)
    step = 0
    checkpoints = [c for c in str(attrs.get("checkpoints") or "").split(",") if c]
    if checkpoints:
        try:
            step = checkpoint_iteration(Path(checkpoints[-1]))
        except CheckpointError:  # a checkpoint name of another form: step 0
            step = 0
    folder = output if run is None else run
    return log_metrics(folder / TENSORBOARD_DIR / "evaluate", headline, step)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.4g}"
