"""Preprocessing: invertible transforms between MeV voxels and network inputs."""

from .box_cox import FittedBoxCox
from .conditions import ConditionsLike, FittedCondition, condition_matrix
from .config import ConditionTransform, PreprocessConfig
from .energy_features import EnergyDecoder, fit_standardisation
from .transforms import Preprocessor, build_preprocessor

__all__ = [
    "ConditionTransform",
    "ConditionsLike",
    "EnergyDecoder",
    "FittedBoxCox",
    "FittedCondition",
    "PreprocessConfig",
    "Preprocessor",
    "build_preprocessor",
    "condition_matrix",
    "fit_standardisation",
]
