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
from .family import NoiseSpec, seeded
from .heads import OutputHead, activation

__all__ = [
    "Critic",
    "CriticTerms",
    "Generator",
    "OutputHead",
    "build_generator",
    "build_models",
    "critic_terms",
    "gradient_penalty",
    "noise_spec",
    "sample_noise",
]


class Generator(nn.Module):
    """Noise and label -> network output (preprocessed shower).

    Args:
        config: architecture.
        n_features: output width (from the preprocessing).
        layer_sizes: voxels per layer when the layer-energy normalisation is used.
        n_conditions: width of the condition label.
    """

    def __init__(
        self,
        config: ModelConfig,
        n_features: int,
        layer_sizes: Sequence[int] | None = None,
        n_conditions: int = 1,
    ) -> None:
        super().__init__()
        self.config = config
        self.n_features = int(n_features)
        blocks: list[nn.Module] = []
        width = config.latent_dim + n_conditions
        for hidden in config.generator_hidden:
            blocks.append(nn.Linear(width, hidden))
            if config.generator_batch_norm:
                blocks.append(nn.BatchNorm1d(hidden))
            blocks.append(activation(config.generator_activation))
            width = hidden
        blocks.append(nn.Linear(width, self.n_features))
        self.net = nn.Sequential(*blocks)
        self.head = OutputHead(layer_sizes)

    def forward(self, noise: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``noise`` (B, latent_dim), ``label`` (B, n_conditions) -> output (B, n_features)."""
        return self.head(self.net(torch.cat([noise, label], dim=1)))


class Critic(nn.Module):
    """Preprocessed shower and label -> unbounded score (B, 1).

    Args:
        config: architecture.
        n_features: input width (from the preprocessing).
        n_conditions: width of the condition label.
    """

    def __init__(self, config: ModelConfig, n_features: int, n_conditions: int = 1) -> None:
        super().__init__()
        self.config = config
        self.n_features = int(n_features)
        blocks: list[nn.Module] = []
        width = self.n_features + n_conditions
        for hidden in config.critic_hidden:
            out = hidden or self.n_features
            blocks.append(self._linear(width, out))
            blocks.append(activation(config.critic_activation))
            width = out
        blocks.append(self._linear(width, 1))
        self.net = nn.Sequential(*blocks)

    def _linear(self, n_in: int, n_out: int) -> nn.Module:
        layer = nn.Linear(n_in, n_out)
        if self.config.critic_spectral_norm:
            return nn.utils.parametrizations.spectral_norm(layer)
        return layer

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """``x`` (B, n_features), ``label`` (B, n_conditions) -> score (B, 1)."""
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


def check_shape(n_features: int, layer_sizes: Sequence[int] | None) -> None:
    """Raise ModelError if ``n_features`` cannot hold the layer-normalised head."""
    if n_features < 1:
        raise ModelError(f"n_features must be >= 1, found {n_features}")
    if layer_sizes and sum(layer_sizes) + len(layer_sizes) + 1 != n_features:
        raise ModelError(
            f"layer sizes {list(layer_sizes)} need n_features = n_voxels + n_layers + 1 = "
            f"{sum(layer_sizes) + len(layer_sizes) + 1}, found {n_features}"
        )


def build_models(
    config: ModelConfig,
    n_features: int,
    layer_sizes: Sequence[int] | None = None,
    seed: int = 0,
    n_conditions: int = 1,
) -> tuple[Generator, Critic]:
    """Build a generator and critic with a reproducible initialisation.

    Args:
        config: architecture.
        n_features: width of a preprocessed shower.
        layer_sizes: voxels per layer for the layer-normalised output head, else ``None``.
        seed: initialisation seed; the global torch RNG is left untouched.
        n_conditions: width of the condition label.

    Returns:
        ``(generator, critic)`` on the CPU, in training mode.
    """
    check_shape(n_features, layer_sizes)
    with seeded(seed):
        generator = Generator(config, n_features, layer_sizes, n_conditions)
        critic = Critic(config, n_features, n_conditions)
        _initialise(generator, config.init)
        _initialise(critic, config.init)
    return generator, critic


def build_generator(
    config: ModelConfig,
    n_features: int,
    layer_sizes: Sequence[int] | None = None,
    seed: int = 0,
    n_conditions: int = 1,
) -> Generator:
    """The generator of :func:`build_models` alone (the same weights for the same seed)."""
    check_shape(n_features, layer_sizes)
    with seeded(seed):
        generator = Generator(config, n_features, layer_sizes, n_conditions)
        _initialise(generator, config.init)
    return generator


def noise_spec(config: ModelConfig) -> NoiseSpec:
    """The generator's noise input described by its architecture."""
    return NoiseSpec(config.noise, config.latent_dim, config.noise_mean, config.noise_std)


def sample_noise(
    config: ModelConfig | NoiseSpec,
    n: int,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Latent noise of shape ``(n, latent_dim)``, float32, drawn on the CPU from ``generator``.

    Drawing on the CPU makes the noise identical whatever ``device`` it is used on.

    Args:
        config: a generator architecture, or any family's :class:`NoiseSpec`.
        n: rows.
        generator: the CPU generator to draw from.
        device: where the noise goes.
    """
    spec = config if isinstance(config, NoiseSpec) else noise_spec(config)
    return spec.sample(n, generator, device)


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
        label: (B, n_conditions) condition, shared by the three batches.
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
