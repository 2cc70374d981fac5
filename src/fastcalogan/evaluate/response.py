"""Mean energy response E_tot / E_inc at one energy point, generated next to reference.

FastCaloGAN's figures 16-18 (ATL-SOFT-PUB-2020-006; AtlFast3, Comput. Softw. Big Sci. 6
(2022) 7) show the mean response of each GAN at 65 GeV against |eta|, next to the training
sample's. :func:`response_summary` gives those two numbers (and their RMS) for one
(particle, slice); campaigns record it per task and plot it across slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..data import energy_point_mask, response

__all__ = ["ResponseStats", "ResponseSummary", "energy_response", "response_summary"]


@dataclass(frozen=True)
class ResponseStats:
    """E_tot / E_inc over the events of one energy point.

    Attributes:
        mean: mean response (``None`` without events).
        rms: standard deviation of the response (``None`` without events).
        n_events: events at the point.
    """

    mean: float | None
    rms: float | None
    n_events: int


def energy_response(
    showers: npt.NDArray[Any], incident_energies: npt.ArrayLike, energy_mev: float | None = None
) -> ResponseStats:
    """Mean and RMS of E_tot / E_inc of the showers within 1 % of ``energy_mev``.

    Args:
        showers: shape ``(n_events, n_voxels)``, MeV.
        incident_energies: shape ``(n_events,)``, MeV.
        energy_mev: the energy point; ``None`` takes every event.

    >>> energy_response(np.array([[400.0, 500.0], [1.0, 1.0]]), [1000.0, 10.0], 1000.0)
    ResponseStats(mean=0.9, rms=0.0, n_events=1)
    """
    ratio = response(showers, incident_energies)
    selected = ratio[energy_point_mask(incident_energies, energy_mev)]
    if selected.size == 0:
        return ResponseStats(None, None, 0)
    return ResponseStats(float(selected.mean()), float(selected.std()), int(selected.size))


@dataclass(frozen=True)
class ResponseSummary:
    """Response of generated showers and of the reference at one energy point.

    Attributes:
        energy_mev: the energy point.
        generated: the generator's showers.
        reference: the reference (training) showers at that point.
    """

    energy_mev: float
    generated: ResponseStats
    reference: ResponseStats

    def to_dict(self) -> dict[str, Any]:
        """JSON values: ``energy_mev``, ``gan_mean/rms/events``, ``reference_mean/rms/events``."""
        return {
            "energy_mev": self.energy_mev,
            "gan_mean": self.generated.mean,
            "gan_rms": self.generated.rms,
            "gan_events": self.generated.n_events,
            "reference_mean": self.reference.mean,
            "reference_rms": self.reference.rms,
            "reference_events": self.reference.n_events,
        }


def response_summary(
    generated: npt.NDArray[Any],
    reference_showers: npt.NDArray[Any],
    reference_energies: npt.ArrayLike,
    energy_mev: float,
) -> ResponseSummary:
    """Mean response of showers generated at ``energy_mev`` and of the reference there.

    Args:
        generated: shape ``(n, n_voxels)``, MeV, all generated at ``energy_mev``.
        reference_showers: shape ``(m, n_voxels')``, MeV (any binning: only sums are used).
        reference_energies: shape ``(m,)``, MeV; events within 1 % of ``energy_mev`` count.
        energy_mev: the energy point (FastCaloGAN: 65 GeV).

    Returns:
        :class:`ResponseSummary`; the reference part has no events when the reference
        sample lacks the point.
    """
    n = np.asarray(generated).shape[0]
    return ResponseSummary(
        energy_mev=float(energy_mev),
        generated=energy_response(generated, np.full(n, float(energy_mev))),
        reference=energy_response(reference_showers, reference_energies, energy_mev),
    )
