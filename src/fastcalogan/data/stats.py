"""Binned two-sample statistics shared by checkpoint selection and evaluation.

What the numbers mean, for two histograms with N and M entries:

* The two-sample chi2 cannot exceed ``N + M`` (reached when no bin holds entries of both
  samples), so chi2/NDF has a ceiling ``(N + M) / NDF`` that grows with the sample size: past
  about half of it (:data:`SATURATION_FRACTION`) the histograms barely overlap and chi2/NDF
  measures the sample size, not how far apart the distributions are. For ``N = M``,
  ``chi2 / (N + M)`` is exactly the separation power of the two histograms.
* The separation power (CaloChallenge; triangular discrimination, Krause et al.,
  arXiv:2410.21611, eq. 5.1) is 0 for identical shapes and 1 for disjoint ones, whatever the
  sample sizes, but two finite samples of one distribution still give about
  ``(B - 1) / 4 * (1/N + 1/M)`` on B filled bins (:func:`separation_floor`).
* The 1-D Wasserstein distance (:func:`wasserstein_1d`) needs no binning at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.stats

__all__ = [
    "SATURATION_FRACTION",
    "Chi2Result",
    "SampleComparison",
    "chi2_histograms",
    "chi2_samples",
    "compare_samples",
    "flow_counts",
    "histogram_counts",
    "reference_edges",
    "separation_floor",
    "separation_power",
    "wasserstein_1d",
]

#: A chi2 above this fraction of its ceiling ``N + M`` is flagged as saturated.
SATURATION_FRACTION = 0.5


@dataclass(frozen=True)
class Chi2Result:
    """Two-sample chi2 of binned distributions.

    Attributes:
        chi2: the statistic.
        ndf: number of bins with entries in either sample.
        n_reference, n_generated: entries N and M of the two histograms (0 when unknown).
    """

    chi2: float
    ndf: int
    n_reference: float = 0.0
    n_generated: float = 0.0

    @property
    def chi2_ndf(self) -> float:
        """chi2 / NDF (``inf`` when no bin has entries)."""
        return self.chi2 / self.ndf if self.ndf > 0 else float("inf")

    @property
    def ceiling(self) -> float:
        """The largest chi2/NDF these sample sizes allow, ``(N + M) / NDF`` (``inf`` if NDF 0).

        >>> Chi2Result(30.0, 10, 100.0, 100.0).ceiling
        20.0
        """
        return (self.n_reference + self.n_generated) / self.ndf if self.ndf > 0 else float("inf")

    @property
    def saturated(self) -> bool:
        """chi2 is above :data:`SATURATION_FRACTION` of its ceiling: the samples barely overlap.

        >>> Chi2Result(150.0, 10, 100.0, 100.0).saturated
        True
        """
        total = self.n_reference + self.n_generated
        return total > 0 and self.chi2 > SATURATION_FRACTION * total


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
    big_n, big_m = float(n.sum()), float(m.sum())
    filled = (n + m) > 0
    ndf = int(filled.sum())
    if big_n == 0 or big_m == 0:
        return Chi2Result(float("inf") if ndf else 0.0, ndf, big_n, big_m)
    num = (big_m * n[filled] - big_n * m[filled]) ** 2
    chi2 = float(np.sum(num / (n[filled] + m[filled])) / (big_n * big_m))
    return Chi2Result(chi2, ndf, big_n, big_m)


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


def separation_floor(n_bins: int, n_reference: float, n_generated: float) -> float:
    """Expected separation power of two samples of one distribution: ``(B - 1)/4 (1/N + 1/M)``.

    The statistical floor: a value near it means "indistinguishable at these sample sizes".
    From ``E[(p - q)^2] = pi (1 - pi) (1/N + 1/M)`` per bin of probability ``pi`` (large
    counts); ``nan`` without entries.

    >>> round(separation_floor(40, 3000, 3000), 4)
    0.0065
    """
    if n_reference <= 0 or n_generated <= 0 or n_bins < 1:
        return float("nan")
    return (n_bins - 1) / 4.0 * (1.0 / n_reference + 1.0 / n_generated)


def wasserstein_1d(reference: npt.ArrayLike, generated: npt.ArrayLike) -> float:
    """1-D Wasserstein (earth mover's) distance of two samples, in the samples' unit.

    Unbinned and free of a ceiling; for two samples of one distribution it falls as
    ``1/sqrt(N)`` (``scipy.stats.wasserstein_distance``). Non-finite values are ignored;
    ``nan`` when a sample is empty.

    >>> wasserstein_1d([0.0, 1.0], [1.0, 2.0])
    1.0
    """
    a = np.asarray(reference, dtype=np.float64).reshape(-1)
    b = np.asarray(generated, dtype=np.float64).reshape(-1)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    return float(scipy.stats.wasserstein_distance(a, b))


def reference_edges(
    reference: npt.ArrayLike,
    n_bins: int = 50,
    quantiles: tuple[float, float] = (0.001, 0.999),
    log: bool = False,
) -> npt.NDArray[np.float64]:
    """Common bin edges ``(n_bins + 1,)`` spanning the reference's central quantiles.

    With ``log`` the edges are log-spaced over the positive values (falling back to linear
    when there are none). A degenerate range (constant reference) is widened so that the
    value sits in a bin. Use with :func:`compare_samples`, which counts values outside the
    edges in flow bins.

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


def flow_counts(values: npt.ArrayLike, edges: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Entries below the first and above the last edge, shape ``(2,)``; non-finite ignored.

    >>> flow_counts([-1.0, 0.5, 3.0, 4.0], [0.0, 1.0, 2.0]).tolist()
    [1.0, 2.0]
    """
    e = np.asarray(edges, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[np.isfinite(v)]
    return np.array([np.count_nonzero(v < e[0]), np.count_nonzero(v > e[-1])], dtype=np.float64)


@dataclass(frozen=True)
class SampleComparison:
    """Binned comparison of a reference and a generated sample on common edges.

    Attributes:
        edges: bin edges, shape ``(n_bins + 1,)``.
        reference: reference counts inside the edges, shape ``(n_bins,)``.
        generated: generated counts inside the edges, shape ``(n_bins,)``.
        chi2: two-sample chi2 of the counts (with the flow bins when ``flow="bins"``).
        separation: CaloChallenge separation power of the normalised counts (idem).
        reference_flow: reference entries below / above the edges, shape ``(2,)``.
        generated_flow: generated entries below / above the edges, shape ``(2,)``.
        separation_floor: :func:`separation_floor` for these bins and sample sizes.
    """

    edges: npt.NDArray[np.float64]
    reference: npt.NDArray[np.float64]
    generated: npt.NDArray[np.float64]
    chi2: Chi2Result
    separation: float
    reference_flow: npt.NDArray[np.float64]
    generated_flow: npt.NDArray[np.float64]
    separation_floor: float


def compare_samples(
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    edges: npt.ArrayLike,
    flow: str = "bins",
) -> SampleComparison:
    """Histogram both samples on ``edges`` and compare them.

    Args:
        reference, generated: the samples (non-finite values are ignored).
        edges: bin edges.
        flow: what happens to entries outside the edges: ``"bins"`` (default) counts them in
            an underflow and an overflow bin that enter chi2 and separation power like any
            other bin, so a tail the reference lacks is seen; ``"drop"`` leaves them out, as
            the CaloChallenge evaluator's fixed-range histograms do. Either way they are
            reported in ``reference_flow`` / ``generated_flow``.

    >>> c = compare_samples([0.5, 1.5], [0.5, 1.5], [0.0, 1.0, 2.0])
    >>> (c.chi2.chi2, c.separation)
    (0.0, 0.0)
    >>> compare_samples([0.5, 1.5], [0.5, 9.0], [0.0, 1.0, 2.0]).chi2.ndf
    3
    """
    if flow not in ("bins", "drop"):
        raise ValueError(f"flow must be 'bins' or 'drop', found {flow!r}")
    e = np.asarray(edges, dtype=np.float64)
    n = histogram_counts(reference, e, overflow=False)
    m = histogram_counts(generated, e, overflow=False)
    nf, mf = flow_counts(reference, e), flow_counts(generated, e)
    if flow == "bins":
        full_n = np.concatenate([nf[:1], n, nf[1:]])
        full_m = np.concatenate([mf[:1], m, mf[1:]])
    else:
        full_n, full_m = n, m
    # same statistic as chi2_samples(ref, gen, e, overflow=True), without histogramming twice
    chi2 = chi2_histograms(full_n, full_m)
    floor = separation_floor(chi2.ndf, chi2.n_reference, chi2.n_generated)
    return SampleComparison(e, n, m, chi2, separation_power(full_n, full_m), nf, mf, floor)
