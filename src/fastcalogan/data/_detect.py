"""Which file layout a shower file has, from its dataset names and shapes (no reading)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py

from ..errors import DataFormatError
from ._h5 import open_h5

__all__ = ["LAYOUT_NAMES", "detect_layout"]

#: Layouts the readers recognise: CaloChallenge (``incident_energies``, ``showers`` (N, n)),
#: the public CaloGAN HDF5 (``layer_0..2``, ``overflow``, ``energy`` GeV), the LHCb ECAL HDF5
#: (``showers`` (N, 30, 30), ``conditions`` (N, 5), ``incident_energies``), the public LHCb
#: calorimeter GAN npz (``EnergyDeposit``, ``ParticleMomentum``, ``ParticlePoint``) and the
#: ATLAS cells (``showers`` (N, 266) with ``alignment`` (N, 2)).
LAYOUT_NAMES = ("calochallenge", "calogan", "lhcb", "lhcb-npz", "atlas-cells")


def detect_layout(path: str | Path) -> str:
    """The layout of a shower file (one of :data:`LAYOUT_NAMES`).

    Files that match no other layout are CaloChallenge files; their reader names what is
    missing.

    Raises:
        DataFormatError: no such file, or neither an HDF5 nor an npz file.
    """
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file")
    if path.suffix.lower() == ".npz" or zipfile.is_zipfile(path):
        return "lhcb-npz"
    with open_h5(path) as f:
        if "showers" in f:
            showers = f["showers"]
            if isinstance(showers, h5py.Dataset) and showers.ndim == 3:
                return "lhcb"
            return "atlas-cells" if "alignment" in f else "calochallenge"
        if any(str(k).startswith("layer_") for k in f):
            return "calogan"
    return "calochallenge"
