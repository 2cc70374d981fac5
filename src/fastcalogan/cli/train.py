"""``fastcalogan train CONFIG.yaml``: train (or resume) a model of any registered family."""

from __future__ import annotations

from pathlib import Path

import click

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


@cli.command("train", cls=Command, renamed={"--run-dir": "--output"})
@click.argument("config_path", metavar="CONFIG.yaml", type=click.Path(path_type=Path))
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Shower file to train on (default: the config's data); ATLAS CSV or hit files: "
    "fastcalogan convert them first.",
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
    data: Path | None,
    output: Path | None,
    iterations: int | None,
    seed: int | None,
    device: str | None,
    threads: int | None,
    overrides: tuple[str, ...],
    tensorboard: bool,
) -> None:
    """Train a model (any family: see `fastcalogan models`); a run folder with checkpoints is
    resumed.

    Prints where to look while it runs: the run folder, its log and loss table, and the
    TensorBoard command (with --tensorboard). The last line of stdout is the run folder.

    Example: fastcalogan train configs/train-fastcalogan.yaml --data photons.h5
    -o runs/photons
    """
    from .._config import load
    from ..train import RunFolder, TrainConfig, train
    from ._tracking import LossFollower, tensorboard_note

    settings = shortcut_overrides(
        overrides, iterations=iterations, seed=seed, device=device, threads=threads
    )
    config = load(config_path, TrainConfig, settings)
    check_shower_input(data or config.data, "--data" if data else "data", "train")
    out = output or Path("runs") / config_path.stem
    folder = RunFolder(out)
    follower = LossFollower(out) if tensorboard else None  # refuses early without the extra
    started = out.is_dir() and any(part.checkpoints() for part in folder.parts())
    resumed = " (resumed from its last checkpoint)" if started else ""
    # where to look is said once training runs: a refused start stays one error line
    notes = [
        f"run folder: {out}{resumed}",
        f"log: {folder.train_log}; losses: {folder.losses_csv}",
        tensorboard_note(out, tensorboard),
    ]
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
