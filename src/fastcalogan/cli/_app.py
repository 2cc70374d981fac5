"""The ``fastcalogan`` click group and the error policy of the command line.

User errors (:class:`~fastcalogan.errors.FastCaloGANError`) exit with code 2 and one line on
stderr; ``--debug`` re-raises them with the traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import click
from rich.console import Console

from .. import __version__
from ..errors import FastCaloGANError

__all__ = ["cli", "console", "main", "progress_bar", "stdout_console"]

#: Progress bars and notes go to stderr; results (tables) go to stdout via ``stdout_console()``.
console = Console(stderr=True)


def stdout_console() -> Console:
    """A console on the current stdout; wide when stdout is not a terminal (logs, pipes)."""
    probe = Console()
    return Console(width=None if probe.is_terminal else 200)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except FastCaloGANError as err:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo("error: " + "; ".join(str(err).splitlines()), err=True)
            ctx.exit(2)
        except OSError as err:
            # the file system refused a path the user gave: read-only folder, a folder where
            # a file is expected, and the like (unreadable inputs are reported by the readers)
            if (ctx.obj and ctx.obj.get("debug")) or err.strerror is None:
                raise
            where = os.fsdecode(err.filename) if err.filename else "file system"
            click.echo(f"error: {where}: {err.strerror}", err=True)
            ctx.exit(2)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fastcalogan", help="Show the version and exit.")
@click.option("--debug", is_flag=True, help="Show tracebacks of user errors.")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, verbose: int) -> None:
    """Fast calorimeter shower simulation with conditional GANs."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    level = logging.WARNING - 10 * min(verbose, 2)
    # The level sits on the console handler: log files of long work (train.log, ...) may
    # record INFO while the terminal shows only what -v asks for.
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("fastcalogan").setLevel(level)


@contextlib.contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[Any]:
    """A rich progress bar; yields ``update(done, total)`` for library progress callbacks."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as prog:
        task = prog.add_task(description, total=total, status="")

        def update(done: int, total_: int | None = None, status: str = "") -> None:
            prog.update(
                task, completed=done, total=total_ if total_ is not None else total, status=status
            )

        yield update


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="fastcalogan")


if __name__ == "__main__":  # pragma: no cover
    main()
