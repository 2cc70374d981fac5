"""The ``vae-mlp`` family: a deliberately small conditional MLP variational autoencoder.

The encoder maps a preprocessed shower and its condition label to the mean and log-variance
of a Gaussian latent; the decoder maps a latent sample and the label back to a shower, with
the same output head as the MLP generators (a ReLU; per-layer softmaxes under the
layer-energy normalisation). Its preset trains on voxel energies over the incident energy.
The loss is the summed squared reconstruction error plus ``beta_kl`` times the KL divergence
to the standard normal prior (Kingma and Welling 2014; the beta weight after Higgins et al.
2017). Only the decoder generates: from standard normal noise. It is the worked example of
``docs/architecture.md`` and the seed of the ATLAS 2018 VAE (ATL-SOFT-PUB-2018-001), which
adds energy terms to this loss.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

import pydantic
import torch
from torch import nn

from .._config import StageConfig
from ..preprocess import PreprocessConfig
from .family import (
    BatchSource,
    ModelFamily,
    ModelShape,
    NoiseSpec,
    Objective,
    Preset,
    cpu_state,
    seeded,
)
from .gan import check_shape
from .heads import OutputHead, activation

__all__ = ["Decoder", "Encoder", "VaeMlp", "VaeMlpConfig", "VaeObjective", "VaeObjectiveConfig"]


class VaeMlpConfig(StageConfig):
    """Architecture of the conditional MLP VAE (the ``model:`` section).

    Attributes:
        latent_dim: dimension of the Gaussian latent (and of the generation noise).
        encoder_hidden: widths of the encoder's hidden layers.
        decoder_hidden: widths of the decoder's hidden layers.
        activation: ``relu`` or ``swish`` after each hidden layer.
    """

    latent_dim: int = pydantic.Field(default=10, ge=1, le=4096)
    encoder_hidden: tuple[pydantic.PositiveInt, ...] = (64, 32)
    decoder_hidden: tuple[pydantic.PositiveInt, ...] = (32, 64)
    activation: Literal["relu", "swish"] = "relu"


class VaeObjectiveConfig(StageConfig):
    """The ``objective:`` settings of the VAE.

    Attributes:
        beta_kl: weight of the KL term (1 is the plain VAE).
    """

    beta_kl: float = pydantic.Field(default=1.0, ge=0)


def mlp(n_in: int, hidden: Sequence[int], n_out: int, act: str) -> nn.Sequential:
    """Linear layers with ``act`` after each hidden one (the VAE networks' trunk)."""
    blocks: list[nn.Module] = []
    for width in hidden:
        blocks += [nn.Linear(n_in, width), activation(act)]
        n_in = width
    blocks.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*blocks)


class EncoderSettings(Protocol):
    """What an encoder is built from (``VaeMlpConfig``, the ATLAS 2018 VAE's config)."""

    @property
    def latent_dim(self) -> int: ...
    @property
    def encoder_hidden(self) -> Sequence[int]: ...
    @property
    def activation(self) -> str: ...


class Encoder(nn.Module):
    """Shower ``x`` (B, n_features) and label (B, n_conditions) -> latent mean and log-variance."""

    def __init__(self, config: EncoderSettings, n_features: int, n_conditions: int = 1) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.net = mlp(
            n_features + n_conditions,
            config.encoder_hidden,
            2 * config.latent_dim,
            config.activation,
        )

    def forward(self, x: torch.Tensor, label: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_variance)``, each ``(B, latent_dim)``."""
        out = self.net(torch.cat([x, label], dim=1))
        return out[:, : self.latent_dim], out[:, self.latent_dim :]


class Decoder(nn.Module):
    """Latent ``z`` (B, latent_dim) and label (B, n_conditions) -> shower (B, n_features).

    The family's sampling network: at generation ``z`` is standard normal noise.
    """

    def __init__(
        self,
        config: VaeMlpConfig,
        n_features: int,
        layer_sizes: Sequence[int] | None = None,
        n_conditions: int = 1,
    ) -> None:
        super().__init__()
        self.net = mlp(
            config.latent_dim + n_conditions, config.decoder_hidden, n_features, config.activation
        )
        self.head = OutputHead(layer_sizes)

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Shower in the preprocessed space."""
        return self.head(self.net(torch.cat([z, label], dim=1)))


