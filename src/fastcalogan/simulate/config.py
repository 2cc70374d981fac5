"""Configuration of the reference simulator."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig
from ..errors import ConfigError
from ..geometry import get_particle
from .detectors import DETECTORS

__all__ = [
    "ETA_MAX",
    "E_MAX_MEV",
    "E_MIN_MEV",
    "LAYOUTS",
    "READOUT_THRESHOLD_MEV",
    "SimulateConfig",
]

#: Barrel validity of the geometry: |eta| up to 1.4.
ETA_MAX = 1.4
#: Validity in energy: 256 MeV to 2^22 MeV (4.2 TeV), the dataset-1 range.
E_MIN_MEV = 256.0
E_MAX_MEV = 4194304.0
#: Voxel energies below this (MeV, as recorded) are read out as exact zeros: 10 keV, of the
#: order of CaloChallenge datasets 2 and 3 (0.5 keV in the active medium over a 3.3 %
#: sampling fraction, 15 keV). Without it the parametric profiles leave 1e-20 MeV crumbs in
#: voxels a Geant4 sample would show as empty. The energy below it is under 1e-4 of E_tot
#: at every dataset-1 point (docs/reference-simulator.md, section 4).
READOUT_THRESHOLD_MEV = 0.01
#: File layouts ``simulate`` writes: CaloChallenge, the public CaloGAN layout, the LHCb ECAL
#: layout (showers (N, 30, 30) with five conditions), the ATLAS cells with their alignments.
LAYOUTS = ("calochallenge", "calogan", "lhcb", "atlas-cells")


class SimulateConfig(StageConfig):
    """What to simulate and where the randomness comes from.

    Attributes:
        detector: ``atlas-barrel`` (default), ``calogan``, ``lhcb-ecal`` or ``atlas-cells``.
        particle: photon, electron, pion, proton, antiproton, ... (hadrons use the pion model).
        eta_min, eta_max: |eta| slice of the barrel detectors; each event's |eta| is drawn
            uniformly in it (the test-beam detectors have none).
        energies: ``"ds1"`` (15 points 2^8..2^22 MeV, dataset-1 counts scaled by
            ``events / 10000``) or a list of incident energies in MeV (``events`` each); with
            neither this nor ``energy_range``, the detector's default.
        energy_range: ``[E_min, E_max]`` MeV: ``events`` incident energies drawn uniformly.
        events: events per point (explicit list), in all (energy range), or the ds1 scale
            (10000 = dataset 1).
        seed: seed of the per-batch random streams.
        batch_size: events per random stream; output is bit-identical for a given
            (seed, batch_size).
        binning: geometry name or file; default: the detector's (the barrel: the particle's
            dataset-1 binning).
        transverse: ``integrate`` the lateral profile over voxels or cells (fast), or draw
            ``spots`` and bin them.
        layout: file layout; default: the detector's.
        hits: also write the hit-level file (the barrel only).
        readout_threshold_mev: voxel or cell energies below this are written as exact zeros
            (:data:`READOUT_THRESHOLD_MEV`); 0 keeps every deposit. Hits are not thresholded.
    """

    detector: str = "atlas-barrel"
    particle: str = "photon"
    eta_min: float = pydantic.Field(0.20, ge=0.0, le=ETA_MAX)
    eta_max: float = pydantic.Field(0.25, ge=0.0, le=ETA_MAX)
    energies: Literal["ds1"] | list[pydantic.PositiveFloat] | None = None
    energy_range: tuple[pydantic.PositiveFloat, pydantic.PositiveFloat] | None = None
    events: int = pydantic.Field(10_000, ge=1, le=100_000_000)
    seed: int = pydantic.Field(0, ge=0, lt=2**63)
    batch_size: int = pydantic.Field(1024, ge=1, le=1_000_000)
    binning: str | None = None
    transverse: Literal["integrate", "spots"] = "integrate"
    layout: Literal["calochallenge", "calogan", "lhcb", "atlas-cells"] | None = None
    hits: bool = False
    readout_threshold_mev: float = pydantic.Field(READOUT_THRESHOLD_MEV, ge=0.0, le=1000.0)

    @pydantic.field_validator("detector")
    @classmethod
    def _known_detector(cls, value: str) -> str:
        if value not in DETECTORS:
            raise ValueError(f"unknown detector '{value}' (known: {', '.join(DETECTORS)})")
        return value

    @pydantic.field_validator("particle")
    @classmethod
    def _known_particle(cls, value: str) -> str:
        try:
            return get_particle(value).name
        except ConfigError as err:
            raise ValueError(str(err)) from err

    @pydantic.field_validator("energies")
    @classmethod
    def _energy_range(cls, value: str | list[float]) -> str | list[float]:
        if isinstance(value, list):
            if not value:
                raise ValueError("needs at least one energy in MeV")
            bad = [e for e in value if not E_MIN_MEV <= e <= E_MAX_MEV]
            if bad:
                raise ValueError(
                    f"energy {bad[0]:g} MeV is outside the simulator's range "
                    f"{E_MIN_MEV:g}..{E_MAX_MEV:g} MeV"
                )
            if len(set(value)) != len(value):
                raise ValueError("energies must be distinct")
        return value

    @pydantic.field_validator("eta_min", "eta_max")
    @classmethod
    def _detector_has_eta(cls, value: float, info: pydantic.ValidationInfo) -> float:
        # runs only for values given (defaults are not validated)
        detector = DETECTORS.get(str(info.data.get("detector")))
        if detector is not None and detector.incidence.eta is None:
            raise ValueError(
                f"detector {detector.name} has no |eta| slice (particles enter by "
                f"{detector.incidence.describe()}); leave eta_min/eta_max out"
            )
        return value

    @pydantic.field_validator("hits")
    @classmethod
    def _hits_of_barrel(cls, value: bool, info: pydantic.ValidationInfo) -> bool:
        detector = DETECTORS.get(str(info.data.get("detector")))
        if value and detector is not None and detector.layout != "calochallenge":
            raise ValueError(
                f"hit files hold (r, alpha) hits of the barrel; detector {detector.name} reads "
                "cells (use transverse: spots to draw spots)"
            )
        return value

    @pydantic.field_validator("energy_range")
    @classmethod
    def _range_order(
        cls, value: tuple[float, float] | None, info: pydantic.ValidationInfo
    ) -> tuple[float, float] | None:
        if value is None:
            return value
        if info.data.get("energies") is not None:
            raise ValueError("give energies or energy_range, not both")
        lo, hi = value
        if not lo < hi:
            raise ValueError(f"needs E_min < E_max in MeV, found {lo:g}..{hi:g}")
        if lo < E_MIN_MEV or hi > E_MAX_MEV:
            raise ValueError(
                f"{lo:g}..{hi:g} MeV is outside the simulator's range "
                f"{E_MIN_MEV:g}..{E_MAX_MEV:g} MeV"
            )
        return value

    @pydantic.model_validator(mode="after")
    def _eta_order(self) -> SimulateConfig:
        if not self.eta_min < self.eta_max:
            raise ValueError(
                f"need eta_min < eta_max, found eta_min={self.eta_min} eta_max={self.eta_max}"
            )
        return self
