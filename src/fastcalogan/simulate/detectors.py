"""The detectors the reference simulator knows, by ``--detector`` name.

* ``atlas-barrel``: the ATLAS-like barrel of the CaloChallenge dataset-1 samples (the
  default; its output is bit-identical to the simulator before detector descriptions).
* ``calogan``: the three-layer Pb/LAr calorimeter of CaloGAN (Paganini, de Oliveira, Nachman,
  PRL 120 (2018) 042003, PRD 97 (2018) 014021), a 480 mm cube read in absorber and active
  material alike.
* ``lhcb-ecal``: a 30 x 30 cell region of the LHCb shashlik ECAL (66 x (2 mm Pb + 4 mm
  scintillator)), electrons with momentum and impact point (Chekalina et al., EPJ Web Conf.
  214 (2019) 02034), read in the scintillator.
* ``atlas-cells``: the ATLAS barrel read in 266 cells around the impact cell
  (ATL-SOFT-PUB-2018-001): photons at |eta| 0.20-0.25, 2^0..2^8 GeV.

Add a detector by building a :class:`~fastcalogan.simulate.Detector` and registering it here
(``docs/reference-simulator.md``, "Adding a detector").
"""

from __future__ import annotations

from dataclasses import replace

from ..errors import ConfigError
from ..geometry import LAYER_NAMES
from .atlas_cells import AtlasCellsIncidence
from .detector import Detector, EtaSlice, FaceIncidence, NormalIncidence
from .em import ACCORDION
from .material import BARREL, Slab
from .materials import LAR, PB, SCINTILLATOR, SamplingStructure

__all__ = [
    "ATLAS_BARREL",
    "ATLAS_CELLS",
    "CALOGAN",
    "CALOGAN_STRUCTURE",
    "DETECTORS",
    "LHCB_ECAL",
    "LHCB_STRUCTURE",
    "get_detector",
]

ATLAS_BARREL = Detector(
    name="atlas-barrel",
    summary="ATLAS-like barrel (LAr accordion + Tile), CaloChallenge dataset-1 binnings",
    slabs=BARREL,
    shower=ACCORDION,
    signal="em-scale",
    incidence=EtaSlice(0.20, 0.25),
    geometry=None,
    sampling_names=dict(LAYER_NAMES),
    layout="calochallenge",
)

#: CaloGAN's sampling structure: 2 mm lead and 4 mm liquid argon [CaloGAN PRD, section II].
CALOGAN_STRUCTURE = SamplingStructure(PB, 2.0, LAR, 4.0)
_CALOGAN_MEDIUM = CALOGAN_STRUCTURE.medium("Pb/LAr", h_over_e_total=0.70)

CALOGAN = Detector(
    name="calogan",
    summary="CaloGAN 480 mm Pb/LAr cube, three layers (90, 347, 43 mm), total deposit",
    slabs=(
        Slab.of_thickness("layer 0", 0, _CALOGAN_MEDIUM, 90.0),
        Slab.of_thickness("layer 1", 1, _CALOGAN_MEDIUM, 347.0),
        Slab.of_thickness("layer 2", 2, _CALOGAN_MEDIUM, 43.0),
    ),
    # the deposited energy's profile: homogeneous fits of the effective medium
    shower=CALOGAN_STRUCTURE.shower_medium(deposited=True),
    signal="total",
    incidence=NormalIncidence(0.0, 0.0),
    geometry="calogan",
    layout="calogan",
    particles=("positron", "photon", "pion"),
    energy_range_mev=(1_000.0, 100_000.0),
    # sub-slices of about 3 X0: the lateral profile widens across the 22 X0 of layer 1
    depth_slices=(4, 8, 2),
)

#: The LHCb ECAL module: 66 x (2 mm lead + 4 mm scintillator) [LHCb, JINST 3 (2008) S08005].
LHCB_STRUCTURE = SamplingStructure(PB, 2.0, SCINTILLATOR, 4.0)
#: stochastic term 9.5 %/sqrt(E) (sampling and photo-statistics; the ECAL's measured 9-10 %)
_LHCB_C = 0.095
_LHCB_MEDIUM = LHCB_STRUCTURE.medium("Pb/scint", c_em=_LHCB_C, h_over_e=1.0 / 1.3)

LHCB_ECAL = Detector(
    name="lhcb-ecal",
    summary="LHCb shashlik ECAL region, 30 x 30 cells of 20 mm, 66 x (2 mm Pb + 4 mm scint)",
    slabs=(Slab.of_thickness("ECAL", 0, _LHCB_MEDIUM, 66 * LHCB_STRUCTURE.period_mm),),
    shower=LHCB_STRUCTURE.shower_medium(c_s=_LHCB_C),
    signal="active",
    incidence=FaceIncidence(
        x_mm=(-60.0, 60.0), y_mm=(-60.0, 60.0), slope_x=(-0.1, 0.1), slope_y=(-0.1, 0.1)
    ),
    geometry="lhcb-ecal",
    layout="lhcb",
    particles=("electron",),
    energy_range_mev=(2_000.0, 100_000.0),
    depth_slices=8,
)

#: the barrel's stack, e.m. showers and signal, read in cell windows instead of polar bins
ATLAS_CELLS = replace(
    ATLAS_BARREL,
    name="atlas-cells",
    summary="ATLAS EM barrel cells around the impact cell (266 cells), photons",
    incidence=AtlasCellsIncidence(0.20, 0.25),
    sampling_names=None,
    geometry="atlas-cells",
    layout="atlas-cells",
    particles=("photon",),
    energies_mev=tuple(1000.0 * 2.0**k for k in range(9)),
)

DETECTORS: dict[str, Detector] = {
    d.name: d for d in (ATLAS_BARREL, CALOGAN, LHCB_ECAL, ATLAS_CELLS)
}


def get_detector(name: str) -> Detector:
    """A built-in detector by name.

    >>> get_detector("calogan").layer_ids
    (0, 1, 2)
    """
    try:
        return DETECTORS[name]
    except KeyError as err:
        raise ConfigError(
            f"detector: unknown detector '{name}' (known: {', '.join(DETECTORS)})"
        ) from err
