"""Units: energies in MeV, lengths in mm, angles in rad. Multiply to convert into them.

>>> 65 * GeV
65000.0
"""

from __future__ import annotations

__all__ = ["GeV", "MeV", "TeV", "cm", "m", "mm", "rad"]

MeV = 1.0
GeV = 1.0e3
TeV = 1.0e6
mm = 1.0
cm = 10.0
m = 1000.0
rad = 1.0
