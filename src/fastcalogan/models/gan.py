"""Conditional generator and critic (plain MLPs) and the WGAN-GP gradient penalty.

Both networks take the condition label as one extra input column. With layer-energy
normalisation the generator's output head ends in one softmax per layer (voxel fractions),
one softmax over layers (layer fractions) and one ReLU node (total over incident energy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError
from .config import ModelConfig

__all__ = [
    "Critic",
    "CriticTerms",
    "Generator",
    "OutputHead",
    "build_models",
    "critic_terms",
    "gradient_penalty",
    "sample_noise",
]


def _activation(name: str) -> nn.Module:
    return nn.SiLU() if name == "swish" else nn.ReLU()


class OutputHead(nn.Module):
    """Final activation of the generator.

    Without ``layer_sizes`` a ReLU (energies are non-negative). With them, the input of width
    ``n_voxels + n_layers + 1`` is split into per-layer softmaxes, a softmax over layers and a
    ReLU on the last node.
    """

    def __init__(self, layer_sizes: Sequence[int] | None = None) -> None:
        super().__init__()
        self.layer_sizes = tuple(int(n) for n in layer_sizes) if layer_sizes else ()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.layer_sizes:
            return torch.relu(x)
        n_vox, n_lay = sum(self.layer_sizes), len(self.layer_sizes)
        chunks = torch.split(x[:, :n_vox], list(self.layer_sizes), 1)
        parts = [torch.softmax(p, dim=1) for p in chunks]
        parts.append(torch.softmax(x[:, n_vox : n_vox + n_lay], dim=1))
        parts.append(torch.relu(x[:, n_vox + n_lay :]))
        return torch.cat(parts, dim=1)


class Generator(nn.Module):
    """Noise and label -> network output (preprocessed shower).

    Args:
        config: architecture.
        n_features: output width (from the preprocessing).
        layer_sizes: voxels per layer when the layer-energy normalisation is used.
    """

    def __init__(
        self, config: ModelConfig, n_features: int, layer_sizes: Sequence[int] | None = None
    ) -> None:
        super().__init__()
        self.config = config
        self.n_features = int(n_features)
        blocks: list[nn.Module] = []
        width = config.latent_dim + 1
        for hidden in config.generator_hidden:
            blocks.append(nn.Linear(width, hidden))
            if config.generator_batch_norm:
                blocks.append(nn.BatchNorm1d(hidden))
            blocks.append(_activation(config.generator_activation))
            width = hidden
        blocks.append(nn.Linear(width, self.n_features))
        self.net = nn.Sequential(*blocks)
        self.head = OutputHead(layer_sizes)

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``noise`` (B, latent_dim), ``label`` (B, 1) -> output (B, n_features)."""
        return self.head(self.net(torch.cat([noise, label], dim=1)))


class Critic(nn.Module):
    """Preprocessed shower and label -> unbounded score (B, 1).

    Args:
        config: architecture.
        n_features: input width (from the preprocessing).
    """

    def __init__(self, config: ModelConfig, n_features: int) -> None:
        super().__init__()
        self.config = config
        self.n_features = int(n_features)
        blocks: list[nn.Module] = []
        width = self.n_features + 1
        for hidden in config.critic_hidden:
            out = hidden or self.n_features
            blocks.append(self._linear(width, out))
            blocks.append(_activation(config.critic_activation))
            width = out
        blocks.append(self._linear(width, 1))
        self.net = nn.Sequential(*blocks)

    def _linear(self, n_in: int, n_out: int) -> nn.Module:
        layer = nn.Linear(n_in, n_out)
        if self.config.critic_spectral_norm:
            return nn.utils.parametrizations.spectral_norm(layer)
        return layer

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``x`` (B, n_features), ``label`` (B, 1) -> score (B, 1)."""
        return self.net(torch.cat([x, label], dim=1))


def _initialise(module: nn.Module, scheme: str) -> None:
    if scheme == "default":
        return
    for m in module.modules():
        if isinstance(m, nn.Linear):
            # spectral_norm keeps the raw weight in parametrizations.weight.original
            weight: torch.Tensor = (
                m.parametrizations.weight.original  # type: ignore[union-attr,assignment]
                if nn.utils.parametrize.is_parametrized(m, "weight")
                else m.weight
            )
            with torch.no_grad():
                if scheme == "glorot_normal":
                    nn.init.xavier_normal_(weight)
                else:
                    nn.init.kaiming_uniform_(weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)


def build_models(
    config: ModelConfig,
    n_features: int,
    layer_sizes: Sequence[int] | None = None,
    seed: int = 0,
) -> tuple[Generator, Critic]:
    """Build a generator and critic with a reproducible initialisation.

    Args:
        config: architecture.
        n_features: width of a preprocessed shower.
        layer_sizes: voxels per layer for the layer-normalised output head, else ``None``.
        seed: initialisation seed; the global torch RNG is left untouched.

    Returns:
        ``(generator, critic)`` on the CPU, in training mode.
    """
    if n_features < 1:
        raise ModelError(f"n_features must be >= 1, found {n_features}")
    if layer_sizes and sum(layer_sizes) + len(layer_sizes) + 1 != n_features:
        raise ModelError(
            f"layer sizes {list(layer_sizes)} need n_features = n_voxels + n_layers + 1 = "
            f"{sum(layer_sizes) + len(layer_sizes) + 1}, found {n_features}"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = Generator(config, n_features, layer_sizes)
        critic = Critic(config, n_features)
        _initialise(generator, config.init)
        _initialise(critic, config.init)
    return generator, critic


def sample_noise(
    config: ModelConfig,
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Latent noise of shape ``(n, latent_dim)``, float32, drawn on the CPU from ``generator``.

    Drawing on the CPU makes the noise identical whatever ``device`` it is used on.
    """
    shape = (int(n), config.latent_dim)
    if config.noise == "uniform":
        z = torch.rand(shape, generator=generator)
    else:
        z = torch.randn(shape, generator=generator) * config.noise_std + config.noise_mean
    return z.to(device)


