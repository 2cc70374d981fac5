"""FastCaloGAN's sequential energy injection.

Training starts on the 2^15 MeV ("32 GeV") sample alone; every K iterations one more energy
point joins, in the order 64, 16, 128, 8, 256, 4, 512, 2, 1024, 1, 2048, 0.5, 4096, 0.25 GeV
(ATLAS, Comput. Softw. Big Sci. 6 (2022) 7, section 4.2). Points of a sample that are not
powers of two follow, nearest to 2^15 MeV in log energy first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .config import INJECTION_ORDER_LOG2

__all__ = ["InjectionSchedule", "injection_schedule"]


@dataclass(frozen=True)
class InjectionSchedule:
    """Which energy points are trained on at each iteration.

    Attributes:
        order: the energy points (MeV) in injection order.
        every: K, iterations between two injections; 0 means all points from the start.
    """

    order: tuple[float, ...]
    every: int

    def n_active(self, iteration: int) -> int:
        """Number of points in use at (0-based) ``iteration``."""
        if self.every <= 0:
            return len(self.order)
        return min(len(self.order), 1 + iteration // self.every)

    def active(self, iteration: int) -> tuple[float, ...]:
        """The energy points (MeV) in use at (0-based) ``iteration``, in injection order.

        >>> s = injection_schedule([2.0**14, 2.0**15, 2.0**16], 10)
        >>> s.active(0), s.active(10), len(s.active(25))
        ((32768.0,), (32768.0, 65536.0), 3)
        """
        return self.order[: self.n_active(iteration)]

    def next_change(self, iteration: int) -> int | None:
        """First iteration after ``iteration`` at which the active set grows, or ``None``."""
        if self.every <= 0 or self.n_active(iteration) >= len(self.order):
            return None
        return (iteration // self.every + 1) * self.every


def injection_schedule(
    energies_present: Sequence[float] | npt.ArrayLike, every: int
) -> InjectionSchedule:
    """Order the energy points of a sample for injection.

    Args:
        energies_present: energy points of the training sample (MeV); duplicates are merged.
        every: K, iterations between injections; ``0`` turns injection off.

    Returns:
        The schedule; ``schedule.active(i)`` lists the points used at iteration ``i``.
    """
    points = np.unique(np.asarray(energies_present, dtype=np.float64).reshape(-1))
    rank = {e: i for i, e in enumerate(INJECTION_ORDER_LOG2)}

    def key(energy: float) -> tuple[int, float, float]:
        log2 = float(np.log2(energy))
        nearest = round(log2)
        if abs(log2 - nearest) < 1e-6 and nearest in rank:
            return (0, float(rank[nearest]), energy)
        return (1, abs(log2 - 15.0), energy)

    order = tuple(float(e) for e in sorted(points.tolist(), key=key))
    return InjectionSchedule(order=order, every=int(every))
