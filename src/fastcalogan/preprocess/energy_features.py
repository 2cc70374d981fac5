"""Energy features of a layer-normalised shower: a few numbers a normalising flow can learn.

The layer-energy normalisation (``PreprocessConfig(kind="caloshowergan", layer_norm=True)``)
writes a shower as ``[voxel fractions (n_voxels), layer fractions f_k (n_layers),
E_tot / E_inc (1)]``. Its energy block is mapped here to ``n_layers`` unbounded features

* ``y_0 = log(E_tot / E_inc)``, the log response;
* for ``k = 0 .. n_layers - 2`` the logit of the stick-breaking fraction
  ``u_k = f_k / sum_{j >= k} f_j`` (the share of layer ``k`` in what is left from ``k`` on;
  the last layer takes the remainder).

Fractions 0 (an empty layer) and 1 (nothing deeper) are point masses: :func:`dequantise`
spreads them over a band of width ``zero_band`` below ``logit(delta)`` (above
``logit(1 - delta)``), which :class:`EnergyDecoder` maps back to exactly 0 (1); an undefined
``u_k`` (nothing from layer ``k`` on) is drawn from N(0, 1) and multiplies zero energy. The
features are standardised per condition with a mean and a log standard deviation that are
polynomials in the first label column (:func:`fit_standardisation`), so that a flow sees
roughly unit-normal marginals at every incident energy. :class:`EnergyDecoder` inverts the
chain with ONNX-exportable operations and is the energy half of a sampling network.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from ..errors import ModelError

__all__ = [
    "EnergyDecoder",
    "EnergyParts",
    "dequantise",
    "energy_parts",
    "fit_standardisation",
]

#: Label groups at most: more distinct label values (or fewer than ``_MIN_GROUP_EVENTS``
#: events per value) are grouped in at most ``_QUANTILE_BINS`` quantile bins.
_MAX_GROUPS = 64
_MIN_GROUP_EVENTS = 8
_QUANTILE_BINS = 16


class EnergyParts(NamedTuple):
    """The deterministic part of the energy features of a batch (float64).

    Attributes:
        log_response: ``(B, 1)``, ``log(E_tot / E_inc)``.
        logit: ``(B, n_layers - 1)``, ``logit(u_k)`` where ``u_k`` is interior, else 0.
        state: ``(B, n_layers - 1)``, int8: 0 interior, 1 zero, 2 one, 3 undefined.
    """

    log_response: torch.Tensor
    logit: torch.Tensor
    state: torch.Tensor


def _bounds(delta: float) -> tuple[float, float]:
    lo = math.log(delta / (1.0 - delta))
    return lo, -lo


def energy_parts(
    layer_fractions: torch.Tensor, response: torch.Tensor, delta: float = 1e-8
) -> EnergyParts:
    """Energy features of showers before dequantisation.

    Args:
        layer_fractions: ``(B, n_layers)``, ``E_k / E_tot`` (rows sum to 1, or are 0).
        response: ``(B,)`` or ``(B, 1)``, ``E_tot / E_inc``.
        delta: fractions below ``delta`` count as 0, above ``1 - delta`` as 1.

    Returns:
        The parts, float64 on the input's device. An empty shower gets the response
        ``1e-30`` (a log response of -69).
    """
    f = layer_fractions.detach().double().clamp_min(0.0)
    r = response.detach().double().reshape(-1, 1).clamp_min(1e-30)
    rest = torch.flip(torch.cumsum(torch.flip(f, [1]), 1), [1])  # sum_{j >= k} f_j
    num, comp = f[:, :-1], rest[:, 1:]  # f_k and sum_{j > k} f_j
    lo, hi = _bounds(delta)
    logit = torch.log(num) - torch.log(comp)
    state = torch.zeros(num.shape, dtype=torch.int8, device=f.device)
    state = torch.where(logit < lo, torch.ones_like(state), state)
    state = torch.where(logit > hi, torch.full_like(state, 2), state)
    state = torch.where(num + comp <= 0, torch.full_like(state, 3), state)
    logit = torch.where(state == 0, logit, torch.zeros_like(logit))
    return EnergyParts(torch.log(r), logit, state)


def dequantise(
    parts: EnergyParts,
    generator: torch.Generator | None = None,
    delta: float = 1e-8,
    zero_band: float = 1.0,
) -> torch.Tensor:
    """Raw features ``(B, n_layers)`` with fresh dequantisation noise (float64).

    Noise is drawn on the CPU from ``generator`` and moved to the parts' device.
    """
    lo, hi = _bounds(delta)
    shape = parts.logit.shape
    uniform = torch.rand(shape, generator=generator, dtype=torch.float64).to(parts.logit.device)
    normal = torch.randn(shape, generator=generator, dtype=torch.float64).to(parts.logit.device)
    logit = torch.where(parts.state == 1, lo - zero_band * uniform, parts.logit)
    logit = torch.where(parts.state == 2, hi + zero_band * uniform, logit)
    logit = torch.where(parts.state == 3, normal, logit)
    return torch.cat([parts.log_response, logit], dim=1)


def _groups(c: npt.NDArray[np.float64]) -> list[npt.NDArray[np.bool_]]:
    values = np.unique(c)
    if values.size <= min(_MAX_GROUPS, c.size // _MIN_GROUP_EVENTS):
        return [c == v for v in values]
    n_bins = max(2, min(_QUANTILE_BINS, c.size // _MIN_GROUP_EVENTS))
    edges = np.quantile(c, np.linspace(0.0, 1.0, n_bins + 1))
    which = np.clip(np.searchsorted(edges, c, side="right") - 1, 0, n_bins - 1)
    return [which == k for k in range(n_bins) if np.count_nonzero(which == k) > 1]


def fit_standardisation(
    label: npt.ArrayLike, features: npt.ArrayLike, degree: int = 6
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Polynomials in the label of the features' mean and log standard deviation.

    Events are grouped by label value (discrete energy points) or, with more than 64
    distinct values or fewer than 8 events per value, in up to 16 quantile bins; the group
    moments are fitted by least squares with degree ``min(degree, n_groups - 1)`` (leading
    coefficients of a lower degree are 0).

    Args:
        label: ``(n,)``, the first label column.
        features: ``(n, d)``, raw features.
        degree: the polynomials' degree.

    Returns:
        ``(mean_coef, logstd_coef)``, each ``(degree + 1, d)``, highest power first.

    Raises:
        ModelError: fewer than two events per group on average.
    """
    c = np.asarray(label, dtype=np.float64).reshape(-1)
    y = np.asarray(features, dtype=np.float64).reshape(c.size, -1)
    groups = _groups(c)
    if len(groups) < 1:
        raise ModelError(f"energy standardisation: expected at least 2 events, found {c.size}")
    centres = np.array([c[g].mean() for g in groups])
    means = np.stack([y[g].mean(0) for g in groups])
    stds = np.stack([y[g].std(0) + 1e-6 for g in groups])
    deg = min(degree, len(groups) - 1)
    # Vandermonde least squares (np.polyfit, without its rank warning on few groups)
    vander = np.vander(centres, deg + 1)
    mean_coef = np.linalg.lstsq(vander, means, rcond=None)[0]
    logstd_coef = np.linalg.lstsq(vander, np.log(stds), rcond=None)[0]
    pad = np.zeros((degree - deg, y.shape[1]))
    return np.vstack([pad, mean_coef]), np.vstack([pad, logstd_coef])


