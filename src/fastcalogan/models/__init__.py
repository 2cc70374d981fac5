"""Models: the model families (networks, objectives, rebuilding) behind one seam.

A family (:class:`ModelFamily`) owns its ``nn.Module`` networks, its training objective and
how its sampling network comes back from a checkpoint; the registry finds families and their
presets by name. Built in: ``wgan-gp-mlp`` (FastCaloGAN, CaloShowerGAN), ``vae-mlp``,
``flow-gan`` (energy flow + shape GAN, the fast recipe), ``calogan`` (CaloGAN), the LHCb ECAL
GAN ``lhcb-wgan-gp`` with its regressor ``lhcb-regressor``, and the ATLAS 2018 study's
``atlas18-vae`` and ``atlas18-wgan``.
"""

from .atlas2018 import (
    AtlasVae,
    AtlasVaeConfig,
    AtlasVaeObjectiveConfig,
    AtlasWgan,
    AtlasWganConfig,
    AtlasWganObjectiveConfig,
)
from .calogan import CaloGan, CaloGanConfig, CaloGanObjectiveConfig
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
from .lhcb import (
    LhcbGanConfig,
    LhcbGanObjectiveConfig,
    LhcbRegressor,
    LhcbRegressorConfig,
    LhcbRegressorObjectiveConfig,
    LhcbWganGp,
    LoadedRegressor,
    load_regressor,
)
from .locally_connected import LocallyConnected2d
from .registry import families, get_family, get_preset, preset_names, register_family
from .vae_mlp import VaeMlp, VaeMlpConfig, VaeObjectiveConfig
from .wgan_gp_mlp import WganGpMlp, WganGpObjectiveConfig, fused_critic_supported

register_family(WganGpMlp())
register_family(VaeMlp())
register_family(FlowGan())
register_family(CaloGan())
register_family(LhcbWganGp())
register_family(LhcbRegressor())
register_family(AtlasVae())
register_family(AtlasWgan())

__all__ = [
    "PRESETS",
    "AtlasVae",
    "AtlasVaeConfig",
    "AtlasVaeObjectiveConfig",
    "AtlasWgan",
    "AtlasWganConfig",
    "AtlasWganObjectiveConfig",
    "Batch",
    "BatchSource",
    "CaloGan",
    "CaloGanConfig",
    "CaloGanObjectiveConfig",
    "Critic",
    "CriticTerms",
    "FlowGan",
    "FlowGanConfig",
    "FlowGanObjectiveConfig",
    "Generator",
    "LhcbGanConfig",
    "LhcbGanObjectiveConfig",
    "LhcbRegressor",
    "LhcbRegressorConfig",
    "LhcbRegressorObjectiveConfig",
    "LhcbWganGp",
    "LoadedRegressor",
    "LocallyConnected2d",
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
    "fused_critic_supported",
    "get_family",
    "get_preset",
    "gradient_penalty",
    "load_regressor",
    "preset_names",
    "register_family",
    "sample_noise",
]
