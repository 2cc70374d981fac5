"""Networks of the ``flow-gan`` family: an energy flow and a shape GAN.

* :func:`build_energy_flow`: a conditional neural-spline flow (a zuko masked autoregressive
  flow with monotonic rational-quadratic splines on ``[-bound, bound]``, Durkan et al. 2019)
  over the standardised energy features (``preprocess.energy_features``) given the label.
  Sampling inverts it, ``flow(label).transform.inv(z)``: a fixed number of autoregressive
  passes, which traces and exports to ONNX.
* :class:`ShapeGenerator`: noise, label and energy features -> per-layer voxel fractions
  through a :class:`SparseSoftmaxHead` (exact zeros, each layer sums to 1).
* :class:`ShapeCritic`: voxel fractions, their logs and per-layer shower-shape features
  (after CaloGAN, Paganini et al., PRL 120 (2018) 042003: centroid, width, hottest voxel,
  occupancy) with the label and the energy features -> score.
* :class:`FlowGanSampler`: the sampling network ``(noise, label) -> layer-normalised shower``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
import zuko
from torch import nn
from zuko.transforms import MonotonicRQSTransform

from ..preprocess.energy_features import EnergyDecoder

__all__ = [
    "FlowGanSampler",
    "ShapeCritic",
    "ShapeGenerator",
    "SparseSoftmaxHead",
    "build_energy_flow",
    "radial_index",
]


def build_energy_flow(
    features: int,
    context: int,
    transforms: int = 4,
    hidden: int = 128,
    depth: int = 2,
    bins: int = 12,
    bound: float = 10.0,
) -> zuko.flows.Flow:
    """Conditional NSF over ``features`` dims given ``context`` label columns."""
    return zuko.flows.MAF(
        features,
        context,
        transforms=transforms,
        hidden_features=(hidden,) * depth,
        univariate=partial(MonotonicRQSTransform, bound=bound, slope=1e-3),
        shapes=[(bins,), (bins,), (bins - 1,)],
    )


def radial_index(layer_shapes: Sequence[tuple[int, int]]) -> torch.Tensor:
    """Each voxel's index along the second image axis over that axis' length, in [0, 1].

    For polar layers ``(n_alpha, n_r)`` in voxel order this is the radial bin; shape
    ``(n_voxels,)``.

    >>> radial_index([(1, 3), (2, 2)]).tolist()
    [0.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0]
    """
    parts = []
    for n_a, n_r in layer_shapes:
        r = torch.arange(n_r, dtype=torch.float32) / max(n_r - 1, 1)
        parts.append(r.repeat(n_a))
    return torch.cat(parts)


class SparseSoftmaxHead(nn.Module):
    """``(B, n_voxels + n_layers)`` -> ``(B, n_voxels)`` per-layer fractions with exact zeros.

    Per layer ``f = softmax(logits)``; one extra output per layer sets a threshold
    ``tau = 0.999 sigmoid(t) max(f)``; ``relu(f - tau)`` renormalised keeps the hottest
    voxel, sums to 1 and is differentiable almost everywhere.
    """

    def __init__(self, layer_sizes: Sequence[int], sparse: bool = True) -> None:
        super().__init__()
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        self.sparse = sparse

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fractions, ``(B, n_voxels)``."""
        n_voxels = sum(self.layer_sizes)
        parts = []
        for k, logits in enumerate(torch.split(x[:, :n_voxels], list(self.layer_sizes), 1)):
            f = torch.softmax(logits, dim=1)
            if self.sparse and logits.shape[1] > 1:
                hottest = f.max(dim=1, keepdim=True).values
                tau = 0.999 * torch.sigmoid(x[:, n_voxels + k : n_voxels + k + 1]) * hottest
                f = torch.relu(f - tau)
                f = f / f.sum(dim=1, keepdim=True)
            parts.append(f)
        return torch.cat(parts, dim=1)


def _mlp(n_in: int, hidden: Sequence[int], n_out: int, act: type[nn.Module]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), act()]
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


class ShapeGenerator(nn.Module):
    """``(noise (B, latent), label (B, n_conditions), y (B, n_layers))`` -> fractions.

    The output layer starts small (weights times ``out_scale``), its voxel biases at 0 and
    its threshold biases at ``threshold_init``; :meth:`start_from` sets the voxel biases to
    the log mean fractions of real showers, so training starts from the average shower.
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        n_conditions: int,
        latent: int,
        hidden: Sequence[int],
        sparse: bool = True,
        threshold_init: float = -3.0,
        out_scale: float = 0.1,
    ) -> None:
        super().__init__()
        self.latent = latent
        self.n_voxels = sum(layer_sizes)
        n_layers = len(layer_sizes)
        self.net = _mlp(latent + n_conditions + n_layers, hidden, self.n_voxels + n_layers, nn.SiLU)
        self.head = SparseSoftmaxHead(layer_sizes, sparse)
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        with torch.no_grad():
            last.weight.mul_(out_scale)
            last.bias.zero_()
            last.bias[self.n_voxels :] = threshold_init

    @torch.no_grad()
    def start_from(self, mean_fractions: torch.Tensor) -> None:
        """Voxel biases = log of the mean fractions ``(n_voxels,)`` of real showers."""
        last = self.net[-1]
        assert isinstance(last, nn.Linear)
        last.bias[: self.n_voxels] = torch.log(mean_fractions.clamp_min(1e-6)).to(last.bias)

    def forward(self, noise: torch.Tensor, label: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Per-layer voxel fractions ``(B, n_voxels)``."""
        return self.head(self.net(torch.cat([noise, label, y], dim=1)))


