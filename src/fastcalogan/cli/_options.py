"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from ..errors import BinningError
from ..geometry import Binning, load_binning

F = TypeVar("F", bound=Callable[..., Any])

_BY_VOXELS = {368: "ds1-photons", 533: "ds1-pions"}


def binning_option(required: bool = True) -> Callable[[F], F]:
    """``--binning NAME|FILE``: a built-in binning name, a CaloChallenge XML or a YAML file."""
    return click.option(
        "--binning",
        required=required,
        default=None,
        help="Binning: ds1-photons, ds1-pions, or a .xml/.yaml file "
        "(default: from the file's attributes or its voxel count).",
    )


def resolve_binning(binning: str | None, particle: str | None, attrs: Mapping[str, Any]) -> Binning:
    """The binning named on the command line, else the file's, else guessed from voxels."""
    if binning:
        return load_binning(binning, particle=particle)
    name = attrs.get("binning")
    if name:
        try:
            return load_binning(str(name), particle=particle)
        except BinningError:
            pass
    guess = _BY_VOXELS.get(int(attrs.get("n_voxels", -1)))
    if guess is None:
        raise BinningError(
            f"cannot tell the binning of a file with {attrs.get('n_voxels')} voxels; pass --binning"
        )
    return load_binning(guess, particle=particle)
