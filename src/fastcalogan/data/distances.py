"""Frechet and kernel physics distances (FPD, KPD) between two feature samples.

Definitions follow Kansal et al., "Evaluating generative models in high energy physics",
PRD 107 (2023) 076017 (arXiv:2211.10295):

* FPD is the Frechet distance between Gaussian fits of the two feature sets,
  ``|mu_r - mu_g|^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))``, computed on random batches of
  increasing size N and extrapolated linearly in 1/N to N -> infinity (it is biased at finite
  N); the error is the fit's standard error of the intercept.
* KPD is the unbiased estimator of the squared maximum mean discrepancy with the cubic
  polynomial kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over random batches; the error is
  the standard error of that mean.

Both standardise the features with the reference's mean and standard deviation first.
Optionally (``clip_quantile > 0``) both samples are first clipped to the reference's
``[q, 1 - q]`` quantile range per feature: shower features such as the energy fraction in
the hadronic layer or the centroid of a sparse layer have rare far outliers (kurtosis above
100), and a handful of them otherwise dominates the covariance estimate, so that two
samples of one simulator differ by more than a 5 % energy-scale change does. Tails are
left to the per-observable chi2.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.linalg

__all__ = [
    "DistanceResult",
    "clip_to_reference",
    "frechet_distance",
    "frechet_physics_distance",
    "kernel_physics_distance",
    "mmd_polynomial_unbiased",
    "standardise",
]


@dataclass(frozen=True)
class DistanceResult:
    """A batch-estimated distance.

    Attributes:
        value: the estimate (FPD: extrapolated to infinite N, or the batch mean).
        error: its standard error.
        method: ``"extrapolated"`` or ``"batch_mean"``.
        n_batches: number of batches evaluated.
    """

    value: float
    error: float
    method: str
    n_batches: int


def standardise(
    reference: npt.ArrayLike, generated: npt.ArrayLike
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Shift and scale both ``(n, d)`` samples by the reference's per-column mean and std.

    Columns that are constant in the reference are only shifted.
    """
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(generated, dtype=np.float64)
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (x - mu) / sd, (y - mu) / sd