class ShapeCritic(nn.Module):
    """``(fractions (B, n_voxels), label (B, n_conditions), y (B, n_layers))`` -> ``(B, 1)``.

    Its input features (:meth:`features`) are the fractions, optionally ``log(f + eps) / 4``
    and, per layer, four shape features of the fractions with the voxels' radial index
    ``r``: mean ``r``, RMS width in ``r``, the hottest fraction and the occupancy; they are
    standardised with buffers set by :meth:`fit_domain` on real showers.
    """

    domain_mean: torch.Tensor
    domain_std: torch.Tensor
    voxel_r: torch.Tensor

    def __init__(
        self,
        layer_shapes: Sequence[tuple[int, int]],
        n_conditions: int,
        hidden: Sequence[int],
        log_inputs: bool = True,
        domain: bool = True,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        self.layer_sizes = tuple(a * r for a, r in layer_shapes)
        n_voxels, n_layers = sum(self.layer_sizes), len(self.layer_sizes)
        self.log_inputs, self.domain, self.eps = log_inputs, domain, eps
        n_domain = 4 * n_layers if domain else 0
        self.register_buffer("voxel_r", radial_index(layer_shapes))
        self.register_buffer("domain_mean", torch.zeros(n_domain))
        self.register_buffer("domain_std", torch.ones(n_domain))
        n_in = n_voxels * (2 if log_inputs else 1) + n_domain
        self.net = _mlp(n_in + n_conditions + n_layers, hidden, 1, nn.SiLU)

    def _domain(self, f: torch.Tensor) -> torch.Tensor:
        feats = []
        for fk, rk in zip(
            torch.split(f, list(self.layer_sizes), 1),
            torch.split(self.voxel_r, list(self.layer_sizes)),
            strict=True,
        ):
            mean_r = (fk * rk).sum(1, keepdim=True)
            width = ((fk * rk**2).sum(1, keepdim=True) - mean_r**2).clamp_min(0.0).add(1e-6).sqrt()
            hottest = fk.max(dim=1, keepdim=True).values
            occupancy = (fk / (fk + 1e-4)).mean(1, keepdim=True)
            feats += [mean_r, width, hottest, occupancy]
        return torch.cat(feats, dim=1)

    def features(self, f: torch.Tensor) -> torch.Tensor:
        """The critic's input features of fractions ``f`` (B, n_voxels)."""
        parts = [f]
        if self.log_inputs:
            parts.append(torch.log(f + self.eps) / 4.0)
        if self.domain:
            parts.append((self._domain(f) - self.domain_mean) / self.domain_std)
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def fit_domain(self, f: torch.Tensor) -> None:
        """Standardise the shape features with their mean and std on real fractions ``f``."""
        if self.domain:
            d = self._domain(f)
            self.domain_mean.copy_(d.mean(0))
            self.domain_std.copy_(d.std(0).clamp_min(1e-3))

    def score(self, h: torch.Tensor, label: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Score of already computed :meth:`features` ``h``."""
        return self.net(torch.cat([h, label, y], dim=1))

    def forward(self, f: torch.Tensor, label: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Score ``(B, 1)``."""
        return self.score(self.features(f), label, y)


class FlowGanSampler(nn.Module):
    """``(noise (B, n_layers + latent), label (B, n_conditions))`` -> layer-normalised shower.

    The first ``n_layers`` noise columns are the flow's base sample, the rest the shape
    generator's noise. Output ``[voxel fractions (n_voxels), layer fractions (n_layers),
    E_tot / E_inc (1)]``: what ``Preprocessor.inverse_torch`` with ``layer_norm`` maps to MeV.
    """

    flow: zuko.flows.Flow
    shapes: ShapeGenerator
    decoder: EnergyDecoder

    def __init__(
        self, flow: zuko.flows.Flow, shapes: ShapeGenerator, decoder: EnergyDecoder
    ) -> None:
        super().__init__()
        self.flow = flow
        self.shapes = shapes
        self.decoder = decoder
        self.n_energy = decoder.n_layers

    def energy_features(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Standardised energy features ``(B, n_layers)`` from base noise ``z``."""
        out: torch.Tensor = self.flow(label).transform.inv(z)
        return out

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``(B, n_voxels + n_layers + 1)``."""
        y = self.energy_features(noise[:, : self.n_energy], label)
        shapes = self.shapes(noise[:, self.n_energy :], label, y)
        return torch.cat([shapes, self.decoder(y, label)], dim=1)
