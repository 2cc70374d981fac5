"""Reference simulator: physics-based parametric EM and hadronic showers (numpy, seeded).

Photons and electrons follow the GFlash sampling-calorimeter parameterisation; charged
pions (and other hadrons, at kinetic energy) a MIP track up to the first interaction and a
fluctuating e.m. / hadronic shower with per-calorimeter e/h. The physics runs in a detector
description (:class:`Detector`: a stack of slabs, how the signal is read, a readout geometry,
an incidence); built-in detectors: ``atlas-barrel`` (the default), ``calogan``, ``lhcb-ecal``,
``atlas-cells`` (:data:`DETECTORS`). Outputs: voxels or cells directly
(:func:`simulate_showers`, :func:`simulate_voxels` for the barrel, the fast paths), hits of the
barrel (:func:`simulate_hits`), and files (:func:`simulate`).
"""

from .api import (
    SimulatedShowers,
    SimulateResult,
    apply_readout_threshold,
    detector_geometry,
    resolve_energies,
    simulate,
    simulate_hits,
    simulate_showers,
    simulate_voxels,
)
from .atlas_cells import AtlasCellsIncidence
from .config import READOUT_THRESHOLD_MEV, SimulateConfig
from .detector import (
    Detector,
    EtaSlice,
    FaceIncidence,
    GivenTracks,
    Incidence,
    NormalIncidence,
    Signal,
    Tracks,
)
from .detectors import DETECTORS, get_detector
from .em import SamplingMedium
from .material import Medium, Slab
from .materials import Element, SamplingStructure

__all__ = [
    "DETECTORS",
    "READOUT_THRESHOLD_MEV",
    "AtlasCellsIncidence",
    "Detector",
    "Element",
    "EtaSlice",
    "FaceIncidence",
    "GivenTracks",
    "Incidence",
    "Medium",
    "NormalIncidence",
    "SamplingMedium",
    "SamplingStructure",
    "Signal",
    "SimulateConfig",
    "SimulateResult",
    "SimulatedShowers",
    "Slab",
    "Tracks",
    "apply_readout_threshold",
    "detector_geometry",
    "get_detector",
    "resolve_energies",
    "simulate",
    "simulate_hits",
    "simulate_showers",
    "simulate_voxels",
]
