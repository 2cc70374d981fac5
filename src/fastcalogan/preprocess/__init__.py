"""Preprocessing: invertible transforms between MeV voxels and network inputs."""

from .config import PreprocessConfig
from .transforms import Preprocessor, build_preprocessor

__all__ = ["PreprocessConfig", "Preprocessor", "build_preprocessor"]
