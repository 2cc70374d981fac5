"""Configuration of best-checkpoint selection."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["SelectConfig"]


class SelectConfig(StageConfig):
    """How checkpoints are scored.

    Attributes:
        figure_of_merit: ``etot`` (total-energy histograms per energy point, the papers'
            choice) or ``etot+layers`` (adds the energy-per-layer histograms per point).
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

    figure_of_merit: Literal["etot", "etot+layers"] = "etot"
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
