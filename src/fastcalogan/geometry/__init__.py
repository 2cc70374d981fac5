"""Geometry: units, particles, and the voxels of a detector behind one protocol.

:class:`Geometry` is what later stages use without knowing the kind: layers with plain
integer ids and names, voxels per layer, offsets and slices, each layer's image shape, voxel
centres in mm. Two kinds: the polar :class:`Binning` in (r, alpha, layer) (the CaloChallenge
and FastCaloGAN binnings) and the :class:`CartesianGeometry` of rectangular cell grids. One
serialised form (:func:`geometry_to_mapping` / :func:`geometry_from_mapping`) and one loader
(:func:`load_geometry`: built-in names, CaloChallenge XML, YAML) serve every stage.
"""

from .binning import Binning, LayerBinning, require_polar
from .cartesian import CartesianGeometry, CartesianLayer
from .catalogue import (
    BUILTIN_GEOMETRIES,
    GEOMETRY_KINDS,
    default_geometry,
    geometry_from_mapping,
    geometry_to_mapping,
    load_geometry,
    write_geometry_yaml,
)
from .layers import BARREL_LAYERS, LAYER_NAMES, default_layer_names, layer_name
from .locate import cell_slots, hit_slots
from .particles import PARTICLES, Particle, get_particle
from .protocol import Geometry, GeometryLayer
from .xml import read_binning_xml, write_binning_xml

__all__ = [
    "BARREL_LAYERS",
    "BUILTIN_GEOMETRIES",
    "GEOMETRY_KINDS",
    "LAYER_NAMES",
    "PARTICLES",
    "Binning",
    "CartesianGeometry",
    "CartesianLayer",
    "Geometry",
    "GeometryLayer",
    "LayerBinning",
    "Particle",
    "cell_slots",
    "default_geometry",
    "default_layer_names",
    "geometry_from_mapping",
    "geometry_to_mapping",
    "get_particle",
    "hit_slots",
    "layer_name",
    "load_geometry",
    "read_binning_xml",
    "require_polar",
    "write_binning_xml",
    "write_geometry_yaml",
]
