"""Electromagnetic showers: GFlash (Grindhammer-Peters) sampling-calorimeter parameterisation.

Longitudinal profile: a Gamma distribution in depth t (X0) from the shower start with
per-event correlated (ln T, ln alpha); radial profile: core + tail
``f(r) = p 2r Rc^2/(r^2+Rc^2)^2 + (1-p) 2r Rt^2/(r^2+Rt^2)^2`` in Moliere radii.
Formulas and constants: Grindhammer & Peters, hep-ex/0001020 App. A, as implemented in
Geant4 ``GFlashSamplingShowerTuning.hh`` / ``GVFlashHomoShowerTuning.hh``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ACCORDION", "SamplingMedium", "profile_parameters", "radial_parameters", "spot_count"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SamplingMedium:
    """Effective GFlash quantities of a sampling calorimeter.

    Attributes:
        z_eff: effective atomic number.
        critical_mev: effective critical energy E_c (MeV).
        f_s: sampling frequency F_s = X0_eff / (d_abs + d_act).
        e_hat: e/mip ratio ``1 / (1 + 0.007 (Z_pas - Z_act))``.
        c_s: stochastic term used to count spots, sqrt(GeV).
        homogeneous: use the fits of homogeneous media for the spreads and the correlation
            of (ln T, ln alpha) (with ``f_s = inf`` and ``e_hat = 1`` the means follow too):
            the profile of the energy deposited in absorber and active material alike.
    """

    z_eff: float
    critical_mev: float
    f_s: float
    e_hat: float
    c_s: float
    homogeneous: bool = False


#: Pb 1.53 mm + Fe 0.4 mm + LAr 4.2 mm accordion [design note section 3].
ACCORDION = SamplingMedium(z_eff=61.0, critical_mev=10.8, f_s=3.07, e_hat=0.69, c_s=0.10)


def profile_parameters(
    energy_mev: F64, medium: SamplingMedium = ACCORDION
) -> tuple[F64, F64, F64, F64, F64]:
    """Mean and spread of (ln T, ln alpha) for individual sampling-calorimeter showers.

    Args:
        energy_mev: shower energies, shape ``(n,)``, MeV.
        medium: the sampling calorimeter.

    Returns:
        ``(mean_ln_t, sigma_ln_t, mean_ln_alpha, sigma_ln_alpha, rho)``, each shape ``(n,)``.
        ln y is clamped at 3 (y = E/E_c) where the fits stop making sense.
    """
    ln_y = np.maximum(np.log(np.maximum(energy_mev, 1e-3) / medium.critical_mev), 3.0)
    z = medium.z_eff
    t_hom = ln_y - 0.812
    mean_ln_t = np.log(np.maximum(t_hom - 0.55 / medium.f_s - 0.69 * (1.0 - medium.e_hat), 0.5))
    a_hom = 0.81 + (0.458 + 2.26 / z) * ln_y
    mean_ln_a = np.log(np.maximum(a_hom - 0.476 / medium.f_s, 1.1))
    if medium.homogeneous:
        sigma_ln_t = np.minimum(1.0 / (-1.4 + 1.26 * ln_y), 0.5)
        sigma_ln_a = np.minimum(1.0 / (-0.58 + 0.86 * ln_y), 0.5)
        rho = 0.705 - 0.023 * ln_y
    else:
        sigma_ln_t = np.minimum(1.0 / (-2.5 + 1.25 * ln_y), 0.5)
        sigma_ln_a = np.minimum(1.0 / (-0.82 + 0.79 * ln_y), 0.5)
        rho = 0.784 - 0.023 * ln_y
    return mean_ln_t, sigma_ln_t, mean_ln_a, sigma_ln_a, rho


def draw_profile(
    energy_mev: F64,
    normals: F64,
    medium: SamplingMedium = ACCORDION,
    alpha_scale: float = 1.0,
) -> tuple[F64, F64, F64]:
    """Individual longitudinal profiles from two standard normals per shower.

    Args:
        energy_mev: shape ``(n,)``, MeV.
        normals: shape ``(2, n)``, standard normal draws (z1, z2).
        medium: the sampling calorimeter.
        alpha_scale: factor on alpha (hadronic e.m. parts, several pi0s, use 0.8).

    Returns:
        ``(T, alpha, beta)``: T in X0 (>= 1), alpha (>= 1.1), beta = (alpha - 1) / T in 1/X0.
    """
    m_t, s_t, m_a, s_a, rho = profile_parameters(energy_mev, medium)
    z1, z2 = normals
    c1, c2 = np.sqrt((1.0 + rho) / 2.0), np.sqrt((1.0 - rho) / 2.0)
    t_max = np.maximum(np.exp(m_t + s_t * (c1 * z1 + c2 * z2)), 1.0)
    alpha = np.maximum(np.exp(m_a + s_a * (c1 * z1 - c2 * z2)) * alpha_scale, 1.1)
    return t_max, alpha, (alpha - 1.0) / t_max


def radial_parameters(
    tau: F64, energy_gev: F64, medium: SamplingMedium = ACCORDION
) -> tuple[F64, F64, F64]:
    """Core radius, tail radius (Moliere radii) and core probability at scaled depth tau.

    Args:
        tau: depth from the shower start over T, any shape.
        energy_gev: shower energy in GeV, broadcastable to ``tau``.
        medium: the sampling calorimeter.

    Returns:
        ``(r_core, r_tail, p_core)`` with the shape of ``tau``.
    """
    z, f_s, one_e = medium.z_eff, medium.f_s, 1.0 - medium.e_hat
    ln_e = np.log(np.maximum(energy_gev, 1e-3))
    exp_tau = np.exp(-tau)
    r_core = (0.0251 + 0.00319 * ln_e) + (0.1162 - 0.000381 * z) * tau
    r_core = r_core - 0.0203 * one_e + 0.0397 * exp_tau / f_s
    k1, k2, k3, k4 = 0.659 - 0.00309 * z, 0.645, -2.59, 0.3585 + 0.0412 * ln_e
    r_tail = k1 * (np.exp(k3 * (tau - k2)) + np.exp(k4 * (tau - k2)))
    r_tail = r_tail - 0.14 * one_e - 0.495 * exp_tau / f_s
    p1, p2, p3 = 2.632 - 0.00094 * z, 0.401 + 0.00187 * z, 1.313 - 0.0686 * ln_e
    arg = (p2 - tau) / p3
    p_core = p1 * np.exp(arg - np.exp(arg))
    p_core = p_core + one_e * (0.348 - 0.642 * np.exp(-((tau - 1.0) ** 2)) / f_s)
    r_core = np.maximum(r_core, 0.005)
    r_tail = np.maximum(r_tail, r_core)
    return r_core, r_tail, np.clip(p_core, 0.0, 1.0)


def spot_count(energy_gev: F64, medium: SamplingMedium = ACCORDION) -> F64:
    """Number of GFlash spots of a sampling-calorimeter shower: ``(10.3 / c_s) E^0.959``.

    >>> round(float(spot_count(np.array([1.0]))[0]))
    103
    """
    return (10.3 / medium.c_s) * np.power(np.maximum(energy_gev, 0.0), 0.959)
