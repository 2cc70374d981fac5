"""The Box-Cox transform of cell energies, fitted on the training set, in numpy and torch.

Cell energies (over the incident energy) span many decades and are zero where nothing was
read out. The LHCb calorimeter GAN study (Chekalina et al., EPJ Web Conf. 214 (2019) 02034;
issue 17) trains on Box-Cox transformed energies (Box and Cox, J. R. Stat. Soc. B 26 (1964)
211):

    z = ((x + eps)^lambda - 1) / lambda      (log(x + eps) for lambda = 0)
    y = (z - mean) / std

with one ``lambda`` for every cell, fitted by maximum likelihood on the filled training
cells (:func:`scipy.stats.boxcox_llf`, maximised in :data:`LAMBDA_BOUNDS`; a seeded sample of
at most :data:`FIT_SAMPLE` values), the
offset ``eps`` that makes empty cells transformable (by default half the smallest non-zero
value of the training set, so empty cells sit just below every filled one; it is also the
readout threshold of the inverse), and ``mean``
and ``std`` of the transformed filled cells (empty cells, most of a shower's grid, sit
at one value below them). The inverse clips ``y`` to the training
range first: the lowest value is an empty cell (``x = 0`` exactly, which is how a generator
writes zeros), the highest the largest training value (``z`` out of the range would be
unbounded for ``lambda < 0``). Every step is an elementwise ``pow``/``clamp``, so it exports
to ONNX as it is.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.optimize
import scipy.special
import scipy.stats
import torch

from ..errors import DataFormatError

__all__ = ["FIT_SAMPLE", "LAMBDA_BOUNDS", "FittedBoxCox"]

#: Values drawn (without replacement, seeded) from the training cells to fit lambda.
FIT_SAMPLE = 200_000
#: The range lambda is fitted in. A negative lambda maps values near the offset (the empty
#: cells) arbitrarily far below the filled ones (x^lambda diverges at 0): the reference
#: simulator's cells, a spot's energy apart, fit lambda = -0.6, which put the empty cells
#: 22 standard deviations below the filled ones; lambda = 0 (the logarithm) puts them 2
#: below.
LAMBDA_BOUNDS = (0.0, 2.0)
#: Below this |lambda| the transform is the logarithm.
_LOG_LAMBDA = 1e-9


def _fit_lambda(values: npt.NDArray[np.float64]) -> float:
    """The maximum-likelihood lambda in :data:`LAMBDA_BOUNDS` (0 for values all equal)."""
    if np.ptp(values) <= 0:
        return 0.0

    def minus_llf(lam: float) -> float:
        with np.errstate(all="ignore"):
            llf = float(scipy.stats.boxcox_llf(lam, values))
        return -llf if np.isfinite(llf) else np.inf

    with np.errstate(all="ignore"):  # an infinite likelihood at a trial lambda is skipped
        fit = scipy.optimize.minimize_scalar(
            minus_llf, bounds=LAMBDA_BOUNDS, method="bounded", options={"xatol": 1e-6}
        )
    # an optimum at a bound lands within the tolerance of it: take the bound (0: the log)
    nearest = min(LAMBDA_BOUNDS, key=lambda b: abs(b - float(fit.x)))
    return float(nearest) if abs(nearest - float(fit.x)) < 1e-4 else float(fit.x)


@dataclass(frozen=True)
class FittedBoxCox:
    """Box-Cox plus standardisation of non-negative values, fitted on training data.

    Attributes:
        lam: the Box-Cox exponent.
        offset: ``eps`` added before the transform (the unit of the values).
        mean, std: of the transformed filled (non-zero) training values.
        low, high: the standardised transform of the smallest and the largest training
            value (the inverse clips to this range).
    """

    lam: float
    offset: float
    mean: float
    std: float
    low: float
    high: float

    @classmethod
    def fit(cls, values: npt.ArrayLike, offset: float | None = None, seed: int = 0) -> FittedBoxCox:
        """Fit on the training values (any shape; all pooled; lambda on the non-zero ones).

        Args:
            values: non-negative, e.g. cell energies over the incident energy
                ``(n_events, n_cells)``.
            offset: ``eps``; ``None`` takes half the smallest non-zero value.
            seed: of the sample that lambda is fitted on.

        Raises:
            DataFormatError: no values, negative or non-finite ones, or all zero.

        >>> fit = FittedBoxCox.fit(np.exp(np.random.default_rng(1).normal(size=5000)))
        >>> abs(fit.lam) < 0.1
        True
        """
        v = np.asarray(values, dtype=np.float64).reshape(-1)
        if v.size == 0 or not np.all(np.isfinite(v)) or v.min() < 0:
            raise DataFormatError(
                "Box-Cox preprocessing needs finite, non-negative cell energies; found "
                + ("none" if v.size == 0 else f"values from {v.min():.3g} to {v.max():.3g}")
            )
        positive = v[v > 0]
        if positive.size == 0:
            raise DataFormatError("Box-Cox preprocessing needs some non-zero cell energies")
        eps = float(offset) if offset is not None else 0.5 * float(positive.min())
        rng = np.random.default_rng(seed)
        # lambda, mean and std describe the filled cells: a shower fills a small share of
        # the grid, and a spike of empty cells would decide the fit
        sample = (
            positive
            if positive.size <= FIT_SAMPLE
            else rng.choice(positive, FIT_SAMPLE, replace=False)
        )
        lam = _fit_lambda(sample + eps)
        z = scipy.special.boxcox(sample + eps, lam)
        mean, std = float(np.mean(z)), float(np.std(z))
        std = std if std > 0 else 1.0
        z_range = scipy.special.boxcox(np.array([v.min(), v.max()]) + eps, lam)
        low, high = ((z_range - mean) / std).tolist()
        return cls(lam, eps, mean, std, float(low), float(high))

    @classmethod
    def unit(cls) -> FittedBoxCox:
        """The logarithm of values in 1e-6 .. 1, standardised to a range of width 1
        (untrained models for benchmarks and tests).

        >>> [round(v, 6) for v in FittedBoxCox.unit().inverse(np.array([-1.0, 0.0])).tolist()]
        [0.0, 1.0]
        """
        low, high = math.log(1e-6), math.log(1.0 + 1e-6)
        return cls(0.0, 1e-6, high, high - low, -1.0, 0.0)

    def apply(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The transform: values (any shape, >= 0) -> standardised Box-Cox values, float64."""
        v = np.asarray(values, dtype=np.float64)
        return (scipy.special.boxcox(v + self.offset, self.lam) - self.mean) / self.std

    def inverse(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """:meth:`inverse_torch` in numpy (float64)."""
        return self.inverse_torch(torch.as_tensor(np.asarray(values, dtype=np.float64))).numpy()

    def inverse_torch(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised Box-Cox values -> values >= 0 (any shape, dtype kept, exportable).

        ``y`` is clipped to ``[low, high]``; results below the offset are zero (the offset is
        the readout threshold of generated cells; the default offset is half the smallest
        filled training value, so every training value comes back).
        """
        # float64 inside: (lambda z + 1)^(1 / lambda) amplifies the rounding of its base by
        # 1 / lambda
        dtype = y.dtype
        x = self._untransform(y.to(torch.float64).clamp(self.low, self.high)) - self.offset
        # below the offset a cell reads zero: an empty cell comes back as exactly 0 whatever
        # the rounding, and a filled one (>= 2 offsets with the default) as itself
        return torch.where(x >= self.offset, x, torch.zeros_like(x)).to(dtype)

    def smooth_inverse_torch(self, y: torch.Tensor) -> torch.Tensor:
        """The inverse without the readout threshold and the lower clip, for losses: values
        plus the offset (always > 0), differentiable everywhere below ``high``.

        :meth:`inverse_torch` reads every cell below the offset as zero, so an image whose
        cells all sit there has no gradient; this surrogate keeps one, at the price of
        ``offset`` per cell (0.075 MeV on the LHCb sample: 68 MeV over 900 cells).
        """
        return self._untransform(y.clamp_max(self.high))

    def _untransform(self, y: torch.Tensor) -> torch.Tensor:
        """Standardised values -> values plus the offset (no clipping, no threshold)."""
        z = y * self.std + self.mean
        if abs(self.lam) < _LOG_LAMBDA:
            return torch.exp(z)
        # lambda z + 1 > 0 inside the clipped range; the floor guards rounding at its end
        return torch.pow((self.lam * z + 1.0).clamp_min(1e-30), 1.0 / self.lam)

    def to_dict(self) -> dict[str, Any]:
        """The preprocessing state's ``box_cox`` entry."""
        return {
            "lambda": self.lam,
            "offset": self.offset,
            "mean": self.mean,
            "std": self.std,
            "low": self.low,
            "high": self.high,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedBoxCox:
        """Read :meth:`to_dict` back (KeyError, TypeError or ValueError if malformed)."""
        out = cls(
            float(data["lambda"]),
            float(data["offset"]),
            float(data["mean"]),
            float(data["std"]),
            float(data["low"]),
            float(data["high"]),
        )
        if not all(math.isfinite(v) for v in out.to_dict().values()) or out.std <= 0:
            raise ValueError(f"Box-Cox parameters must be finite with std > 0, found {data}")
        return out