def clip_to_reference(
    reference: npt.ArrayLike, generated: npt.ArrayLike, quantile: float
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Clip both ``(n, d)`` samples per column to the reference's ``[q, 1 - q]`` quantiles.

    ``quantile`` 0 returns the samples unchanged.

    >>> clip_to_reference([[0.0], [1.0], [2.0]], [[5.0]], 0.0)[1].tolist()
    [[5.0]]
    """
    x = np.asarray(reference, dtype=np.float64)
    y = np.asarray(generated, dtype=np.float64)
    if quantile <= 0 or len(x) == 0:
        return x, y
    lo, hi = np.quantile(x, [quantile, 1.0 - quantile], axis=0)
    return np.clip(x, lo, hi), np.clip(y, lo, hi)


def frechet_distance(
    mu1: npt.ArrayLike, sigma1: npt.ArrayLike, mu2: npt.ArrayLike, sigma2: npt.ArrayLike
) -> float:
    """Frechet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    >>> round(frechet_distance([0.0, 0.0], np.eye(2), [1.0, 0.0], np.eye(2)), 12)
    1.0
    """
    m1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    m2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    s1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    diff = m1 - m2
    with warnings.catch_warnings():
        warnings.simplefilter("error", scipy.linalg.LinAlgWarning)
        try:
            covmean = scipy.linalg.sqrtm(s1 @ s2)
            singular = not np.all(np.isfinite(covmean))
        except scipy.linalg.LinAlgWarning:
            singular = True
    if singular:
        # near-singular product (e.g. a feature constant in a small sample): regularise the
        # covariances as pytorch-fid does; the remaining inaccuracy is below the offset
        offset = np.eye(s1.shape[0]) * 1e-6
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = np.real(covmean)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean))


def _fd_batch(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    return frechet_distance(
        x.mean(axis=0), np.cov(x, rowvar=False), y.mean(axis=0), np.cov(y, rowvar=False)
    )


def frechet_physics_distance(
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    rng: np.random.Generator,
    min_samples: int = 5_000,
    max_samples: int = 20_000,
    n_batches: int = 10,
    n_points: int = 5,
    clip_quantile: float = 0.0,
) -> DistanceResult:
    """FPD of two feature samples ``(n_ref, d)`` and ``(n_gen, d)``, standardised by the reference.

    For ``n_points`` batch sizes N from ``min_samples`` to ``max_samples`` (capped by the
    sample sizes) the Frechet distance is averaged over ``n_batches`` draws with replacement
    and fitted linearly in 1/N; the intercept is the FPD. With fewer than 4 distinct sizes
    (small samples) it falls back to the batch mean at the largest size. ``clip_quantile``:
    see :func:`clip_to_reference`.
    """
    x, y = standardise(*clip_to_reference(reference, generated, clip_quantile))
    n = min(len(x), len(y), int(max_samples))
    if n < 3 or x.shape[1] == 0:
        return DistanceResult(float("nan"), float("nan"), "batch_mean", 0)
    lo = min(int(min_samples), max(2, n // 2))
    sizes = np.unique(np.linspace(lo, n, max(1, int(n_points))).astype(int))
    means = []
    all_vals = []
    for size in sizes:
        vals = [
            _fd_batch(x[rng.integers(0, len(x), size=size)], y[rng.integers(0, len(y), size=size)])
            for _ in range(n_batches)
        ]
        all_vals.append(vals)
        means.append(float(np.mean(vals)))
    if len(sizes) >= 4:
        coef, cov = np.polyfit(1.0 / sizes, means, 1, cov=True)
        return DistanceResult(
            float(coef[1]),
            float(np.sqrt(max(cov[1, 1], 0.0))),
            "extrapolated",
            len(sizes) * n_batches,
        )
    last = np.asarray(all_vals[-1])
    err = float(last.std(ddof=1) / np.sqrt(len(last))) if len(last) > 1 else float("nan")
    return DistanceResult(float(last.mean()), err, "batch_mean", len(sizes) * n_batches)


def mmd_polynomial_unbiased(x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Unbiased squared MMD of ``(m, d)`` and ``(n, d)`` samples with ``(x.y / d + 1)^3``.

    >>> mmd_polynomial_unbiased(np.zeros((3, 1)), np.ones((3, 1)))  # 1 + 8 - 2 * 1
    7.0
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    d = a.shape[1]
    m, n = len(a), len(b)
    kxx = (a @ a.T / d + 1.0) ** 3
    kyy = (b @ b.T / d + 1.0) ** 3
    kxy = (a @ b.T / d + 1.0) ** 3
    sxx = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    syy = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(sxx + syy - 2.0 * kxy.mean())


def kernel_physics_distance(
    reference: npt.ArrayLike,
    generated: npt.ArrayLike,
    rng: np.random.Generator,
    batch_size: int = 2_000,
    n_batches: int = 10,
    clip_quantile: float = 0.0,
) -> DistanceResult:
    """KPD: mean unbiased MMD^2 (cubic polynomial kernel) over ``n_batches`` random batches.

    Features are standardised by the reference (after :func:`clip_to_reference` with
    ``clip_quantile``); batches of ``batch_size`` (capped by the sample sizes) are drawn
    without replacement within each batch.
    """
    x, y = standardise(*clip_to_reference(reference, generated, clip_quantile))
    size = min(len(x), len(y), int(batch_size))
    if size < 2 or x.shape[1] == 0:
        return DistanceResult(float("nan"), float("nan"), "batch_mean", 0)
    vals = np.array(
        [
            mmd_polynomial_unbiased(
                x[rng.choice(len(x), size, replace=False)],
                y[rng.choice(len(y), size, replace=False)],
            )
            for _ in range(n_batches)
        ]
    )
    err = float(vals.std(ddof=1) / np.sqrt(len(vals))) if len(vals) > 1 else float("nan")
    return DistanceResult(float(vals.mean()), err, "batch_mean", len(vals))
