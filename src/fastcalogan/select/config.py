"""Configuration of best-checkpoint selection."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["MeritWeights", "SelectConfig"]


class MeritWeights(pydantic.BaseModel):
    """Weights of the parts of the ``extended`` figure of merit (see ``docs/validation.md``).

    The figure is the weighted mean of the parts' chi2/NDF, so it stays on the chi2/NDF scale
    (about 1 for a generator the sample sizes cannot tell from the reference). Each part's
    chi2 and NDF are summed over the energy points (and layers).

    Attributes:
        etot: the total energy per energy point (the papers' figure).
        layers: the energy of every layer per point (the longitudinal profile).
        centre_r: the energy-weighted mean radius of every layer per point (mm).
        width_r: the energy-weighted radial width of every layer per point (mm).
    """

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid")

    etot: float = pydantic.Field(default=1.0, ge=0, allow_inf_nan=False)
    layers: float = pydantic.Field(default=1.0, ge=0, allow_inf_nan=False)
    centre_r: float = pydantic.Field(default=0.5, ge=0, allow_inf_nan=False)
    width_r: float = pydantic.Field(default=0.5, ge=0, allow_inf_nan=False)

    @pydantic.model_validator(mode="after")
    def _some_weight(self) -> MeritWeights:
        if self.etot + self.layers + self.centre_r + self.width_r <= 0:
            raise ValueError("at least one merit weight must be positive")
        return self


class SelectConfig(StageConfig):
    """How checkpoints are scored.

    Attributes:
        figure_of_merit: ``etot`` (total-energy histograms per energy point, the papers'
            choice and the default), ``etot+layers`` (adds the energy-per-layer histograms
            per point; chi2 and NDF summed over all histograms) or ``extended``: the weighted
            mean (``merit_weights``) of the chi2/NDF of four parts, E_tot, layer energies and
            each layer's shower centre and width in r, so that a checkpoint with the right
            energies but wrong shapes does not win.
        merit_weights: weights of the parts of ``extended`` (default E_tot 1, layer
            energies 1, centre in r 0.5, width in r 0.5).
        spectrum: ``auto`` (discrete energy points when the reference has at most 200
            distinct incident energies, else a continuous spectrum), ``points`` or
            ``continuous``: the reference's events are generated like the reference, event
            by event with their energies and conditions, and E_tot / E_inc (and
            E_layer / E_inc) are compared in ``energy_bins`` log-spaced bins of incident
            energy.
        energy_bins: bins of incident energy of a continuous spectrum.
        events_per_point: showers generated per energy point and checkpoint; for a
            continuous spectrum, the most reference events generated per bin of energy (a
            seeded draw when a bin holds more).
        n_bins: bins of every histogram.
        window: E_tot histogram range ``[peak - a RMS, peak + b RMS]`` as ``(a, b)``, plus
            one underflow and one overflow bin so that showers outside the window count; default
            ``(3, 3)`` for EM showers and ``(4, 3.5)`` for hadrons.
        layer_quantiles: layer-energy histograms span these reference quantiles.
        stride: score every ``stride``-th checkpoint (the last one always).
        seed: noise seed, the same for every checkpoint so they are compared on equal terms.
        batch_size: showers per generator pass.
        device: ``auto``, ``cpu`` or ``cuda``.
    """

    figure_of_merit: Literal["etot", "etot+layers", "extended"] = "etot"
    merit_weights: MeritWeights = MeritWeights()
    spectrum: Literal["auto", "points", "continuous"] = "auto"
    energy_bins: int = pydantic.Field(default=10, ge=1, le=100)
    events_per_point: int = pydantic.Field(default=10_000, ge=10)
    n_bins: int = pydantic.Field(default=30, ge=2, le=1000)
    window: tuple[float, float] | None = None
    layer_quantiles: tuple[float, float] = (0.005, 0.995)
    stride: int = pydantic.Field(default=1, ge=1)
    seed: int = pydantic.Field(default=0, ge=0)
    batch_size: int = pydantic.Field(default=10_000, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"

    @pydantic.model_validator(mode="after")
    def _check(self) -> SelectConfig:
        if self.window is not None and min(self.window) <= 0:
            raise ValueError(f"window must be two positive RMS multiples, found {self.window}")
        lo, hi = self.layer_quantiles
        if not 0 <= lo < hi <= 1:
            raise ValueError(f"layer_quantiles must satisfy 0 <= lo < hi <= 1, found {lo}, {hi}")
        return self
