"""Which generator of a split run simulates which incident energy: one rule, two forms.

A run split in energy ranges (FastCaloGAN's three photon momentum ranges) has one generator
per range. An energy goes to the range whose upper edge is the first at or above it, so a
boundary shared by two ranges goes to the lower one. :meth:`EnergyRouting.route` applies the
rule to numpy arrays and refuses energies outside every range; :meth:`EnergyRouting.route_torch`
is the same comparison on tensors, traceable into an ONNX graph (it does not check the
range: callers validate first).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch

from ..errors import ModelError

__all__ = ["EnergyRouting"]

#: Relative tolerance of the range edges (energies read back from float32 files).
EDGE = 1e-9


@dataclass(frozen=True)
class EnergyRouting:
    """The energy ranges of a run's generators, in increasing energy.

    Args:
        ranges: ``(E_lo, E_hi)`` MeV per generator; lower and upper edges non-decreasing.

    >>> r = EnergyRouting(((256.0, 4096.0), (4096.0, 2.0**18)))
    >>> r.route(np.array([300.0, 4096.0, 5000.0])).tolist()
    [0, 0, 1]
    """

    ranges: tuple[tuple[float, float], ...]

    def __init__(self, ranges: Sequence[tuple[float, float]]) -> None:
        clean = tuple((float(lo), float(hi)) for lo, hi in ranges)
        if not clean:
            raise ModelError("energy routing needs at least one range")
        for (lo0, hi0), (lo1, hi1) in itertools.pairwise(clean):
            if lo1 < lo0 or hi1 < hi0:
                raise ModelError(f"energy ranges must increase, found {list(clean)}")
        object.__setattr__(self, "ranges", clean)

    @property
    def upper_edges(self) -> tuple[float, ...]:
        """The thresholds of the rule: the upper edge of every range but the last, widened."""
        return tuple(hi * (1 + EDGE) for _, hi in self.ranges[:-1])

    @property
    def energy_range(self) -> tuple[float, float]:
        """Lowest and highest energy of all ranges, MeV."""
        return (self.ranges[0][0], max(hi for _, hi in self.ranges))

    def inside(self, energies: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Whether each energy lies in one of the ranges (edges widened by :data:`EDGE`)."""
        e = np.asarray(energies, dtype=np.float64)
        ok = np.zeros(e.shape, dtype=bool)
        for lo, hi in self.ranges:
            ok |= (e >= lo * (1 - EDGE)) & (e <= hi * (1 + EDGE))
        return ok

    def route(self, energies: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Index of the generator of each energy, shape of ``energies``.

        Raises:
            ModelError: an energy outside every range (or between two split ranges).
        """
        e = np.asarray(energies, dtype=np.float64)
        ok = self.inside(e)
        if not ok.all():
            bad = float(e[~ok].reshape(-1)[0])
            lo, hi = self.energy_range
            raise ModelError(
                f"energy {bad:g} MeV is outside the trained range {lo:g}-{hi:g} MeV"
                + (" (or between the split ranges)" if len(self.ranges) > 1 else "")
            )
        which = np.zeros(e.shape, dtype=np.int64)
        for edge in self.upper_edges:
            which += e > edge
        return which

    def route_torch(self, energies: torch.Tensor) -> torch.Tensor:
        """:meth:`route` on a tensor, without the range check (traceable), int64."""
        which = torch.zeros_like(energies, dtype=torch.int64)
        for edge in self.upper_edges:
            which = which + (energies > edge).to(torch.int64)
        return which
