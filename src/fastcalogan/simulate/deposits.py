"""Per-event energy deposits by layer: the physics shared by the voxel and the hit paths.

A batch of showers is described by a list of :class:`Component` objects (the e.m. shower,
the hadronic part, minimum-ionising tracks). Each carries the visible energy per layer
(after sampling fluctuations), the number of spots (hits) per layer and what the lateral
samplers need. Both output paths draw these from the generator first, in the same order,
so for a given seed they agree shower by shower on the layer energies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.special import betaincinv as beta_ppf
from scipy.special import gammainc

from ..geometry import Particle
from .detector import LayerResponse, Signal, layer_response
from .em import ACCORDION, SamplingMedium, draw_profile, spot_count
from .material import TrackMap

__all__ = ["EARLY", "HADRON", "Component", "draw_deposits"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EarlyTracks:
    """Charged tracks at the start of an e.m. shower, which GFlash underestimates [E].

    Attributes:
        mev_per_x0: visible energy per track and X0 (MeV).
        length_x0: how far the tracks run before the shower takes over (X0).
        max_share: at most this share of the shower energy goes into them.
        radius_mm: lateral spread (median radius) of their deposits.
    """

    mev_per_x0: float = 10.0
    length_x0: float = 0.5
    max_share: float = 0.3
    radius_mm: float = 4.0


@dataclass(frozen=True)
class HadronModel:
    """Parameters of the pion model [design note section 2; E = engineering estimate].

    Attributes:
        lambda_pi: pion interaction length over lambda_I.
        e0_gev, m: Groom's f_h = (E/E0)^(m-1).
        fem_sigma0, fem_sigma_slope: sigma(f_em) = sigma0 - slope ln(E/GeV).
        fem_floor: smallest mean f_em (charge exchange keeps a few pi0 at low energy).
        alpha_scale: e.m. part alpha over a single photon's (several pi0s start it).
        first_em: energy share of pi0s made in the first interaction; e.m. energy beyond it
            comes from later generations and follows the hadronic profile.
        a_sigma, d_sigma: per-event log-normal spreads of Bock's a and d.
        response_sigma: per-event log-normal spread of the whole visible shower.
        invisible_sigma: relative spread of the visible share of the non-e.m. energy
            (nuclear binding losses) is ``invisible_sigma / sqrt(E_h / GeV)``, capped at
            ``invisible_sigma_max``; drawn from a Beta so it never exceeds the available energy.
        spots0, spots_power: hadronic hits N = spots0 * E_h^power (E_h in GeV).
        r50_mm, r50_per_lambda_mm, r50_max_mm: hadronic median radius versus depth.
        mip_width: Moyal scale of the per-layer MIP loss over its mean.
        mip_radius_mm: lateral spread of the track deposits.
        mip_hits: hits per crossed layer for the track.
    """

    lambda_pi: float = 1.2
    e0_gev: float = 1.0
    m: float = 0.83
    fem_sigma0: float = 0.17
    fem_sigma_slope: float = 0.012
    fem_floor: float = 0.05
    alpha_scale: float = 0.8
    first_em: float = 0.25
    a_sigma: float = 0.15
    d_sigma: float = 0.10
    response_sigma: float = 0.02
    invisible_sigma: float = 0.40
    invisible_sigma_max: float = 0.30
    spots0: float = 30.0
    spots_power: float = 0.7
    r50_mm: float = 40.0
    r50_per_lambda_mm: float = 30.0
    r50_max_mm: float = 150.0
    mip_width: float = 0.08
    mip_radius_mm: float = 1.0
    mip_hits: int = 3


EARLY = EarlyTracks()
HADRON = HadronModel()
#: Protons and neutrons: Groom's fit for baryons [Lef07: m = 0.85, E0 = 2.6 GeV].
_BARYON = {2212: (2.6, 0.85), 2112: (2.6, 0.85)}
#: Hits per layer are capped so 4 TeV showers stay bounded in memory [design note 5.6].
MAX_HITS_PER_LAYER = 2000


@dataclass
class Component:
    """One part of a batch of showers.

    Attributes:
        kind: ``gflash`` (e.m. profile in X0), ``hadron`` (Gamma in lambda_I) or ``track``.
        energy: visible energy, shape ``(n, n_layers)``, MeV (layers: the track map's
            readout layers, ``TrackMap.layer_ids``).
        counts: hits per layer, shape ``(n, n_layers)``.
        start: profile start depth (X0 or lambda_I), shape ``(n,)``.
        shape, rate: Gamma profile shape and rate (per X0 or lambda_I), shape ``(n,)``.
        bounds: layer front/back depth relative to ``start`` (clamped at 0),
            shape ``(n, n_layers, 2)``.
        cdf: profile CDF at ``bounds``, shape ``(n, n_layers, 2)``.
        t_max: GFlash T (X0), shape ``(n,)`` (``gflash`` only).
        energy_gev: shower energy for the radial fits, shape ``(n,)`` (``gflash`` only).
        radius_scale: per-event factor on hadronic radii, shape ``(n,)`` (``hadron`` only).
        radius_mm: Moliere radius per layer (``gflash``) or track radius, shape ``(n_layers,)``.
        medium: GFlash quantities of the radial fits (``gflash`` only).
    """

    kind: Literal["gflash", "hadron", "track"]
    energy: F64
    counts: I64
    start: F64 = field(default_factory=lambda: np.zeros(0))
    shape: F64 = field(default_factory=lambda: np.zeros(0))
    rate: F64 = field(default_factory=lambda: np.zeros(0))
    bounds: F64 = field(default_factory=lambda: np.zeros((0, 0, 2)))
    cdf: F64 = field(default_factory=lambda: np.zeros((0, 0, 2)))
    t_max: F64 = field(default_factory=lambda: np.zeros(0))
    energy_gev: F64 = field(default_factory=lambda: np.zeros(0))
    radius_scale: F64 = field(default_factory=lambda: np.zeros(0))
    radius_mm: F64 = field(default_factory=lambda: np.zeros(0))
    medium: SamplingMedium = ACCORDION

    @property
    def depth_unit(self) -> Literal["x0", "lambda"]:
        """Unit of ``start`` and ``bounds``: X0 for e.m. profiles, lambda_I for hadronic ones."""
        return "lambda" if self.kind == "hadron" else "x0"


def _profile(start: F64, shape: F64, rate: F64, layer_bounds: F64) -> tuple[F64, F64, F64]:
    """Relative bounds, CDF at them, and the fraction of the profile in each layer."""
    rel = np.maximum(layer_bounds - start[:, None, None], 0.0)
    cdf = gammainc(shape[:, None, None], rate[:, None, None] * rel)
    return rel, cdf, cdf[..., 1] - cdf[..., 0]


#: Smallest Gamma shape of a layer's sampling fluctuation: the stochastic term does not
#: hold for deposits of a few MeV, so their relative spread is capped at 1/sqrt(4) = 50 %.
MIN_SAMPLING_SHAPE = 4.0


@dataclass(frozen=True)
class Primaries:
    """A batch's incident particles and what they shower in: the input of a shower model.

    Attributes:
        particle: the particle.
        energy: incident (hadrons: kinetic) energies, shape ``(n,)``, MeV.
        track: the material map of the batch's tracks.
        shower: GFlash quantities of the detector's e.m. showers.
        readout: what the readout layers record.
    """

    particle: Particle
    energy: F64
    track: TrackMap
    shower: SamplingMedium
    readout: LayerResponse

    @property
    def n_layers(self) -> int:
        """Number of readout layers."""
        return len(self.track.media)

    def track_component(
        self, visible: F64, deposited: F64, hits: int, radius_mm: float
    ) -> Component:
        """Charged tracks: ``hits`` per layer where ``deposited`` > 0, of median radius
        ``radius_mm``; ``visible`` and ``deposited`` shape ``(n, n_layers)``."""
        counts = np.where(deposited > 0, hits, 0).astype(np.int64)
        return Component("track", visible, counts, radius_mm=np.full(self.n_layers, radius_mm))


@dataclass(frozen=True)
class _GFlashProfile:
    """Individual GFlash longitudinal profiles of a batch and their share in each layer.

    Attributes:
        start: start depth (X0), shape ``(n,)``.
        t_max, alpha, beta: GFlash T (X0), alpha and beta (1/X0), shape ``(n,)``.
        bounds, cdf: layer bounds relative to the start and the profile CDF at them, shape
            ``(n, n_layers, 2)``.
        fraction: share of the profile in each layer, shape ``(n, n_layers)``.
    """

    start: F64
    t_max: F64
    alpha: F64
    beta: F64
    bounds: F64
    cdf: F64
    fraction: F64

    @staticmethod
    def draw(
        energy: F64, normals: F64, start: F64, primaries: Primaries, alpha_scale: float = 1.0
    ) -> _GFlashProfile:
        """Profiles of showers of ``energy`` (MeV) from two normals each, starting at ``start``."""
        t_max, alpha, beta = draw_profile(energy, normals, primaries.shower, alpha_scale)
        rel, cdf, frac = _profile(start, alpha, beta, primaries.track.layer_bounds("x0"))
        return _GFlashProfile(start, t_max, alpha, beta, rel, cdf, frac)

    def component(
        self, visible: F64, raw: F64, spot_energy_gev: F64, energy_gev: F64, primaries: Primaries
    ) -> Component:
        """The e.m. shower component: ``visible`` energy per layer, spots by the shower energy
        ``spot_energy_gev`` spread as the ``raw`` (unfluctuated) energy, radial fits at
        ``energy_gev``."""
        return Component(
            "gflash",
            visible,
            _spots(spot_count(spot_energy_gev, primaries.shower), self.fraction, raw),
            start=self.start,
            shape=self.alpha,
            rate=self.beta,
            bounds=self.bounds,
            cdf=self.cdf,
            t_max=self.t_max,
            energy_gev=energy_gev,
            radius_mm=np.array([m.moliere_mm for m in primaries.track.media]),
            medium=primaries.shower,
        )


def _fluctuate(rng: np.random.Generator, energy: F64, c: F64) -> F64:
    """Sampling fluctuation E -> Gamma(k, E/k) with k = E/c^2 (GeV), so sigma/E = c/sqrt(E).

    Summed over layers of one medium this gives exactly c/sqrt(E_total) (Gamma variables
    with a common scale add), as Geant4's GFlash ``ApplySampling`` does; ``k`` is floored
    at :data:`MIN_SAMPLING_SHAPE` for tiny deposits. Without any stochastic term (the
    energy deposited in absorber and active material alike) nothing is drawn.
    """
    e = np.maximum(energy, 0.0)
    if not np.any(c > 0):
        return e
    shape = np.maximum(e / 1e3 / np.maximum(c, 1e-9) ** 2, MIN_SAMPLING_SHAPE)
    return np.where(e > 0.0, rng.gamma(shape, e / shape), 0.0)


def _saturate(visible: F64, available: F64, knee: float = 0.8) -> F64:
    """Factor mapping ``visible`` smoothly below ``available`` (identity up to the knee).

    ``v -> k A + (1 - k) A tanh((v - k A) / ((1 - k) A))`` above ``k A``: continuous with
    slope 1 at the knee and bounded by ``A``, so no spike appears at the bound.
    """
    knee_e = knee * available
    width = np.maximum((1.0 - knee) * available, 1e-12)
    mapped = np.where(
        visible > knee_e, knee_e + width * np.tanh((visible - knee_e) / width), visible
    )
    return np.divide(mapped, visible, out=np.ones_like(visible), where=visible > 0)


def _spots(n_total: F64, fraction: F64, energy: F64) -> I64:
    counts = np.ceil(n_total[:, None] * fraction)
    counts = np.where(energy > 0.0, np.clip(counts, 1, MAX_HITS_PER_LAYER), 0)
    return counts.astype(np.int64)


def _overlap(lo: F64, hi: F64, bounds: F64) -> F64:
    """Length of [lo, hi] (shape ``(n,)``) inside each layer's ``bounds`` ``(n, L, 2)``."""
    a = np.maximum(bounds[..., 0], lo[:, None])
    b = np.minimum(bounds[..., 1], hi[:, None])
    return np.maximum(b - a, 0.0)


