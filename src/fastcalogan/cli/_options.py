"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ..data import geometry_of_file
from ..geometry import Geometry

F = TypeVar("F", bound=Callable[..., Any])


def binning_option(required: bool = True) -> Callable[[F], F]:
    """``--binning NAME|FILE``: a built-in binning name, a CaloChallenge XML or a YAML file."""
    return click.option(
        "--binning",
        required=required,
        default=None,
        help="Geometry: ds1-photons, ds1-pions, or a .xml/.yaml file "
        "(default: the one the file carries, else its attributes or voxel count).",
    )


def resolve_binning(
    binning: str | None, particle: str | None, attrs: Mapping[str, Any], source: str = "<file>"
) -> Geometry:
    """The binning named on the command line, else the file's (see ``geometry_of_file``)."""
    return geometry_of_file(attrs, binning, particle=particle, source=source)
