"""``fastcalogan train CONFIG.yaml``: train (or resume) a model of any registered family.

Several ``--data`` files or ``--seeds`` train an ensemble: one GAN per file and seed, trained
together with stacked weights, each in its own run folder (``RUN_DIR/<file stem>[-seed<s>]``).
"""

from __future__ import annotations

from pathlib import Path

import click

from .._config import load
from ..errors import ConfigError
from ..train import TrainConfig, train
from ._app import cli, console, progress_bar


def _seeds(text: str | None) -> tuple[int, ...]:
    if text is None:
        return ()
    try:
        seeds = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise ConfigError(f"--seeds: expected comma-separated integers, found {text!r}") from err
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: expected distinct seeds >= 0, found {text!r}")
    return seeds


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
    multiple=True,
    help="Shower file to train on (default: the config's data). Give it several times to "
    "train an ensemble: one GAN per file, in RUN_DIR/<file stem>.",
)
@click.option(
    "--seeds",
    default=None,
    metavar="S1,S2,...",
    help="Comma-separated seeds: one ensemble member per seed (and data file), in "
    "RUN_DIR/[<file stem>-]seed<s>.",
)
def train_cmd(
    config_path: Path,
    overrides: tuple[str, ...],
    run_dir: Path | None,
    data: tuple[Path, ...],
    seeds: str | None,
) -> None:
    """Train a model (any family: see `fastcalogan models`); a run folder with checkpoints is
    resumed. Several --data files or --seeds train an ensemble of GANs at once (the MLP
    WGAN-GP with a ReLU critic, e.g. the fastcalogan preset)."""
    config = load(config_path, TrainConfig, overrides)
    out = run_dir or Path("runs") / config_path.stem
    seed_list = _seeds(seeds)
    if len(data) > 1 or len(seed_list) > 1 or _graphed_on_cuda(config):
        _train_ensemble(config, data, out, seed_list)
        return
    if seed_list:
        config = config.model_copy(update={"seed": seed_list[0]})
    total = config.iterations * config.n_ranges
    with progress_bar("train", total) as update:
        result = train(config, data[0] if data else None, out, progress=update)
    console.print(
        f"trained to iteration {result.last_iteration} in {result.seconds:.1f} s "
        f"({result.iterations_per_s:.1f} it/s); {len(result.checkpoints)} checkpoints"
    )
    click.echo(str(result.run_dir))


def _graphed_on_cuda(config: TrainConfig) -> bool:
    """On CUDA a preset that allows ensembles trains through the ensemble trainer (one member):
    its iteration is captured as a CUDA graph (``cuda_graph``)."""
    from ..train import ensemble_supported, resolve_device

    if config.device == "cpu" or not config.cuda_graph:
        return False
    return resolve_device(config.device).type == "cuda" and not ensemble_supported(
        config.resolved()
    )


def _train_ensemble(
    config: TrainConfig, data: tuple[Path, ...], out: Path, seeds: tuple[int, ...]
) -> None:
    from ..train import ensemble_members, train_ensemble

    files = list(data) or ([Path(config.data)] if config.data else [])
    if not files:
        raise ConfigError("data: no shower file given (set data: FILE or pass --data)")
    members = ensemble_members(files, out, seeds)
    with progress_bar("train", config.iterations) as update:
        result = train_ensemble(config, members, progress=update)
    first = result.runs[0]
    console.print(
        f"trained {len(result.runs)} GANs to iteration {first.last_iteration} in "
        f"{result.seconds:.1f} s ({result.gan_iterations_per_s:.1f} GAN iterations/s)"
    )
    for run in result.runs:
        click.echo(str(run.run_dir))
