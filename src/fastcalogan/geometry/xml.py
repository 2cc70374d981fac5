"""Reader and writer of the CaloChallenge binning XML format.

The format has one ``<Bin pid= etaMin= etaMax= name=>`` per particle (eta in units of 0.01;
datasets 2 and 3 give none) with one ``<Layer id= r_edges= n_bin_alpha=>`` per layer id;
``r_edges="0"`` marks an unused layer. A file listing only ids 0..23 (dataset 1) numbers ATLAS
samplings, whose names the layers take; other ids are plain (``layer 7``).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

from .._fileio import write_text
from ..errors import BinningError
from .binning import Binning, LayerBinning, require_polar
from .layers import default_layer_names
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
        The polar binning, named after the file stem; without ``etaMin``/``etaMax`` it has
        no |eta| slice.

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
    eta: tuple[float, float] | None = None
    if "etaMin" in chosen.attrib or "etaMax" in chosen.attrib:
        try:
            eta = (
                float(_attr(chosen, "etaMin", where)) / 100.0,
                float(_attr(chosen, "etaMax", where)) / 100.0,
            )
        except ValueError as err:
            raise BinningError(f"{where}: etaMin/etaMax must be numbers ({err})") from err
    specs = []
    listed = []
    for elem in chosen.iter("Layer"):
        lid = _attr(elem, "id", where)
        lwhere = f"{where} <Layer id='{lid}'>"
        try:
            edges = tuple(float(s) for s in _attr(elem, "r_edges", lwhere).split(","))
            n_alpha = int(_attr(elem, "n_bin_alpha", lwhere))
            layer_id = int(lid)
        except ValueError as err:
            raise BinningError(f"{lwhere}: expected numbers ({err})") from err
        listed.append(layer_id)
        if len(edges) >= 2:  # r_edges="0": layer not used
            specs.append((layer_id, edges, n_alpha))
    layer_names = dict(zip(listed, default_layer_names(listed), strict=True))
    try:
        layers = [LayerBinning(i, edges, n, name=layer_names[i]) for i, edges, n in specs]
        return Binning(
            name=path.stem,
            particle=chosen.attrib.get("name", particle or "unknown"),
            eta_min=None if eta is None else eta[0],
            eta_max=None if eta is None else eta[1],
            layers=tuple(sorted(layers, key=lambda lay: lay.layer_id)),
        )
    except BinningError as err:
        raise BinningError(f"{path}: {err}") from err


def write_binning_xml(binning: Binning, path: str | os.PathLike[str]) -> Path:
    """Write a polar binning in the CaloChallenge XML layout.

    Every id from 0 up is listed (0..23 at least when the ids are ATLAS sampling ids), unused
    ones with ``r_edges="0"``. Layer names, depths and thicknesses are not part of the format.
    """
    binning = require_polar(binning, "the CaloChallenge binning XML")
    particle = get_particle(binning.particle)
    root = ET.Element("Bins")
    attrs = {"pid": str(abs(particle.pdg))}
    if binning.eta is not None:
        attrs["etaMin"] = f"{round(binning.eta[0] * 100):d}"
        attrs["etaMax"] = f"{round(binning.eta[1] * 100):d}"
    b = ET.SubElement(root, "Bin", attrs, name=binning.particle)
    used = {lay.layer_id: lay for lay in binning.layers}
    n_listed = max(max(used) + 1, 24 if max(used) < 24 else 0)
    for lid in range(n_listed):
        lay = used.get(lid)
        edges = ",".join(f"{e:g}" for e in lay.r_edges) if lay else "0"
        ET.SubElement(
            b, "Layer", id=str(lid), r_edges=edges, n_bin_alpha=str(lay.n_alpha if lay else 1)
        )
    ET.indent(root)
    return write_text(path, ET.tostring(root, encoding="unicode") + "\n")
