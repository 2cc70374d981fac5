"""Reference simulator: physics-based parametric EM and hadronic showers (numpy, seeded).

Photons and electrons follow the GFlash sampling-calorimeter parameterisation; charged
pions (and other hadrons, at kinetic energy) a MIP track up to the first interaction and a
fluctuating e.m. / hadronic shower with per-calorimeter e/h. Two outputs: hits
(:func:`simulate_hits`) and voxels directly (:func:`simulate_voxels`, the fast path).
"""

from .api import (
    SimulateResult,
    apply_readout_threshold,
    resolve_energies,
    simulate,
    simulate_hits,
    simulate_voxels,
)
from .config import READOUT_THRESHOLD_MEV, SimulateConfig

__all__ = [
    "READOUT_THRESHOLD_MEV",
    "SimulateConfig",
    "SimulateResult",
    "apply_readout_threshold",
    "resolve_energies",
    "simulate",
    "simulate_hits",
    "simulate_voxels",
]
