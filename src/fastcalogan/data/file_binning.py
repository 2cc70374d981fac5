"""Which binning a shower file was written with (its attributes name it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BinningError
from ..geometry import BUILTIN_BINNINGS, Binning, load_binning

__all__ = ["binning_of_file"]


def binning_of_file(
    attrs: Mapping[str, Any],
    binning: Binning | str | None = None,
    particle: str | None = None,
    source: str = "<showers>",
) -> Binning:
    """The binning of a shower file: the one given, else the file's ``binning`` attribute.

    A file voxelised with only the relevant layers stores the kept sampling ids in
    ``binning_layers``; the binning is then restricted to them. Without any name the built-in
    binning with the file's voxel count is taken.

    Args:
        attrs: file attributes, with ``n_voxels`` (as :func:`read_shower_attrs` returns them).
        binning: a binning, a built-in name or a file; overrides the attributes.
        particle: particle for XML files holding several.
        source: file name used in messages.

    Raises:
        BinningError: no binning fits the file's voxel count.
    """
    if isinstance(binning, Binning):
        b = binning
    else:
        name = binning or attrs.get("binning")
        if name:
            b = load_binning(str(name), particle=particle)
        else:
            n_vox = int(attrs.get("n_voxels", -1))
            for builtin in BUILTIN_BINNINGS:
                b = load_binning(builtin, particle=particle)
                if b.n_voxels == n_vox:
                    break
            else:
                raise BinningError(
                    f"{source}: no 'binning' attribute and no built-in binning has {n_vox} voxels; "
                    "name it (--binning, or binning: in the config)"
                )
    layers = attrs.get("binning_layers")
    if layers is not None:
        ids = tuple(int(i) for i in layers)
        if ids != b.layer_ids and set(ids) <= set(b.layer_ids):
            b = b.with_layers(ids)
    found = attrs.get("n_voxels")
    if found is not None and int(found) != b.n_voxels:
        raise BinningError(
            f"{source}: showers have {found} voxels; binning {b.name} has {b.n_voxels} "
            "(check --binning, or binning: in the config)"
        )
    return b
