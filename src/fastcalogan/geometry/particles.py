"""Particles the toolkit knows: PDG code, mass, and which shower model describes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

__all__ = ["PARTICLES", "Particle", "get_particle"]


@dataclass(frozen=True)
class Particle:
    """A particle species.

    Attributes:
        name: canonical name (``photon``, ``electron``, ``pion``, ...).
        pdg: PDG Monte Carlo code.
        mass: rest mass in MeV.
        shower: ``"em"`` or ``"hadron"``; hadrons are all simulated by the pion model at
            their kinetic energy.
    """

    name: str
    pdg: int
    mass: float
    shower: Literal["em", "hadron"]

    @property
    def deposit_offset(self) -> float:
        """Energy added to the deposit on top of the kinetic energy (MeV).

        Antibaryons annihilate at rest, releasing their rest mass in the calorimeter.
        """
        return self.mass if self.pdg < 0 and abs(self.pdg) in (2212, 2112) else 0.0


PARTICLES: dict[str, Particle] = {
    p.name: p
    for p in (
        Particle("photon", 22, 0.0, "em"),
        Particle("electron", 11, 0.51099895, "em"),
        Particle("positron", -11, 0.51099895, "em"),
        Particle("pion", 211, 139.57039, "hadron"),
        Particle("antipion", -211, 139.57039, "hadron"),
        Particle("kaon", 321, 493.677, "hadron"),
        Particle("proton", 2212, 938.27208816, "hadron"),
        Particle("antiproton", -2212, 938.27208816, "hadron"),
        Particle("neutron", 2112, 939.56542052, "hadron"),
    )
}
_ALIASES = {"gamma": "photon", "e-": "electron", "e+": "positron", "pi+": "pion", "pi-": "antipion"}


def get_particle(name: str) -> Particle:
    """Look a particle up by name or alias.

    >>> get_particle("gamma").pdg
    22
    """
    key = _ALIASES.get(name.lower(), name.lower())
    try:
        return PARTICLES[key]
    except KeyError as err:
        known = ", ".join(PARTICLES)
        raise ConfigError(f"unknown particle '{name}' (known: {known})") from err
