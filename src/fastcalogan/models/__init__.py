"""Models: the model families (networks, objectives, rebuilding) behind one seam.

A family (:class:`ModelFamily`) owns its ``nn.Module`` networks, its training objective and
how its sampling network comes back from a checkpoint; the registry finds families and their
presets by name. Built in: ``wgan-gp-mlp`` (FastCaloGAN, CaloShowerGAN), ``vae-mlp`` and
``flow-gan`` (energy flow + shape GAN, the fast recipe).
"""

from .config import PRESETS, ModelConfig
from .family import Batch, BatchSource, ModelFamily, ModelShape, NoiseSpec, Objective, Preset
from .flow_gan import FlowGan, FlowGanConfig, FlowGanObjectiveConfig
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
from .registry import families, get_family, get_preset, preset_names, register_family
from .vae_mlp import VaeMlp, VaeMlpConfig, VaeObjectiveConfig
from .wgan_gp_mlp import WganGpMlp, WganGpObjectiveConfig

register_family(WganGpMlp())
register_family(VaeMlp())
register_family(FlowGan())

__all__ = [
    "PRESETS",
    "Batch",
    "BatchSource",
    "Critic",
    "CriticTerms",
    "FlowGan",
    "FlowGanConfig",
    "FlowGanObjectiveConfig",
    "Generator",
    "ModelConfig",
    "ModelFamily",
    "ModelShape",
    "NoiseSpec",
    "Objective",
    "OutputHead",
    "Preset",
    "VaeMlp",
    "VaeMlpConfig",
    "VaeObjectiveConfig",
    "WganGpMlp",
    "WganGpObjectiveConfig",
    "build_models",
    "critic_terms",
    "families",
    "get_family",
    "get_preset",
    "gradient_penalty",
    "preset_names",
    "register_family",
    "sample_noise",
]