class EncoderObjective(Objective):
    """A VAE-style objective's training state besides the sampling network (the decoder):
    its ``encoder`` and its one ``optimizer``."""

    encoder: nn.Module
    optimizer: torch.optim.Optimizer

    def state_dict(self) -> dict[str, Any]:
        """The encoder's weights and the optimiser's state."""
        return {
            "encoder": cpu_state(self.encoder),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict`'s output."""
        self.encoder.load_state_dict(state["encoder"])
        self.optimizer.load_state_dict(state["optimizer"])


class VaeObjective(EncoderObjective):
    """One VAE step: encode, reparametrise, decode, reconstruction + beta KL, one Adam update.

    Args:
        encoder, decoder: the networks, in training mode on ``device``.
        settings: the KL weight.
        lr: learning rate of the Adam optimiser of both networks.
        device: where the networks are.
    """

    def __init__(
        self,
        encoder: Encoder,
        decoder: Decoder,
        settings: VaeObjectiveConfig,
        lr: float,
        device: torch.device,
    ) -> None:
        self.encoder = encoder
        self.sampler = decoder
        self.settings = settings
        self.device = device
        params = [*encoder.parameters(), *decoder.parameters()]
        self.optimizer = torch.optim.Adam(params, lr=lr, fused=True)

    def step(self, batches: BatchSource, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Returns ``(loss, reconstruction, kl)``, batch means of per-shower sums."""
        x, label = batches.draw()
        mean, log_var = self.encoder(x, label)
        eps = torch.randn(mean.shape, generator=generator).to(self.device)
        z = mean + torch.exp(0.5 * log_var) * eps
        reconstruction = ((self.sampler(z, label) - x) ** 2).sum(dim=1).mean()
        kl = (-0.5 * (1.0 + log_var - mean**2 - log_var.exp()).sum(dim=1)).mean()
        loss = reconstruction + self.settings.beta_kl * kl
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return (loss, reconstruction, kl)


class VaeMlp(ModelFamily[VaeMlpConfig, VaeObjectiveConfig]):
    """The conditional MLP VAE."""

    name = "vae-mlp"
    summary = "conditional MLP VAE, Gaussian latent, reconstruction + beta KL (small example)"
    network_config = VaeMlpConfig
    objective_config = VaeObjectiveConfig
    loss_columns = ("loss", "reconstruction", "kl")
    presets = (
        Preset(
            name="vae-mlp",
            family="vae-mlp",
            summary="small conditional VAE on voxel energies over the incident energy",
            model=VaeMlpConfig(),
            objective=VaeObjectiveConfig(),
            preprocess=PreprocessConfig(kind="fastcalogan"),
            batch_size=128,
            lr=1e-3,
        ),
    )

    def noise(self, config: VaeMlpConfig, shape: ModelShape | None = None) -> NoiseSpec:
        """Standard normal noise of ``latent_dim`` (the prior)."""
        return NoiseSpec("normal", config.latent_dim, 0.0, 1.0)

    def build_sampler(self, config: VaeMlpConfig, shape: ModelShape, seed: int = 0) -> nn.Module:
        """The decoder."""
        check_shape(shape.n_features, shape.head_layer_sizes)
        with seeded(seed):
            return Decoder(
                config, shape.n_features, shape.head_layer_sizes or None, shape.n_conditions
            )

    def build_objective(
        self,
        config: VaeMlpConfig,
        settings: VaeObjectiveConfig,
        shape: ModelShape,
        lr: float,
        seed: int,
        device: torch.device,
    ) -> VaeObjective:
        """Encoder and decoder (initialised together from ``seed``) and their update."""
        check_shape(shape.n_features, shape.head_layer_sizes)
        with seeded(seed):
            decoder = Decoder(
                config, shape.n_features, shape.head_layer_sizes or None, shape.n_conditions
            )
            encoder = Encoder(config, shape.n_features, shape.n_conditions)
        decoder.to(device).train()
        encoder.to(device).train()
        return VaeObjective(encoder, decoder, settings, lr, device)

    def status(self, values: Sequence[float]) -> str:
        """``loss <loss> KL <kl>``."""
        return f"loss {values[0]:.3g} KL {values[2]:.3g}"
