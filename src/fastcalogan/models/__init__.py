"""Models: generators and critics (plain nn.Modules built from typed configs)."""

from .config import PRESETS, ModelConfig
from .gan import (
    Critic,
    CriticTerms,
    Generator,
    OutputHead,
    build_models,
    critic_terms,
    gradient_penalty,
    sample_noise,
)

__all__ = [
    "PRESETS",
    "Critic",
    "CriticTerms",
    "Generator",
    "ModelConfig",
    "OutputHead",
    "build_models",
    "critic_terms",
    "gradient_penalty",
    "sample_noise",
]
