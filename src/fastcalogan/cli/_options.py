"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ..data import binning_of_file
from ..geometry import Binning

F = TypeVar("F", bound=Callable[..., Any])


def binning_option(required: bool = True) -> Callable[[F], F]:
    """``--binning NAME|FILE``: a built-in binning name, a CaloChallenge XML or a YAML file."""
    return click.option(
        "--binning",
        required=required,
        default=None,
        help="Binning: ds1-photons, ds1-pions, or a .xml/.yaml file "
        "(default: from the file's attributes or its voxel count).",
    )


def resolve_binning(
    binning: str | None, particle: str | None, attrs: Mapping[str, Any], source: str = "<file>"
) -> Binning:
    """The binning named on the command line, else the file's (see ``binning_of_file``)."""
    return binning_of_file(attrs, binning, particle=particle, source=source)