def em_deposits(rng: np.random.Generator, primaries: Primaries) -> list[Component]:
    """E.m. showers of photons (start ~ Exp(9/7 X0)) and electrons (start at 0).

    Args:
        rng: the batch's generator.
        primaries: ``em`` particles at their incident energies, and their detector.
    """
    energy, track, c_em = primaries.energy, primaries.track, primaries.readout.c_em
    n = energy.shape[0]
    photon = primaries.particle.pdg == 22
    t0: F64 = np.asarray(rng.exponential(9.0 / 7.0, n)) if photon else np.zeros(n)
    profile = _GFlashProfile.draw(energy, rng.standard_normal((2, n)), t0, primaries)
    bounds = track.layer_bounds("x0")
    # early charged tracks: 2 after a conversion, 1 for an electron
    n_tracks = 2.0 if photon else 1.0
    early_total = np.minimum(
        n_tracks * EARLY.mev_per_x0 * EARLY.length_x0, EARLY.max_share * energy
    )
    early_len = early_total / (n_tracks * EARLY.mev_per_x0)
    early_raw = n_tracks * EARLY.mev_per_x0 * _overlap(t0, t0 + early_len, bounds)
    shower_energy = energy - early_total
    raw = shower_energy[:, None] * profile.fraction
    vis = _fluctuate(rng, raw, c_em[None, :])
    early_vis = _fluctuate(rng, early_raw, c_em[None, :])
    em = profile.component(vis, raw, shower_energy / 1e3, energy / 1e3, primaries)
    early = primaries.track_component(early_vis, early_raw, int(n_tracks), EARLY.radius_mm)
    return [em, early]


