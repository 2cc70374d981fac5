"""Material constants and the effective medium of a sampling structure.

A sampling calorimeter made of repeated ``absorber_mm`` of one material and ``active_mm`` of
another behaves, for the shower parameterisation, like one effective medium. Its quantities
follow Grindhammer and Peters (hep-ex/0001020) as Geant4's GFlash implements them
(``GFlashSamplingShowerParameterisation``; design note section 1, "Sampling quantities"):

* mass weights ``w_i = d_i rho_i / sum_j d_j rho_j``; ``Z_eff = sum w_i Z_i``;
* ``1/X0_eff = sum w_i / X0_i`` (g/cm^2), divided by the mean density for a length;
* ``E_c,i = 2.66 (X0_i Z_i / A_i)^1.1`` MeV; ``E_c,eff = X0_eff sum w_i E_c,i / X0_i``;
* ``1/R_M = sum w_i E_c,i / (X0_i E_s)`` with ``E_s = 21.2`` MeV;
* ``F_s = X0_eff / (d_abs + d_act)`` (mm); ``e-hat = 1 / (1 + 0.007 (Z_abs - Z_act))``.

Elements and compounds: PDG "Atomic and Nuclear Properties of Materials" (X0, lambda_I and
the minimum ionisation in g/cm^2 and MeV cm^2/g; densities in g/cm^3). The sampling term of
the e.m. resolution is the textbook estimate ``2.7 % sqrt(d_active[mm] / f_mip)`` (PDG review
"Calorimetry", after Wigmans).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from .em import SamplingMedium
from .material import Medium

__all__ = ["LAR", "PB", "SCINTILLATOR", "Element", "SamplingStructure"]

#: the scale energy of multiple scattering in the Moliere radius (MeV)
E_S_MEV = 21.2


@dataclass(frozen=True)
class Element:
    """A material (element or compound) with the constants the parameterisation needs.

    Attributes:
        name: readable name.
        z, a: (mass-weighted) atomic number and mass (g/mol).
        density: g/cm^3.
        x0_g_cm2, lambda_g_cm2: radiation and nuclear interaction lengths, g/cm^2.
        dedx_mev_cm2_g: minimum ionisation loss, MeV cm^2/g.
    """

    name: str
    z: float
    a: float
    density: float
    x0_g_cm2: float
    lambda_g_cm2: float
    dedx_mev_cm2_g: float

    @property
    def x0_mm(self) -> float:
        """Radiation length in mm."""
        return 10.0 * self.x0_g_cm2 / self.density

    @property
    def lambda_mm(self) -> float:
        """Nuclear interaction length in mm."""
        return 10.0 * self.lambda_g_cm2 / self.density

    @property
    def dedx_mev_mm(self) -> float:
        """Minimum ionisation loss in MeV/mm."""
        return 0.1 * self.dedx_mev_cm2_g * self.density

    @property
    def critical_mev(self) -> float:
        """Critical energy by Geant4's GFlash fit ``2.66 (X0 Z / A)^1.1`` MeV.

        >>> round(PB.critical_mev, 2)
        7.36
        """
        return 2.66 * (self.x0_g_cm2 * self.z / self.a) ** 1.1


#: Lead [PDG]: X0 6.37 g/cm^2 (0.561 cm), lambda_I 199.6 g/cm^2 (17.6 cm), 1.122 MeV cm^2/g.
PB = Element("Pb", 82.0, 207.2, 11.35, 6.37, 199.6, 1.122)
#: Liquid argon [PDG]: X0 19.55 g/cm^2 (14.0 cm), lambda_I 119.7 g/cm^2 (85.7 cm), 1.519 MeV cm^2/g.
LAR = Element("LAr", 18.0, 39.948, 1.396, 19.55, 119.7, 1.519)
#: Polystyrene scintillator [PDG]: X0 43.79 g/cm^2 (41.3 cm), lambda_I 77.07 g/cm^2, 1.936
#: MeV cm^2/g; Z and A mass-weighted over C8H8 (Z/A = 0.538).
SCINTILLATOR = Element("scintillator", 5.61, 10.43, 1.060, 43.79, 77.07, 1.936)


@dataclass(frozen=True)
class SamplingStructure:
    """Repeated ``absorber_mm`` of ``absorber`` and ``active_mm`` of ``active``.

    >>> s = SamplingStructure(PB, 2.0, LAR, 4.0)
    >>> round(s.x0_mm, 1), round(s.lambda_mm), round(s.moliere_mm, 1), round(s.e_hat, 3)
    (15.6, 374, 36.8, 0.691)
    """

    absorber: Element
    absorber_mm: float
    active: Element
    active_mm: float

    @cached_property
    def _weights(self) -> tuple[float, float]:
        m_abs = self.absorber_mm * self.absorber.density
        m_act = self.active_mm * self.active.density
        return m_abs / (m_abs + m_act), m_act / (m_abs + m_act)

    def _thickness_mean(self, quantity: Callable[[Element], float]) -> float:
        """The thickness-weighted mean of an element quantity over one period."""
        return (
            self.absorber_mm * quantity(self.absorber) + self.active_mm * quantity(self.active)
        ) / self.period_mm

    @cached_property
    def _critical_per_x0(self) -> float:
        """``sum w_i E_c,i / X0_i`` (MeV cm^2/g), shared by E_c,eff and the Moliere radius."""
        w_abs, w_act = self._weights
        return (
            w_abs * self.absorber.critical_mev / self.absorber.x0_g_cm2
            + w_act * self.active.critical_mev / self.active.x0_g_cm2
        )

    @property
    def period_mm(self) -> float:
        """Thickness of one absorber + active period."""
        return self.absorber_mm + self.active_mm

    @property
    def density(self) -> float:
        """Mean density, g/cm^3."""
        return self._thickness_mean(lambda e: e.density)

    @property
    def z_eff(self) -> float:
        """Mass-weighted atomic number."""
        w_abs, w_act = self._weights
        return w_abs * self.absorber.z + w_act * self.active.z

    @property
    def x0_g_cm2(self) -> float:
        """Effective radiation length, g/cm^2."""
        w_abs, w_act = self._weights
        return 1.0 / (w_abs / self.absorber.x0_g_cm2 + w_act / self.active.x0_g_cm2)

    @property
    def x0_mm(self) -> float:
        """Effective radiation length in mm."""
        return 10.0 * self.x0_g_cm2 / self.density

    @property
    def lambda_mm(self) -> float:
        """Effective nuclear interaction length in mm (thickness-weighted inverse lengths)."""
        inv = (
            self.absorber_mm / self.absorber.lambda_mm + self.active_mm / self.active.lambda_mm
        ) / self.period_mm
        return 1.0 / inv

    @property
    def critical_mev(self) -> float:
        """Effective critical energy, MeV."""
        return self.x0_g_cm2 * self._critical_per_x0

    @property
    def moliere_mm(self) -> float:
        """Effective Moliere radius in mm."""
        return 10.0 / (self._critical_per_x0 / E_S_MEV) / self.density

    @property
    def f_s(self) -> float:
        """Sampling frequency ``X0_eff / (d_abs + d_act)``."""
        return self.x0_mm / self.period_mm

    @property
    def e_hat(self) -> float:
        """e/mip ratio ``1 / (1 + 0.007 (Z_abs - Z_act))``."""
        return 1.0 / (1.0 + 0.007 * (self.absorber.z - self.active.z))

    @property
    def mip_mev_per_mm(self) -> float:
        """Minimum ionisation loss per mm of the structure."""
        return self._thickness_mean(lambda e: e.dedx_mev_mm)

    @property
    def f_mip(self) -> float:
        """Share of a MIP's loss in the active medium."""
        act = self.active_mm * self.active.dedx_mev_mm
        return act / (act + self.absorber_mm * self.absorber.dedx_mev_mm)

    @property
    def sampling_fraction(self) -> float:
        """Share of an e.m. shower's energy in the active medium, ``e-hat f_mip``."""
        return self.e_hat * self.f_mip

    @property
    def sampling_term(self) -> float:
        """Textbook stochastic term ``0.027 sqrt(d_active / f_mip)``, sqrt(GeV)."""
        return float(0.027 * (self.active_mm / self.f_mip) ** 0.5)

    def shower_medium(self, c_s: float | None = None, deposited: bool = False) -> SamplingMedium:
        """The GFlash quantities of the structure (``c_s`` defaults to :attr:`sampling_term`).

        Grindhammer and Peters' sampling fits describe the energy seen in the active medium:
        its profile peaks earlier than the deposited energy's (e-hat < 1: the soft photons at
        the end of the shower deposit little in the active layers). With ``deposited`` the
        energy deposited in absorber and active material alike is described, by the
        homogeneous fits of the effective medium (no F_s and e-hat corrections).
        """
        return SamplingMedium(
            z_eff=self.z_eff,
            critical_mev=self.critical_mev,
            f_s=math.inf if deposited else self.f_s,
            e_hat=1.0 if deposited else self.e_hat,
            c_s=self.sampling_term if c_s is None else c_s,
            homogeneous=deposited,
        )

    def medium(
        self,
        name: str,
        c_em: float | None = None,
        h_over_e: float = 1.0 / 1.7,
        h_over_e_total: float = 0.70,
    ) -> Medium:
        """The structure as a :class:`Medium`.

        Args:
            name: readable name.
            c_em: stochastic term of e.m. energy (default :attr:`sampling_term`); the
                hadronic one is 1.5 times it, as in the barrel's LAr.
            h_over_e: visible non-e.m. energy per GeV at the e.m. scale.
            h_over_e_total: share of the non-e.m. energy deposited in the whole structure.
        """
        c = self.sampling_term if c_em is None else float(c_em)
        return Medium(
            name,
            c_em=c,
            c_had=1.5 * c,
            h_over_e=h_over_e,
            mip_scale=1.0 / self.e_hat,
            moliere_mm=self.moliere_mm,
            sampling_fraction=self.sampling_fraction,
            h_over_e_total=h_over_e_total,
            x0_mm=self.x0_mm,
            lambda_mm=self.lambda_mm,
            mip_mev_per_mm=self.mip_mev_per_mm,
        )
