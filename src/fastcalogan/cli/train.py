"""``fastcalogan train CONFIG.yaml``: train (or resume) a model of any registered family.

Several ``--data`` files or ``--seeds`` train an ensemble: one GAN per file and seed, trained
together with stacked weights, each in its own run folder (``OUTPUT/<file stem>[-seed<s>]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import ConfigError
from ._app import LazyProgress, cli, console
from ._options import (
    Command,
    check_shower_input,
    device_option,
    output_option,
    seed_option,
    set_option,
    shortcut_overrides,
    threads_option,
)
from ._tracking import tensorboard_option

if TYPE_CHECKING:
    from ..train import TrainConfig


def _seeds(text: str | None) -> tuple[int, ...]:
    """``--seeds 0,1,2`` as a tuple of distinct seeds >= 0.

    >>> _seeds("0, 1,2")
    (0, 1, 2)
    """
    if text is None:
        return ()
    try:
        seeds = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise ConfigError(f"--seeds: expected comma-separated integers, found {text!r}") from err
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds: expected distinct seeds >= 0, found {text!r}")
    return seeds


@cli.command("train", cls=Command, renamed={"--run-dir": "--output"})
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Shower file to train on (default: the config's data); ATLAS CSV or hit files: "
    "fastcalogan convert them first. Give it several times to train an ensemble: one GAN "
    "per file, in OUTPUT/<file stem>.",
)
@click.option(
    "--seeds",
    default=None,
    metavar="S1,S2,...",
    help="Comma-separated seeds: one ensemble member per seed (and data file), in "
    "OUTPUT/[<file stem>-]seed<s>.",
)
@output_option(
    "Run folder to write (default: runs/<config name>); a folder with checkpoints is resumed.",
    required=False,
)
@click.option(
    "--iterations",
    type=int,
    default=None,
    help="Train up to this iteration (default: the config's).",
)
@seed_option(default=None, help="Random seed (default: the config's).")
@device_option(default=None, help="Where to train: auto, cpu or cuda (default: the config's).")
@threads_option(help="CPU threads torch may use (default: the config's, else torch's choice).")
@set_option("lr=1e-4")
@tensorboard_option("losses")
def train_cmd(
    config_path: Path,
    data: tuple[Path, ...],
    seeds: str | None,
    output: Path | None,
    iterations: int | None,
    seed: int | None,
    device: str | None,
    threads: int | None,
    overrides: tuple[str, ...],
    tensorboard: bool,
) -> None:
    """Train a model (any family: see `fastcalogan models`); a run folder with checkpoints is
    resumed. Several --data files or --seeds train an ensemble of GANs at once (the MLP
    WGAN-GP with a ReLU critic, e.g. the fastcalogan preset).

    Prints where to look while it runs: the run folder, its log and loss table, and the
    TensorBoard command (with --tensorboard). The last line of stdout is the run folder (one
    line per member for an ensemble).

    Example: fastcalogan train configs/train-fastcalogan.yaml --data photons.h5
    -o runs/photons
    """
    from .._config import load
    from ..train import TrainConfig

    seed_list = _seeds(seeds)
    if len(seed_list) == 1 and seed is None:
        seed = seed_list[0]
    settings = shortcut_overrides(
        overrides, iterations=iterations, seed=seed, device=device, threads=threads
    )
    config = load(config_path, TrainConfig, settings)
    for path in data or (config.data,):
        check_shower_input(path, "--data" if data else "data", "train")
    out = output or Path("runs") / config_path.stem
    if len(data) > 1 or len(seed_list) > 1 or _graphed_on_cuda(config):
        _train_ensemble(config, data, out, seed_list, tensorboard)
        return
    _train_one(config, data[0] if data else None, out, tensorboard)


def _train_one(config: TrainConfig, data: Path | None, out: Path, tensorboard: bool) -> None:
    from ..train import train
    from ._tracking import LossFollower

    follower = LossFollower(out) if tensorboard else None  # refuses early without the extra
    # where to look is said once training runs: a refused start stays one error line
    notes = _where(out, tensorboard)
    total = config.iterations * config.n_ranges
    with LazyProgress("train", total) as update:

        def report(done: int, total: int, status: str = "") -> None:
            while notes:
                console.print(notes.pop(0), markup=False, highlight=False)
            update(done, total, status=status)
            if follower is not None:
                follower.poll()

        try:
            result = train(config, data, out, progress=report)
        finally:
            if follower is not None:
                follower.close()
    for note in notes:  # nothing to train (already at the iterations asked for)
        console.print(note, markup=False, highlight=False)
    console.print(
        f"trained to iteration {result.last_iteration} in {result.seconds:.1f} s "
        f"({result.iterations_per_s:.1f} it/s); {len(result.checkpoints)} checkpoints"
    )
    click.echo(str(result.run_dir))


def _where(out: Path, tensorboard: bool) -> list[str]:
    """The lines saying where to look: the run folder (and whether it resumes), its log and
    the TensorBoard note."""
    from ..train import RunFolder
    from ._tracking import tensorboard_note

    folder = RunFolder(out)
    started = out.is_dir() and any(part.checkpoints() for part in folder.parts())
    resumed = " (resumed from its last checkpoint)" if started else ""
    return [
        f"run folder: {out}{resumed}",
        f"log: {folder.train_log}; losses: {folder.losses_csv}",
        tensorboard_note(out, tensorboard),
    ]


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
    config: TrainConfig,
    data: Sequence[Path],
    out: Path,
    seeds: tuple[int, ...],
    tensorboard: bool,
) -> None:
    from ..train import ensemble_members, train_ensemble
    from ._tracking import LossFollower

    files = list(data) or ([Path(config.data)] if config.data else [])
    if not files:
        raise ConfigError("data: no shower file given (set data: FILE or pass --data)")
    members = ensemble_members(files, out, seeds)
    followers = [LossFollower(m.run_dir) for m in members] if tensorboard else []
    notes = [line for member in members for line in _where(member.run_dir, tensorboard)]
    with LazyProgress("train", config.iterations) as update:

        def report(done: int, total: int, status: str = "") -> None:
            while notes:
                console.print(notes.pop(0), markup=False, highlight=False)
            update(done, total, status=status)
            for follower in followers:
                follower.poll()

        try:
            result = train_ensemble(config, members, progress=report)
        finally:
            for follower in followers:
                follower.close()
    for note in notes:
        console.print(note, markup=False, highlight=False)
    first = result.runs[0]
    console.print(
        f"trained {len(result.runs)} GANs to iteration {first.last_iteration} in "
        f"{result.seconds:.1f} s ({result.gan_iterations_per_s:.1f} GAN iterations/s)"
    )
    for run in result.runs:
        click.echo(str(run.run_dir))
