"""Geometry: units, ATLAS layers, particles, and voxel binnings in (r, alpha, layer)."""

from .binning import Binning, LayerBinning
from .catalogue import (
    BUILTIN_BINNINGS,
    binning_from_mapping,
    binning_to_mapping,
    default_binning,
    load_binning,
    write_binning_yaml,
)
from .layers import BARREL_LAYERS, LAYER_NAMES, layer_name
from .locate import hit_slots
from .particles import PARTICLES, Particle, get_particle
from .xml import read_binning_xml, write_binning_xml

__all__ = [
    "BARREL_LAYERS",
    "BUILTIN_BINNINGS",
    "LAYER_NAMES",
    "PARTICLES",
    "Binning",
    "LayerBinning",
    "Particle",
    "binning_from_mapping",
    "binning_to_mapping",
    "default_binning",
    "get_particle",
    "hit_slots",
    "layer_name",
    "load_binning",
    "read_binning_xml",
    "write_binning_xml",
    "write_binning_yaml",
]