def _mip_track(track: TrackMap, kinetic: F64, x_int: F64) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
    """Ionisation before the first interaction, stopping the particle at its range.

    Returns:
        ``(loss, end, interacts)``: true loss per segment ``(n, n_segments)`` (MeV), the
        depth where the track ends (lambda_I) and whether it ends in an interaction.
    """
    edges = track.lambda_edges
    rate = track.mip_per_lambda
    thick = np.diff(edges, axis=1)
    cum = np.concatenate([np.zeros((edges.shape[0], 1)), np.cumsum(rate * thick, axis=1)], 1)
    # the segment in which the cumulative loss reaches the kinetic energy (or none)
    k = np.sum(cum[:, 1:] < kinetic[:, None], axis=1)
    rows = np.arange(edges.shape[0])
    ks = np.minimum(k, thick.shape[1] - 1)
    stop = edges[rows, ks] + (kinetic - cum[rows, ks]) / rate[rows, ks]
    stop = np.where(k < thick.shape[1], stop, np.inf)
    end = np.minimum(x_int, stop)
    length = np.clip(np.minimum(end[:, None], edges[:, 1:]) - edges[:, :-1], 0.0, thick)
    return rate * length, end, x_int < stop


def hadron_deposits(rng: np.random.Generator, primaries: Primaries) -> list[Component]:
    """Pion-model showers: MIP track, first interaction, e.m. and hadronic parts.

    Args:
        rng: the batch's generator.
        primaries: ``hadron`` particles at their kinetic energies, and their detector
            (antibaryons add their rest mass at the end of the track).
    """
    particle, kinetic, track = primaries.particle, primaries.energy, primaries.track
    resp = primaries.readout
    h = HADRON
    n = kinetic.shape[0]
    # --- draws, always in this order and these shapes
    x_int: F64 = np.asarray(rng.exponential(h.lambda_pi, n), dtype=np.float64)
    moyal_z = rng.standard_normal((n, len(track.segments)))
    g = rng.standard_normal((4, n))  # Bock a, Bock d, radius scale, response
    u_invisible = rng.random(n)
    em_normals = rng.standard_normal((2, n))
    # --- the track up to the interaction (or the end of its range)
    loss, end, interacts = _mip_track(track, kinetic, x_int)
    # Moyal(0, 1) = -ln(Z^2): mean gamma_E + ln 2; shift so the mean loss is kept. The
    # fluctuated loss of a track cannot exceed its kinetic energy.
    moyal = -np.log(np.maximum(moyal_z**2, 1e-300)) - (np.euler_gamma + np.log(2.0))
    loss = np.maximum(loss * (1.0 + h.mip_width * moyal), 0.0)
    loss = loss * _saturate(loss.sum(axis=1), kinetic, knee=0.9)[:, None]
    e_shower = np.where(interacts, kinetic - loss.sum(axis=1), 0.0) + particle.deposit_offset
    e_shower = np.maximum(e_shower, 0.0)
    mip_vis = loss[:, track.active] * resp.mip_scale[None, :]
    # --- e.m. fraction [Groom07], Beta-distributed around its mean
    e0, m = _BARYON.get(abs(particle.pdg), (h.e0_gev, h.m))
    e_gev = np.maximum(e_shower / 1e3, 1e-3)
    mean = np.clip(1.0 - np.power(e_gev / e0, m - 1.0), h.fem_floor, 0.95)
    sigma = np.clip(h.fem_sigma0 - h.fem_sigma_slope * np.log(e_gev), 0.03, None)
    sigma = np.minimum(sigma, 0.9 * np.sqrt(mean * (1.0 - mean)))
    kappa = mean * (1.0 - mean) / sigma**2 - 1.0
    f_em = rng.beta(mean * kappa, (1.0 - mean) * kappa)
    response = np.exp(h.response_sigma * g[3] - 0.5 * h.response_sigma**2)
    e_em_all = f_em * e_shower
    e_had = e_shower - e_em_all
    # pi0s of the first interaction shower at once; later generations spread like hadrons
    e_em = np.minimum(e_em_all, h.first_em * e_shower)
    e_em_late = e_em_all - e_em
    # --- e.m. part: GFlash from the interaction point, alpha reduced
    start_x0 = track.lambda_to_x0(np.minimum(end, track.lambda_edges[:, -1] + 10.0))
    em_profile = _GFlashProfile.draw(e_em, em_normals, start_x0, primaries, h.alpha_scale)
    raw_em = (e_em * response)[:, None] * em_profile.fraction
    # --- hadronic part: Gamma in lambda_I with Bock's a and d, times the local h/e
    ln_e = np.log(e_gev)
    a_bock = np.maximum(0.6165 + 0.3183 * ln_e, 0.3) * np.exp(h.a_sigma * g[0])
    d_bock = np.maximum(0.9099 - 0.0237 * ln_e, 0.3) * np.exp(h.d_sigma * g[1])
    start_l = np.minimum(end, track.lambda_edges[:, -1] + 10.0)
    rel_l, cdf_h, frac_h = _profile(start_l, a_bock, d_bock, track.layer_bounds("lambda"))
    h_over_e = resp.h_over_e
    # visible share of the non-e.m. energy: q h/e with q in [0, 1/max(h/e)], mean 1
    q_max = 1.0 / h_over_e.max()
    rel = np.minimum(
        h.invisible_sigma / np.sqrt(np.maximum(e_had / 1e3, 1e-3)), h.invisible_sigma_max
    )
    mu, sd = 1.0 / q_max, rel / q_max
    k = mu * (1.0 - mu) / sd**2 - 1.0
    q = q_max * beta_ppf(mu * k, (1.0 - mu) * k, u_invisible)
    raw_h = (e_had * response * q)[:, None] * frac_h * h_over_e[None, :]
    raw_late = (e_em_late * response)[:, None] * frac_h
    width = np.maximum(0.7 - 0.05 * ln_e, 0.2)
    s_ln = np.sqrt(np.log1p(width**2))
    radius_scale = np.exp(s_ln * g[2] - 0.5 * s_ln**2)
    # --- sampling fluctuations
    c_em, c_had = resp.c_em, resp.c_had
    vis_em = _fluctuate(rng, raw_em, c_em[None, :])
    vis_h = _fluctuate(rng, raw_h, c_had[None, :]) + _fluctuate(rng, raw_late, c_em[None, :])
    # a shower's visible energy cannot exceed its energy: saturate smoothly above 80 %
    scale = _saturate(vis_em.sum(axis=1) + vis_h.sum(axis=1), e_shower)
    vis_em, vis_h = vis_em * scale[:, None], vis_h * scale[:, None]
    mip = primaries.track_component(mip_vis, mip_vis, h.mip_hits, h.mip_radius_mm)
    em = em_profile.component(vis_em, raw_em, e_em / 1e3, np.maximum(e_em / 1e3, 1e-3), primaries)
    had = Component(
        "hadron",
        vis_h,
        _spots(
            h.spots0 * np.power((e_had + e_em_late) / 1e3, h.spots_power), frac_h, raw_h + raw_late
        ),
        start=start_l,
        shape=a_bock,
        rate=d_bock,
        bounds=rel_l,
        cdf=cdf_h,
        radius_scale=radius_scale,
    )
    return [mip, em, had]