def gradient_penalty(
    critic: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    label: torch.Tensor,
    gp_lambda: float,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty ``lambda * E[(||grad_x D(x_hat)||_2 - 1)^2]`` (Gulrajani et al. 2017).

    ``x_hat`` is a uniform random interpolation between ``real`` and ``fake`` (B, n_features);
    the gradient is taken with respect to ``x_hat`` only, the label is held fixed.

    Returns:
        A scalar tensor that keeps the graph (for the critic's backward pass).
    """
    eps = torch.rand((real.shape[0], 1), generator=generator).to(real.device, real.dtype)
    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    score = critic(x_hat, label)
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return gp_lambda * ((grad.norm(2, dim=1) - 1.0) ** 2).mean()


#: Largest row count of one critic pass in :func:`critic_terms` (see there).
STACK_ROWS = 1536


class CriticTerms(NamedTuple):
    """The three terms of the critic's WGAN-GP loss ``d_fake - d_real + penalty``."""

    d_real: torch.Tensor
    d_fake: torch.Tensor
    penalty: torch.Tensor


def _activation_slope(pre: torch.Tensor, post: torch.Tensor, name: str) -> torch.Tensor:
    """d act / d pre, as a differentiable function of the pre-activation ``pre``."""
    if name == "swish":
        s = torch.sigmoid(pre)
        return s * (1.0 + pre * (1.0 - s))
    # ReLU: the slope is a step, whose own derivative is zero (as autograd's double backward)
    return (post > 0).to(post.dtype)


def critic_terms(
    critic: Critic,
    real: torch.Tensor,
    fake: torch.Tensor,
    label: torch.Tensor,
    gp_lambda: float,
    generator: torch.Generator | None = None,
) -> CriticTerms:
    """Mean scores of ``real`` and ``fake`` and the gradient penalty, in one pass.

    The same quantities as two critic calls plus :func:`gradient_penalty`, computed faster.
    Real, fake and the interpolates ``x_hat`` go through the critic as one batch of 3B rows:
    larger matrix products. Above :data:`STACK_ROWS` rows they go as three batches of B,
    because products of some widths then fall out of cache and slow down by a third. The
    input gradient of the critic at ``x_hat`` is built explicitly, layer by layer
    (``g <- (g * act'(a_k)) W_k``), instead of by a double backward through autograd, so the
    loss's backward is an ordinary first-order one. Each weight (spectrally normalised or
    not) is read once: a spectral-norm critic does one power iteration per call. The
    interpolation draws ``eps`` from ``generator`` exactly as :func:`gradient_penalty` does.

    Args:
        critic: an MLP :class:`Critic` (Linear layers and activations).
        real, fake: (B, n_features) batches; ``fake`` should carry no generator graph.
        label: (B, 1) condition, shared by the three batches.
        gp_lambda: weight of the penalty.
        generator: source of the interpolation coefficients.

    Returns:
        ``(mean D(real), mean D(fake), penalty)``, scalars that keep the graph.
    """
    batch, n_features = real.shape
    eps = torch.rand((batch, 1), generator=generator).to(real.device, real.dtype)
    x_hat = eps * real + (1.0 - eps) * fake
    h_all = torch.cat([torch.cat([real, fake, x_hat], dim=0), label.repeat(3, 1)], dim=1)
    # one batch of 3B rows while that keeps the products in cache; beyond, three of B rows
    groups = [h_all] if 3 * batch <= STACK_ROWS else list(h_all.split(batch))
    linears = [m for m in critic.net if isinstance(m, nn.Linear)]
    weights = [m.weight for m in linears]
    activation = critic.config.critic_activation
    slopes: list[torch.Tensor] = []
    for layer, weight in zip(linears[:-1], weights[:-1], strict=True):
        pres = [F.linear(h, weight, layer.bias) for h in groups]
        groups = [F.silu(a) if activation == "swish" else torch.relu(a) for a in pres]
        # the interpolates are the last B rows of the last group
        slopes.append(_activation_slope(pres[-1][-batch:], groups[-1][-batch:], activation))
    score = torch.cat([F.linear(h, weights[-1], linears[-1].bias) for h in groups])
    grad = weights[-1].expand(batch, -1)
    for slope, weight in zip(reversed(slopes), reversed(weights[:-1]), strict=True):
        grad = (grad * slope) @ weight
    grad = grad[:, :n_features]
    penalty = gp_lambda * ((grad.norm(2, dim=1) - 1.0) ** 2).mean()
    return CriticTerms(score[:batch].mean(), score[batch : 2 * batch].mean(), penalty)
