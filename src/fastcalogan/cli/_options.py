"""The command line's vocabulary: options shared by several commands, and renamed options.

One name per meaning across commands: ``-o/--output`` for every file or folder a command
writes, ``-n/--events``, ``--energies``, ``--seed``, ``--particle``, ``--eta``, ``--binning``,
``--device``, ``--threads``, ``--config``, ``--set``. Options renamed for this vocabulary keep
their old spelling for one release (:class:`Command`): it still works, ``--help`` does not
show it, and using it prints one deprecation line.

This module is imported by every command module when ``fastcalogan`` starts: it imports
nothing beyond click and the standard library at import time (the start-up test checks it);
what a command needs to run is imported inside the functions that run it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..errors import ConfigError, DataFormatError

if TYPE_CHECKING:
    from ..geometry import Geometry

__all__ = [
    "DEPRECATED_UNTIL",
    "Command",
    "binning_option",
    "check_shower_input",
    "config_option",
    "deprecation_note",
    "device_option",
    "ds1_note",
    "energies_option",
    "events_option",
    "output_option",
    "parse_energies",
    "particle_option",
    "resolve_binning",
    "seed_option",
    "set_option",
    "shortcut_overrides",
    "threads_option",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Renamed options keep working until this release.
DEPRECATED_UNTIL = "0.2"


# ----- renamed options -----------------------------------------------------------------------
def deprecation_note(old: str, new: str) -> str:
    """The line printed when a renamed option is used.

    >>> deprecation_note("--run-dir", "-o/--output")
    'deprecated: --run-dir goes away in fastcalogan 0.2; use -o/--output'
    """
    return f"deprecated: {old} goes away in fastcalogan {DEPRECATED_UNTIL}; use {new}"


class Command(click.Command):
    """A click command that still accepts the old spelling of renamed options.

    ``renamed`` maps an old long option to its new long option (``{"--run-dir": "--output"}``).
    The old spelling is rewritten before parsing, so it behaves exactly like the new one
    (required options stay required, values are validated the same way), is absent from
    ``--help``, and prints one line on stderr saying what to use instead.
    """

    def __init__(self, *args: Any, renamed: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})

    def _shown(self, new: str) -> str:
        """``-o/--output`` for ``--output``: the new option as ``--help`` shows it."""
        for param in self.params:
            if isinstance(param, click.Option) and new in param.opts:
                return "/".join(param.opts)
        return new

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        noted: set[str] = set()
        for i, arg in enumerate(args):
            if arg == "--":  # everything after it is an argument
                rewritten += args[i:]
                break
            name, eq, value = arg.partition("=")
            new = self.renamed.get(name)
            if new is not None:
                if name not in noted:
                    click.echo(deprecation_note(name, self._shown(new)), err=True)
                    noted.add(name)
                arg = new + eq + value
            rewritten.append(arg)
        return super().parse_args(ctx, rewritten)


# ----- options -------------------------------------------------------------------------------
def output_option(
    help: str,
    *,
    required: bool = True,
    default: Path | None = None,
    show_default: bool = False,
) -> Callable[[F], F]:
    """``-o/--output PATH``: the file or folder a command writes (parameter ``output``)."""
    return click.option(
        "-o",
        "--output",
        "output",
        type=click.Path(path_type=Path),
        required=required,
        default=default,
        show_default=show_default,
        help=help,
    )


def binning_option(required: bool = True, help: str | None = None) -> Callable[[F], F]:
    """``--binning NAME|FILE``: a built-in binning name, a CaloChallenge XML or a YAML file."""
    return click.option(
        "--binning",
        required=required,
        default=None,
        help=help
        or "Geometry: ds1-photons, ds1-pions, or a .xml/.yaml file "
        "(default: the one the file carries, else its attributes or voxel count).",
    )


def particle_option(help: str, required: bool = False) -> Callable[[F], F]:
    """``--particle NAME`` (photon, electron, pion, proton, antiproton, ...)."""
    return click.option("--particle", required=required, default=None, help=help)


def energies_option(help: str, default: str | None = None) -> Callable[[F], F]:
    """``--energies ds1|E1,E2,...``: incident energies in MeV, or the 15 dataset-1 points."""
    return click.option("--energies", default=default, show_default=default is not None, help=help)


def events_option(
    help: str,
    default: int | None = None,
    show_default: bool = False,
) -> Callable[[F], F]:
    """``-n/--events N`` (parameter ``events``)."""
    return click.option(
        "-n",
        "--events",
        "events",
        type=int,
        default=default,
        show_default=show_default,
        help=help,
    )


def seed_option(
    default: int | None = 0,
    help: str = "Random seed; the same seed gives the same result.",
) -> Callable[[F], F]:
    """``--seed N``."""
    return click.option(
        "--seed",
        type=int,
        default=default,
        show_default=default is not None,
        help=help,
    )


def device_option(
    default: str | None = "auto",
    help: str = "Where torch runs: auto (cuda when available), cpu or cuda.",
) -> Callable[[F], F]:
    """``--device auto|cpu|cuda``."""
    return click.option(
        "--device",
        type=click.Choice(["auto", "cpu", "cuda"]),
        default=default,
        show_default=default is not None,
        help=help,
    )


def threads_option(
    help: str = "CPU threads torch may use (default: torch's choice).",
) -> Callable[[F], F]:
    """``--threads N``."""
    return click.option("--threads", type=int, default=None, help=help)


def config_option(what: str) -> Callable[[F], F]:
    """``--config FILE.yaml`` (parameter ``config_path``)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(path_type=Path),
        default=None,
        help=f"YAML file of {what} settings (see schemas/); options given here override it.",
    )


