"""The binnings the package ships, and loading a binning by name or file.

``load_binning`` accepts a built-in name (``ds1-photons``, ``ds1-pions``), a CaloChallenge
XML file, or a YAML file in the package's own layout::

    name: my-binning
    particle: photon
    eta: [0.20, 0.25]
    layers:
      - {id: 1, n_alpha: 10, r_edges: [0, 2, 4, 8]}
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
from .particles import get_particle
from .xml import read_binning_xml

__all__ = [
    "BUILTIN_BINNINGS",
    "binning_from_mapping",
    "binning_to_mapping",
    "default_binning",
    "load_binning",
    "write_binning_yaml",
]

BUILTIN_BINNINGS: tuple[str, ...] = ("ds1-photons", "ds1-pions")


def binning_from_mapping(data: Any, source: str) -> Binning:
    """Build a binning from the package's YAML mapping; errors name ``source``."""
    if not isinstance(data, dict):
        raise BinningError(f"{source}: expected a mapping with name/particle/eta/layers")
    missing = [k for k in ("name", "particle", "eta", "layers") if k not in data]
    if missing:
        raise BinningError(f"{source}: missing keys {missing}")
    layers = []
    for i, lay in enumerate(data["layers"]):
        try:
            layers.append((int(lay["id"]), [float(x) for x in lay["r_edges"]], int(lay["n_alpha"])))
        except (KeyError, TypeError, ValueError) as err:
            raise BinningError(
                f"{source}: layers[{i}] needs id, r_edges (list of mm) and n_alpha ({err!r})"
            ) from err
    try:
        return Binning.from_layers(str(data["name"]), str(data["particle"]), data["eta"], layers)
    except BinningError as err:
        raise BinningError(f"{source}: {err}") from err


def binning_to_mapping(binning: Binning) -> dict[str, Any]:
    """The package's YAML layout of a binning (inverse of :func:`binning_from_mapping`).

    >>> from fastcalogan.geometry import load_binning
    >>> binning_to_mapping(load_binning("ds1-photons"))["layers"][0]["id"]
    0
    """
    return {
        "name": binning.name,
        "particle": binning.particle,
        "eta": [binning.eta_min, binning.eta_max],
        "layers": [
            {"id": lay.layer_id, "n_alpha": lay.n_alpha, "r_edges": list(lay.r_edges)}
            for lay in binning.layers
        ],
    }


def write_binning_yaml(binning: Binning, path: str | os.PathLike[str]) -> Path:
    """Write a binning as a YAML file that :func:`load_binning` reads back (atomically)."""
    return write_text(path, yaml.safe_dump(binning_to_mapping(binning), sort_keys=False))


def load_binning(
    name_or_path: str | os.PathLike[str],
    particle: str | None = None,
    eta: tuple[float, float] | None = None,
) -> Binning:
    """Load a binning by built-in name, XML file or YAML file.

    Args:
        name_or_path: ``ds1-photons``, ``ds1-pions``, or a path.
        particle: for XML files holding several particles, which one; for built-in names,
            relabel the binning for this particle (electrons use the photon binning).
        eta: relabel the |eta| slice the binning is used for.
    """
    key = str(name_or_path)
    if key in BUILTIN_BINNINGS:
        text = resources.files("fastcalogan.geometry").joinpath(f"binnings/{key}.yaml").read_text()
        binning = binning_from_mapping(yaml.safe_load(text), f"built-in binning {key}")
    else:
        path = Path(name_or_path)
        if not path.exists():
            raise BinningError(
                f"binning '{key}': not a built-in name ({', '.join(BUILTIN_BINNINGS)}) "
                "and no such file"
            )
        if path.suffix.lower() == ".xml":
            binning = read_binning_xml(path, particle)
        elif path.suffix.lower() in (".yaml", ".yml"):
            try:
                data = yaml.safe_load(path.read_text())
            except yaml.YAMLError as err:
                raise BinningError(f"{path}: not valid YAML ({err})") from err
            binning = binning_from_mapping(data, str(path))
        else:
            raise BinningError(f"{path}: expected a .xml or .yaml binning file")
    if particle is not None or eta is not None:
        binning = Binning(
            name=binning.name,
            particle=get_particle(particle).name if particle else binning.particle,
            eta_min=float(eta[0]) if eta else binning.eta_min,
            eta_max=float(eta[1]) if eta else binning.eta_max,
            layers=binning.layers,
        )
    return binning


def default_binning(particle: str, eta: tuple[float, float] | None = None) -> Binning:
    """The built-in binning for a particle: EM particles use ds1-photons, hadrons ds1-pions."""
    p = get_particle(particle)
    name = "ds1-photons" if p.shower == "em" else "ds1-pions"
    return load_binning(name, particle=p.name, eta=eta)
