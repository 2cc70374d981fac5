"""Generation: sampling API, ONNX export and onnxruntime inference."""

from .api import GenerateResult, GenerationRequest, ds1_summary, generate, generation_request
from .config import GenerateConfig
from .export import ExportConfig, ExportResult, export_generators, export_onnx, quantise_int8
from .graph import GeneratorGraph
from .onnx_runtime import OnnxSimulator, create_session, generate_onnx
from .simulator import Simulator

__all__ = [
    "ExportConfig",
    "ExportResult",
    "GenerateConfig",
    "GenerateResult",
    "GenerationRequest",
    "GeneratorGraph",
    "OnnxSimulator",
    "Simulator",
    "create_session",
    "ds1_summary",
    "export_generators",
    "export_onnx",
    "generate",
    "generate_onnx",
    "generation_request",
    "quantise_int8",
]