def set_option(example: str = "seed=1") -> Callable[[F], F]:
    """``--set KEY=VALUE`` (repeatable; parameter ``overrides``)."""
    return click.option(
        "--set",
        "overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help=f"Override a setting, validated like the file (e.g. --set {example}; repeatable).",
    )


def shortcut_overrides(overrides: Sequence[str], **values: Any) -> list[str]:
    """``--set`` overrides followed by ``key=value`` for each option given (not ``None``).

    The options come last, so ``--seed 3`` wins over ``--set seed=1``.

    >>> shortcut_overrides(["lr=1e-4"], seed=3, device=None)
    ['lr=1e-4', 'seed=3']
    """
    return [*overrides, *(f"{k}={v}" for k, v in values.items() if v is not None)]


# ----- values --------------------------------------------------------------------------------
def parse_energies(text: str, option: str = "--energies") -> str | list[float]:
    """``'ds1'`` or the comma-separated energies in MeV.

    >>> parse_energies("DS1"), parse_energies("1024, 65536")
    ('ds1', [1024.0, 65536.0])
    """
    if text.strip().lower() == "ds1":
        return "ds1"
    try:
        return [float(x) for x in text.split(",") if x.strip()]
    except ValueError as err:
        raise ConfigError(
            f"{option}: expected 'ds1' or comma-separated MeV values (e.g. 1024,65536), "
            f"found {text!r}"
        ) from err


def ds1_note(events: int) -> str:
    """The line printed for ``--energies ds1``: points, events per point and the total.

    ``-n/--events`` is the dataset-1 scale there: 10000 gives the dataset-1 counts.

    >>> ds1_note(200)  # doctest: +NORMALIZE_WHITESPACE
    'ds1: 15 points 256..4194304 MeV (2^8..2^22); 200 events per point up to 262144 MeV,
    then 100, 60, 40, 20 (dataset-1 counts x 0.02: -n 200 of 10000); 2420 events in all'
    """
    from ..data import DS1_ENERGIES, ds1_event_counts

    scale = events / 10_000
    counts = ds1_event_counts(scale)
    return (
        f"ds1: {DS1_ENERGIES.size} points {DS1_ENERGIES[0]:.0f}..{DS1_ENERGIES[-1]:.0f} MeV "
        f"(2^8..2^22); {counts[0]} events per point up to {DS1_ENERGIES[10]:.0f} MeV, then "
        f"{', '.join(str(c) for c in counts[11:])} (dataset-1 counts x {scale:g}: -n {events} "
        f"of 10000); {int(counts.sum())} events in all"
    )


def resolve_binning(
    binning: str | None, particle: str | None, attrs: Mapping[str, Any], source: str = "<file>"
) -> Geometry:
    """The binning named on the command line, else the file's (see ``geometry_of_file``)."""
    from ..data import geometry_of_file

    return geometry_of_file(attrs, binning, particle=particle, source=source)


def check_shower_input(
    path: Path | str | None, option: str, command: str, reads_hits: bool = False
) -> None:
    """Refuse, in one line, a file that ``fastcalogan convert`` turns into a shower file.

    Commands that read CaloChallenge shower files call this on their inputs first, so that an
    ATLAS CSV or a hit file gets the command that converts it rather than an HDF5 error.

    Args:
        path: the input (``None``: nothing to check).
        option: how the command line names it (``--data``).
        command: the command, for the message.
        reads_hits: the command also reads hit files.
    """
    if path is None:
        return
    from ..convert import detect_format

    path = Path(path)
    fmt = detect_format([path], strict=False)
    if fmt is None or fmt.reads_as_showers or (reads_hits and fmt.name == "hits"):
        return
    out = (
        path.with_suffix(".h5")
        if path.suffix != ".h5"
        else path.with_name(f"{path.stem}-showers.h5")
    )
    raise DataFormatError(
        f"{path}: {option} is {fmt.description}; {command} reads shower files: convert it "
        f"first with 'fastcalogan convert {path} -o {out}'"
    )
