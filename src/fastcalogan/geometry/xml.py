"""Reader and writer of the CaloChallenge binning XML format.

The format has one ``<Bin pid= etaMin= etaMax= name=>`` per particle (eta in units of 0.01)
with one ``<Layer id= r_edges= n_bin_alpha=>`` per sampling id; ``r_edges="0"`` marks an
unused layer.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from .._fileio import write_text
from ..errors import BinningError
from .binning import Binning, LayerBinning
from .particles import get_particle

__all__ = ["read_binning_xml", "write_binning_xml"]


def _attr(elem: ET.Element, key: str, where: str) -> str:
    value = elem.attrib.get(key)
    if value is None:
        raise BinningError(f"{where}: missing attribute '{key}'")
    return value


def read_binning_xml(path: str | os.PathLike[str], particle: str | None = None) -> Binning:
    """Read one particle's binning from a CaloChallenge XML file.

    Args:
        path: the XML file.
        particle: ``name`` of the ``<Bin>`` to read; may be omitted when the file has one.

    Returns:
        The binning, named after the file stem.

    Raises:
        BinningError: unreadable file, malformed XML, missing particle or attributes, bad edges.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except OSError as err:
        raise BinningError(f"{path}: cannot read binning file ({err.strerror})") from err
    except ET.ParseError as err:
        raise BinningError(f"{path}: not valid XML ({err})") from err
    bins = [b for b in root.iter("Bin")]
    if not bins:
        raise BinningError(f"{path}: expected <Bin> elements under <Bins>, found none")
    names = [b.attrib.get("name", "?") for b in bins]
    if particle is None:
        if len(bins) > 1:
            raise BinningError(f"{path}: holds particles {names}; say which one to read")
        chosen = bins[0]
    else:
        wanted = {particle, get_particle(particle).name} if particle else {particle}
        matches = [b for b in bins if b.attrib.get("name") in wanted]
        if not matches:
            raise BinningError(f"{path}: no <Bin name='{particle}'> (found {names})")
        chosen = matches[0]
    where = f"{path}: <Bin name='{chosen.attrib.get('name', '?')}'>"
    try:
        eta_min = float(_attr(chosen, "etaMin", where)) / 100.0
        eta_max = float(_attr(chosen, "etaMax", where)) / 100.0
    except ValueError as err:
        raise BinningError(f"{where}: etaMin/etaMax must be numbers ({err})") from err
    layers = []
    for elem in chosen.iter("Layer"):
        lid = _attr(elem, "id", where)
        lwhere = f"{where} <Layer id='{lid}'>"
        try:
            edges = tuple(float(s) for s in _attr(elem, "r_edges", lwhere).split(","))
            n_alpha = int(_attr(elem, "n_bin_alpha", lwhere))
            layer_id = int(lid)
        except ValueError as err:
            raise BinningError(f"{lwhere}: expected numbers ({err})") from err
        if len(edges) < 2:
            continue  # r_edges="0": layer not used
        try:
            layers.append(LayerBinning(layer_id, edges, n_alpha))
        except BinningError as err:
            raise BinningError(f"{path}: {err}") from err
    return Binning(
        name=path.stem,
        particle=chosen.attrib.get("name", particle or "unknown"),
        eta_min=eta_min,
        eta_max=eta_max,
        layers=tuple(sorted(layers, key=lambda lay: lay.layer_id)),
    )


def write_binning_xml(binning: Binning, path: str | os.PathLike[str]) -> Path:
    """Write a binning in the CaloChallenge XML layout (all 24 sampling ids listed)."""
    particle = get_particle(binning.particle)
    root = ET.Element("Bins")
    b = ET.SubElement(
        root,
        "Bin",
        pid=str(abs(particle.pdg)),
        etaMin=f"{round(binning.eta_min * 100):d}",
        etaMax=f"{round(binning.eta_max * 100):d}",
        name=binning.particle,
    )
    used = {lay.layer_id: lay for lay in binning.layers}
    for lid in range(24):
        lay = used.get(lid)
        edges = ",".join(f"{e:g}" for e in lay.r_edges) if lay else "0"
        ET.SubElement(
            b, "Layer", id=str(lid), r_edges=edges, n_bin_alpha=str(lay.n_alpha if lay else 1)
        )
    ET.indent(root)
    return write_text(path, ET.tostring(root, encoding="unicode") + "\n")
