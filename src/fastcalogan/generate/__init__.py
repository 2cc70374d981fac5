"""Generation: sampling API, ONNX export and onnxruntime inference."""

from .api import GenerateResult, generate
from .config import GenerateConfig
from .simulator import Simulator

__all__ = ["GenerateConfig", "GenerateResult", "Simulator", "generate"]
