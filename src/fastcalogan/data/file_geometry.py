"""Which geometry a shower file holds: the one it carries, else what its attributes name."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import BinningError, FastCaloGANError
from ..geometry import (
    BUILTIN_GEOMETRIES,
    Geometry,
    geometry_from_mapping,
    get_particle,
    load_geometry,
)
from ._layout_io import GEOMETRY_ATTR

__all__ = ["geometry_label_mismatch", "geometry_of_file"]


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


def _eta_text(eta: tuple[float, float]) -> str:
    return f"|eta| {eta[0]:.2f}-{eta[1]:.2f}"


def geometry_label_mismatch(
    geometry: Geometry, particle: str | None, eta: tuple[float, float] | None
) -> str | None:
    """How a geometry's labels contradict the showers', or ``None`` when they agree.

    A geometry made for another kind of shower (a pion binning for photons: hadronic versus
    electromagnetic) or for an |eta| range that does not hold the showers' slice (a binning of
    |eta| 1.50-2.00 for showers at 0.20-0.25) does not describe them, even with the right
    voxel count. Electrons with a photon binning, or a slice inside a binning's wider range
    (the built-in dataset-1 binnings cover |eta| 0-1.30), agree. Missing labels agree.

    >>> from fastcalogan.geometry import load_geometry
    >>> g = load_geometry("ds1-photons")
    >>> geometry_label_mismatch(g, "electron", (0.20, 0.25)) is None
    True
    >>> geometry_label_mismatch(g.relabel(eta=(1.5, 2.0)), "photon", (0.20, 0.25))
    'is for |eta| 1.50-2.00, but the showers are at |eta| 0.20-0.25'
    >>> geometry_label_mismatch(g.relabel(particle="pion"), "photon", None)
    'is for pion (hadron showers), but the showers are photon (em showers)'
    """
    problems = []
    if particle and geometry.particle:
        try:
            ours, theirs = get_particle(geometry.particle), get_particle(particle)
        except FastCaloGANError:  # an unknown label says nothing: the readers name it
            ours = theirs = get_particle("photon")
        if ours.shower != theirs.shower:
            problems.append(
                f"is for {ours.name} ({ours.shower} showers), but the showers are "
                f"{theirs.name} ({theirs.shower} showers)"
            )
    if eta is not None and geometry.eta is not None:
        lo, hi = geometry.eta
        if eta[0] < lo - 1e-6 or eta[1] > hi + 1e-6:
            problems.append(
                f"is for {_eta_text(geometry.eta)}, but the showers are at {_eta_text(eta)}"
            )
    return "; and ".join(problems) if problems else None


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
