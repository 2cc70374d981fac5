"""Binned two-sample statistics shared by checkpoint selection and evaluation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Chi2Result",
    "SampleComparison",
    "chi2_histograms",
    "chi2_samples",
    "compare_samples",
    "histogram_counts",
    "reference_edges",
    "separation_power",
]


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
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    bins: npt.ArrayLike,
    overflow: bool = False,
) -> Chi2Result:
    """Histogram both samples on ``bins`` (edges) and return their two-sample chi2.

    With ``overflow``, two extra bins count the values below the first and above the last
    edge, so a sample that falls outside the window scores a large, finite chi2 instead of
    being ignored.

    >>> chi2_samples([0.5, 1.5], [5.0, 6.0], [0.0, 1.0, 2.0], overflow=True).ndf
    3
    """
    edges = np.asarray(bins, dtype=np.float64)
    if overflow:
        edges = np.concatenate([[-np.inf], edges, [np.inf]])
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


def reference_edges(
    reference: npt.ArrayLike,
    n_bins: int = 50,
    quantiles: tuple[float, float] = (0.001, 0.999),
    log: bool = False,
) -> npt.NDArray[np.float64]:
    """Common bin edges ``(n_bins + 1,)`` spanning the reference's central quantiles.

    With ``log`` the edges are log-spaced over the positive values (falling back to linear
    when there are none). A degenerate range (constant reference) is widened so that the
    value sits in a bin. Use with :func:`compare_samples`, which folds values outside the
    edges into the outer bins.

    >>> reference_edges([0.0, 1.0, 2.0], n_bins=2, quantiles=(0.0, 1.0)).tolist()
    [0.0, 1.0, 2.0]
    """
    x = np.asarray(reference, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if log:
        pos = x[x > 0]
        if pos.size:
            lo, hi = np.quantile(pos, quantiles)
            if hi <= lo:
                lo, hi = lo / 2.0, hi * 2.0
            return np.geomspace(lo, hi, n_bins + 1)
    if x.size == 0:
        return np.linspace(0.0, 1.0, n_bins + 1)
    lo, hi = (float(v) for v in np.quantile(x, quantiles))
    if hi <= lo:
        pad = 0.5 * max(abs(lo), 1e-3)
        lo, hi = lo - pad, hi + pad
    return np.linspace(lo, hi, n_bins + 1)


def histogram_counts(
    values: npt.ArrayLike, edges: npt.ArrayLike, overflow: bool = True
) -> npt.NDArray[np.float64]:
    """Counts of ``values`` in the bins ``edges``; with ``overflow`` outliers go to the end bins."""
    e = np.asarray(edges, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    if overflow:
        v = np.clip(v, e[0], e[-1])
    counts, _ = np.histogram(v, e)
    return counts.astype(np.float64)


@dataclass(frozen=True)
class SampleComparison:
    """Binned comparison of a reference and a generated sample on common edges.

    Attributes:
        edges: bin edges, shape ``(n_bins + 1,)``.
        reference: reference counts, shape ``(n_bins,)``.
        generated: generated counts, shape ``(n_bins,)``.
        chi2: two-sample chi2 of the counts.
        separation: CaloChallenge separation power of the normalised counts.
    """

    edges: npt.NDArray[np.float64]
    reference: npt.NDArray[np.float64]
    generated: npt.NDArray[np.float64]
    chi2: Chi2Result
    separation: float


def compare_samples(
    reference: npt.ArrayLike, generated: npt.ArrayLike, edges: npt.ArrayLike
) -> SampleComparison:
    """Histogram both samples on ``edges`` (outliers folded into the outer bins) and compare.

    >>> c = compare_samples([0.5, 1.5], [0.5, 1.5], [0.0, 1.0, 2.0])
    >>> (c.chi2.chi2, c.separation)
    (0.0, 0.0)
    """
    e = np.asarray(edges, dtype=np.float64)
    ref = np.clip(np.asarray(reference, dtype=np.float64).reshape(-1), e[0], e[-1])
    gen = np.clip(np.asarray(generated, dtype=np.float64).reshape(-1), e[0], e[-1])
    n = histogram_counts(ref, e, overflow=False)
    m = histogram_counts(gen, e, overflow=False)
    # same statistic as chi2_samples(ref, gen, e), without histogramming twice
    chi2 = chi2_histograms(n, m)
    return SampleComparison(e, n, m, chi2, separation_power(n, m))
