"""Voxelisation: hits -> voxel energies (energy-conserving), its inverse, relevant layers.

- :func:`voxelise_hits` / :func:`voxelise`: hits -> CaloChallenge voxels, with leakage beyond
  the last r edge and energy in unused layers reported.
- :func:`relevant_layers_at` / :func:`relevant_layers`: FastCaloGAN's rule for the layers
  worth modelling, evaluated at one energy point (the nearest one when the point asked for is
  absent, with a warning).
- :func:`validate_binning`: a binning against a fine proxy binning (energies, centroids).
- :func:`invert` / :func:`invert_showers`: voxels -> hits as FastCaloGAN's Athena step.
"""

from ..data import geometry_of_file
from .config import InvertConfig, VoxeliseConfig
from .invert import InvertResult, VoxelGrid, invert, invert_showers, voxel_grid
from .relevant import (
    RelevantLayers,
    choose_energy_point,
    layers_from_energies,
    relevant_layers,
    relevant_layers_at,
    restrict_to_layers,
)
from .validate import BinningValidation, LayerComparison, proxy_binning, validate_binning
from .voxelise import (
    Voxelised,
    VoxeliseResult,
    hit_slots,
    summary_path_for,
    voxelise,
    voxelise_hits,
)

__all__ = [
    "BinningValidation",
    "InvertConfig",
    "InvertResult",
    "LayerComparison",
    "RelevantLayers",
    "VoxelGrid",
    "VoxeliseConfig",
    "VoxeliseResult",
    "Voxelised",
    "choose_energy_point",
    "geometry_of_file",
    "hit_slots",
    "invert",
    "invert_showers",
    "layers_from_energies",
    "proxy_binning",
    "relevant_layers",
    "relevant_layers_at",
    "restrict_to_layers",
    "summary_path_for",
    "validate_binning",
    "voxel_grid",
    "voxelise",
    "voxelise_hits",
]