def draw_deposits(
    rng: np.random.Generator,
    particle: Particle,
    energy: F64,
    track: TrackMap,
    shower: SamplingMedium = ACCORDION,
    signal: Signal = "em-scale",
) -> list[Component]:
    """The components of a batch of showers (e.m. or pion model by particle).

    Args:
        rng: the batch's generator.
        particle: the particle.
        energy: incident (hadrons: kinetic) energies, shape ``(n,)``, MeV.
        track: the material map of the batch's tracks.
        shower: GFlash quantities of the detector's e.m. showers.
        signal: how the readout layers record energy (``em-scale``, ``active``, ``total``).
    """
    response = layer_response(track.media, signal)
    model = em_deposits if particle.shower == "em" else hadron_deposits
    comps = model(rng, Primaries(particle, energy, track, shower, response))
    if np.any(response.scale != 1.0):
        # the active medium's share, applied after the fluctuations of the e.m.-scale signal
        for comp in comps:
            comp.energy = comp.energy * response.scale[None, :]
    return comps


def hadron_radius(comp: Component, depth: F64, events: I64 | slice) -> F64:
    """Median radius (mm) of the hadronic deposits at ``depth`` (lambda_I from the start)."""
    h = HADRON
    r50 = np.minimum(h.r50_mm + h.r50_per_lambda_mm * depth, h.r50_max_mm)
    scale = comp.radius_scale[events]
    return r50 * (scale[:, None] if np.ndim(depth) == 2 else scale)
