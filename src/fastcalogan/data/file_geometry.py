"""Which geometry a shower file holds: the one it carries, else what its attributes name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import BinningError
from ..geometry import (
    BUILTIN_GEOMETRIES,
    Geometry,
    geometry_from_mapping,
    get_particle,
    load_geometry,
)
from .showers import GEOMETRY_ATTR

__all__ = ["geometry_of_file"]


def _carried(attrs: Mapping[str, Any], source: str) -> Geometry | None:
    """The geometry stored in the file's ``geometry`` attribute, if any."""
    text = attrs.get(GEOMETRY_ATTR)
    if not text:
        return None
    where = f"{source}: attribute '{GEOMETRY_ATTR}'"
    try:
        data = json.loads(str(text))
    except json.JSONDecodeError as err:
        raise BinningError(f"{where}: expected the geometry as JSON text ({err})") from err
    return geometry_from_mapping(data, where)


def geometry_of_file(
    attrs: Mapping[str, Any],
    geometry: Geometry | str | None = None,
    particle: str | None = None,
    source: str = "<showers>",
) -> Geometry:
    """The geometry of a shower file.

    In order: ``geometry`` when given (an object, a built-in name or a file); else the
    geometry the file carries (its ``geometry`` attribute); else, for files written before
    files carried it, the ``binning`` attribute (a built-in name or a file), restricted to the
    ids in ``binning_layers`` when the file was voxelised with only the relevant layers; else
    the built-in binning with the file's voxel count.

    Args:
        attrs: file attributes, with ``n_voxels`` (as :func:`read_shower_attrs` returns them).
        geometry: a geometry, a built-in name or a file; overrides the attributes.
        particle: particle for XML files holding several; relabels the geometry.
        source: file name used in messages.

    Raises:
        BinningError: the carried geometry is malformed, or no geometry fits the file's voxel
            count.
    """
    if isinstance(geometry, Geometry):
        g = geometry
    elif geometry:
        g = load_geometry(str(geometry), particle=particle)
    elif (carried := _carried(attrs, source)) is not None:
        g = carried
        if particle is not None:
            g = g.relabel(particle=get_particle(particle).name)
    elif attrs.get("binning"):
        g = load_geometry(str(attrs["binning"]), particle=particle)
    else:
        n_vox = int(attrs.get("n_voxels", -1))
        for builtin in BUILTIN_GEOMETRIES:
            g = load_geometry(builtin, particle=particle)
            if g.n_voxels == n_vox:
                break
        else:
            raise BinningError(
                f"{source}: no 'binning' attribute and no built-in binning has {n_vox} voxels; "
                "name it (--binning, or binning: in the config)"
            )
    layers = attrs.get("binning_layers")
    if layers is not None:
        ids = tuple(int(i) for i in layers)
        if ids != g.layer_ids and set(ids) <= set(g.layer_ids):
            g = g.with_layers(ids)
    found = attrs.get("n_voxels")
    if found is not None and int(found) != g.n_voxels:
        raise BinningError(
            f"{source}: showers have {found} voxels; binning {g.name} has {g.n_voxels} "
            "(check --binning, or binning: in the config)"
        )
    return g
