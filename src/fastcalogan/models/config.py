"""Architecture of the MLP WGAN-GP generator/critic pair, and the two published recipes' sizes."""

from __future__ import annotations

from typing import Literal

import pydantic

from .._config import StageConfig

__all__ = ["PRESETS", "ModelConfig"]


class ModelConfig(StageConfig):
    """Architecture of the conditional generator and critic.

    The generator maps ``(noise (B, latent_dim), label (B, 1))`` to ``(B, n_features)``; the
    critic maps ``(x (B, n_features), label (B, 1))`` to ``(B, 1)``. ``n_features`` and the
    layer sizes come from the fitted preprocessing, not from this config.

    Attributes:
        latent_dim: noise dimension.
        noise: ``uniform`` on [0, 1) or ``normal`` with ``noise_mean`` / ``noise_std``.
        generator_hidden: widths of the generator's hidden layers.
        generator_activation: ``relu`` or ``swish`` (SiLU) after each hidden layer.
        generator_batch_norm: batch normalisation before each hidden activation.
        critic_hidden: widths of the critic's hidden layers; ``0`` means "the width of the
            critic's input" (``n_features``).
        critic_activation: activation after each critic hidden layer.
        critic_spectral_norm: spectral normalisation of every critic linear layer.
        init: weight initialisation of both networks (``default`` is PyTorch's).
    """

    latent_dim: int = pydantic.Field(default=50, ge=1, le=4096)
    noise: Literal["uniform", "normal"] = "uniform"
    noise_mean: float = 0.5
    noise_std: float = pydantic.Field(default=0.5, gt=0)
    generator_hidden: tuple[int, ...] = (50, 100, 200)
    generator_activation: Literal["relu", "swish"] = "relu"
    generator_batch_norm: bool = False
    critic_hidden: tuple[int, ...] = (0, 0, 0)
    critic_activation: Literal["relu", "swish"] = "relu"
    critic_spectral_norm: bool = False
    init: Literal["default", "glorot_normal", "he_uniform"] = "default"

    @pydantic.field_validator("generator_hidden", "critic_hidden")
    @classmethod
    def _widths(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(w < 0 for w in value):
            raise ValueError(f"layer widths must be >= 0, found {list(value)}")
        return value


#: The published recipes. FastCaloGAN: ATLAS, Comput. Softw. Big Sci. 6 (2022) 7.
#: CaloShowerGAN: M. Faucci Giannelli and R. Zhang, arXiv:2309.06515.
PRESETS: dict[str, ModelConfig] = {
    "fastcalogan": ModelConfig(
        latent_dim=50,
        noise="uniform",
        generator_hidden=(50, 100, 200),
        generator_activation="relu",
        generator_batch_norm=False,
        critic_hidden=(0, 0, 0),
        critic_spectral_norm=False,
        init="default",
    ),
    "caloshowergan-photon": ModelConfig(
        latent_dim=100,
        noise="normal",
        noise_mean=0.5,
        noise_std=0.5,
        generator_hidden=(100, 200, 400),
        generator_activation="swish",
        generator_batch_norm=True,
        critic_hidden=(0, 0, 0),
        critic_spectral_norm=True,
        init="glorot_normal",
    ),
    "caloshowergan-pion": ModelConfig(
        latent_dim=200,
        noise="normal",
        noise_mean=0.5,
        noise_std=0.5,
        generator_hidden=(200, 400, 800),
        generator_activation="relu",
        generator_batch_norm=True,
        critic_hidden=(800, 400, 200),
        critic_spectral_norm=True,
        init="he_uniform",
    ),
}
