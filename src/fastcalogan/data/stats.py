"""Binned two-sample statistics shared by checkpoint selection and evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Chi2Result", "chi2_histograms", "chi2_samples", "separation_power"]


@dataclass(frozen=True)
class Chi2Result:
    """Two-sample chi2 of binned distributions.

    Attributes:
        chi2: the statistic.
        ndf: number of bins with entries in either sample.
    """

    chi2: float
    ndf: int

    @property
    def chi2_ndf(self) -> float:
        """chi2 / NDF (``inf`` when no bin has entries)."""
        return self.chi2 / self.ndf if self.ndf > 0 else float("inf")


def chi2_histograms(ref_counts: npt.ArrayLike, gen_counts: npt.ArrayLike) -> Chi2Result:
    """Chi2 of two unweighted histograms with possibly different totals.

    chi2 = sum_i (M n_i - N m_i)^2 / (N M (n_i + m_i)) over bins with n_i + m_i > 0, where
    N = sum n_i and M = sum m_i (the two-sample test of unweighted histograms, as in ROOT's
    ``TH1::Chi2Test`` with option "UU"). NDF counts the non-empty bins.

    >>> chi2_histograms([5, 10, 5], [5, 10, 5]).chi2
    0.0
    """
    n = np.asarray(ref_counts, dtype=np.float64)
    m = np.asarray(gen_counts, dtype=np.float64)
    if n.shape != m.shape:
        raise ValueError(f"histograms differ in shape: {n.shape} vs {m.shape}")
    big_n, big_m = n.sum(), m.sum()
    filled = (n + m) > 0
    ndf = int(filled.sum())
    if big_n == 0 or big_m == 0:
        return Chi2Result(float("inf") if ndf else 0.0, ndf)
    num = (big_m * n[filled] - big_n * m[filled]) ** 2
    chi2 = float(np.sum(num / (n[filled] + m[filled])) / (big_n * big_m))
    return Chi2Result(chi2, ndf)


def chi2_samples(
    reference: npt.ArrayLike, generated: npt.ArrayLike, bins: npt.ArrayLike
) -> Chi2Result:
    """Histogram both samples on ``bins`` (edges) and return their two-sample chi2."""
    edges = np.asarray(bins, dtype=np.float64)
    n, _ = np.histogram(np.asarray(reference, dtype=np.float64), edges)
    m, _ = np.histogram(np.asarray(generated, dtype=np.float64), edges)
    return chi2_histograms(n, m)


def separation_power(p_counts: npt.ArrayLike, q_counts: npt.ArrayLike) -> float:
    """CaloChallenge separation power 0.5 * sum (p - q)^2 / (p + q) of normalised histograms.

    0 for identical shapes, 1 for disjoint ones.

    >>> separation_power([1, 0], [0, 1])
    1.0
    """
    p = np.asarray(p_counts, dtype=np.float64)
    q = np.asarray(q_counts, dtype=np.float64)
    if p.sum() <= 0 or q.sum() <= 0:
        return float("nan")
    p = p / p.sum()
    q = q / q.sum()
    s = p + q
    mask = s > 0
    return float(0.5 * np.sum((p[mask] - q[mask]) ** 2 / s[mask]))