def _poly(c: torch.Tensor, coef: torch.Tensor) -> torch.Tensor:
    """Horner: ``c`` (B, 1), ``coef`` (degree + 1, d) highest power first -> (B, d)."""
    out = coef[0].expand(c.shape[0], -1)
    for k in range(1, coef.shape[0]):
        out = out * c + coef[k]
    return out


class EnergyDecoder(nn.Module):
    """Standardised features and the label -> the layer-normalised energy block.

    ``forward(y (B, n_layers), label (B, n_conditions))`` returns
    ``[layer fractions (B, n_layers), E_tot / E_inc (B, 1)]``. The standardisation
    polynomials are buffers (fitted with :func:`fit_standardisation` and stored with the
    weights); only the first label column enters them. Exportable: polynomials, ``exp``,
    ``sigmoid``, ``where`` and an unrolled product (``cumprod`` has no opset-17 export).

    Args:
        n_layers: layers of the shower.
        degree: degree of the polynomials.
        delta: the zero / one threshold of the fractions.
    """

    mean_coef: torch.Tensor
    logstd_coef: torch.Tensor

    def __init__(self, n_layers: int, degree: int = 6, delta: float = 1e-8) -> None:
        super().__init__()
        self.n_layers = n_layers
        self.lo, self.hi = _bounds(delta)
        self.register_buffer("mean_coef", torch.zeros(degree + 1, n_layers))
        self.register_buffer("logstd_coef", torch.zeros(degree + 1, n_layers))

    def set_standardisation(self, mean_coef: npt.ArrayLike, logstd_coef: npt.ArrayLike) -> None:
        """Load fitted polynomials (``(degree + 1, n_layers)`` each)."""
        with torch.no_grad():
            self.mean_coef.copy_(torch.as_tensor(np.asarray(mean_coef), dtype=torch.float32))
            self.logstd_coef.copy_(torch.as_tensor(np.asarray(logstd_coef), dtype=torch.float32))

    def standardise(self, y: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Raw features ``(B, n_layers)`` -> standardised (float32)."""
        c = label[:, :1].float()
        mean = _poly(c, self.mean_coef)
        std = torch.exp(_poly(c, self.logstd_coef))
        return (y.float() - mean) / std

    def forward(self, y: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``(B, n_layers + 1)``: layer fractions and the response."""
        c = label[:, :1]
        raw = y * torch.exp(_poly(c, self.logstd_coef)) + _poly(c, self.mean_coef)
        response = torch.exp(raw[:, :1])
        logit = raw[:, 1:]
        u = torch.sigmoid(logit)
        u = torch.where(logit < self.lo, torch.zeros_like(u), u)
        u = torch.where(logit > self.hi, torch.ones_like(u), u)
        rest = torch.ones_like(response)
        fractions = []
        for k in range(self.n_layers - 1):
            fractions.append(u[:, k : k + 1] * rest)
            rest = rest * (1.0 - u[:, k : k + 1])
        return torch.cat([*fractions, rest, response], dim=1)
