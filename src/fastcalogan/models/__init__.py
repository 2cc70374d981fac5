"""Models: generators and critics (plain nn.Modules built from typed configs)."""

from .config import PRESETS, ModelConfig
from .gan import Critic, Generator, OutputHead, build_models, gradient_penalty, sample_noise

__all__ = [
    "PRESETS",
    "Critic",
    "Generator",
    "ModelConfig",
    "OutputHead",
    "build_models",
    "gradient_penalty",
    "sample_noise",
]
