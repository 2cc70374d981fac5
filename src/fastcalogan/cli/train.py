"""``fastcalogan train CONFIG.yaml``: train (or resume) a model of any registered family."""

from __future__ import annotations

from pathlib import Path

import click

from .._config import load
from ..train import TrainConfig, train
from ._app import LazyProgress, cli, console


@cli.command("train")
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a key.")
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Output folder (default: runs/<config name>). Resumes when it holds checkpoints.",
)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Shower file to train on (default: the config's data).",
)
def train_cmd(
    config_path: Path, overrides: tuple[str, ...], run_dir: Path | None, data: Path | None
) -> None:
    """Train a model (any family: see `fastcalogan models`); a run folder with checkpoints is
    resumed."""
    config = load(config_path, TrainConfig, overrides)
    out = run_dir or Path("runs") / config_path.stem
    total = config.iterations * config.n_ranges
    with LazyProgress("train", total) as update:
        result = train(config, data, out, progress=update)
    console.print(
        f"trained to iteration {result.last_iteration} in {result.seconds:.1f} s "
        f"({result.iterations_per_s:.1f} it/s); {len(result.checkpoints)} checkpoints"
    )
    click.echo(str(result.run_dir))
