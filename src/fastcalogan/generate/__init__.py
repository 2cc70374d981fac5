"""Generation: sampling API, ONNX export and onnxruntime inference."""

from .api import GenerateResult, generate
from .config import GenerateConfig
from .export import ExportConfig, ExportResult, export_generators, export_onnx
from .graph import GeneratorGraph
from .onnx_runtime import OnnxSimulator, create_session, generate_onnx
from .simulator import Simulator

__all__ = [
    "ExportConfig",
    "ExportResult",
    "GenerateConfig",
    "GenerateResult",
    "GeneratorGraph",
    "OnnxSimulator",
    "Simulator",
    "create_session",
    "export_generators",
    "export_onnx",
    "generate",
    "generate_onnx",
]
