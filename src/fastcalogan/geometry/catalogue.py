"""The geometries the package ships, the one serialised form, and loading by name or file.

Every kind serialises to one mapping (plain YAML/JSON types) with a ``kind`` key; run
folders (``binning.yaml``), checkpoints, ONNX sidecars, shower-file attributes and
evaluation outputs all store this mapping::

    kind: polar                 # or cartesian; a mapping without it reads as polar
    name: my-binning
    particle: photon
    eta: [0.20, 0.25]           # or null: no |eta| slice
    n_voxels: 30                # optional when read; checked against the layers if given
    layers:                     # sorted by id; name, depth_mm, thickness_x0 are optional
      - {id: 1, name: EMB1, n_alpha: 10, r_edges: [0, 2, 4, 8]}

A Cartesian layer has ``cells: [n_eta, n_phi]`` and ``cell_size_mm: [eta, phi]`` instead of
``n_alpha`` and ``r_edges``. ``load_geometry`` accepts a built-in name (``ds1-photons``,
``ds1-pions``, ``calogan``, ``lhcb-ecal``, ``atlas-cells``), a CaloChallenge binning XML file,
or a YAML (or JSON) file of this mapping.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._fileio import write_text
from ..errors import BinningError
from .binning import Binning
from .cartesian import CartesianGeometry
from .particles import get_particle
from .protocol import Geometry
from .xml import read_binning_xml

__all__ = [
    "BUILTIN_GEOMETRIES",
    "GEOMETRY_KINDS",
    "default_geometry",
    "geometry_from_mapping",
    "geometry_to_mapping",
    "load_geometry",
    "write_geometry_yaml",
]

BUILTIN_GEOMETRIES: tuple[str, ...] = (
    "ds1-photons",
    "ds1-pions",
    "calogan",
    "lhcb-ecal",
    "atlas-cells",
)

#: Every geometry kind by its serialised ``kind``; files without a ``kind`` are polar.
GEOMETRY_KINDS: dict[str, type[Geometry]] = {
    Binning.kind: Binning,
    CartesianGeometry.kind: CartesianGeometry,
}


def geometry_to_mapping(geometry: Geometry) -> dict[str, Any]:
    """The serialised form of a geometry of any kind (inverse of :func:`geometry_from_mapping`).

    >>> m = geometry_to_mapping(load_geometry("ds1-photons"))
    >>> m["kind"], m["n_voxels"], m["layers"][2]["name"]
    ('polar', 368, 'EMB2')
    """
    return geometry.to_mapping()


def _eta(value: Any, source: str) -> tuple[float, float] | None:
    if value is None:
        return None
    try:
        lo, hi = (float(x) for x in value)
    except (TypeError, ValueError) as err:
        raise BinningError(f"{source}: eta must be [eta_min, eta_max] or null ({err})") from err
    return (lo, hi)


def geometry_from_mapping(data: Any, source: str) -> Geometry:
    """Build a geometry from its serialised form; errors name ``source``.

    Raises:
        BinningError: not a mapping, missing keys, an unknown kind, bad layers, or an
            ``n_voxels`` that disagrees with the layers.
    """
    if not isinstance(data, dict):
        raise BinningError(f"{source}: expected a mapping with kind/name/particle/eta/layers")
    kind = str(data.get("kind", "polar"))
    cls = GEOMETRY_KINDS.get(kind)
    if cls is None:
        raise BinningError(
            f"{source}: kind '{kind}' is unknown (known: {', '.join(GEOMETRY_KINDS)})"
        )
    missing = [k for k in ("name", "particle", "layers") if k not in data]
    if missing:
        raise BinningError(f"{source}: missing keys {missing}")
    if not isinstance(data["layers"], list):
        found = type(data["layers"]).__name__
        raise BinningError(f"{source}: layers must be a list, found {found}")
    layers = []
    for i, lay in enumerate(data["layers"]):
        if not isinstance(lay, dict):
            raise BinningError(f"{source}: layers[{i}] must be a mapping, found {lay!r}")
        layers.append(cls.layer_from_mapping(lay, f"{source}: layers[{i}]"))
    eta = _eta(data.get("eta"), source)
    try:
        geometry = cls(
            name=str(data["name"]),
            particle=str(data["particle"]),
            eta_min=None if eta is None else eta[0],
            eta_max=None if eta is None else eta[1],
            layers=tuple(sorted(layers, key=lambda lay: lay.layer_id)),
        )
    except BinningError as err:
        raise BinningError(f"{source}: {err}") from err
    declared = data.get("n_voxels")
    if declared is not None and int(declared) != geometry.n_voxels:
        raise BinningError(
            f"{source}: n_voxels is {declared} but the layers define {geometry.n_voxels} voxels"
        )
    return geometry


def write_geometry_yaml(geometry: Geometry, path: str | os.PathLike[str]) -> Path:
    """Write a geometry as a YAML file that :func:`load_geometry` reads back (atomically)."""
    return write_text(path, yaml.safe_dump(geometry_to_mapping(geometry), sort_keys=False))


def load_geometry(
    name_or_path: str | os.PathLike[str],
    particle: str | None = None,
    eta: tuple[float, float] | None = None,
) -> Geometry:
    """Load a geometry by built-in name, CaloChallenge XML file or YAML/JSON file.

    Args:
        name_or_path: a built-in name (:data:`BUILTIN_GEOMETRIES`) or a path.
        particle: for XML files holding several particles, which one; for any geometry,
            relabel it for this particle (electrons use the photon binning).
        eta: relabel the |eta| slice the geometry is used for.

    Raises:
        BinningError: unknown name, missing or malformed file.
    """
    key = str(name_or_path)
    geometry: Geometry
    if key in BUILTIN_GEOMETRIES:
        text = resources.files("fastcalogan.geometry").joinpath(f"binnings/{key}.yaml").read_text()
        geometry = geometry_from_mapping(yaml.safe_load(text), f"built-in geometry {key}")
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise BinningError(
                f"geometry '{key}': not a built-in name ({', '.join(BUILTIN_GEOMETRIES)}) "
                "and no such file"
            )
        if path.suffix.lower() == ".xml":
            geometry = read_binning_xml(path, particle)
        elif path.suffix.lower() in (".yaml", ".yml", ".json"):
            try:
                data = yaml.safe_load(path.read_text())
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
                raise BinningError(f"{path}: not a readable YAML/JSON file ({err})") from err
            geometry = geometry_from_mapping(data, str(path))
        else:
            raise BinningError(f"{path}: expected a .xml, .yaml or .json geometry file")
    if particle is not None or eta is not None:
        geometry = geometry.relabel(
            particle=get_particle(particle).name if particle else None, eta=eta
        )
    return geometry


def default_geometry(particle: str, eta: tuple[float, float] | None = None) -> Geometry:
    """The built-in binning for a particle: EM particles use ds1-photons, hadrons ds1-pions."""
    p = get_particle(particle)
    name = "ds1-photons" if p.shower == "em" else "ds1-pions"
    return load_geometry(name, particle=p.name, eta=eta)
