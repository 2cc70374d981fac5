"""Generation: sampling API, ONNX export and onnxruntime inference."""

from .api import GenerateResult, generate
from .bench import BenchConfig, BenchResult, bench, bench_table
from .config import GenerateConfig
from .export import ExportConfig, ExportResult, GeneratorGraph, export_generators, export_onnx
from .onnx_runtime import OnnxSimulator, create_session, generate_onnx
from .simulator import Simulator

__all__ = [
    "BenchConfig",
    "BenchResult",
    "ExportConfig",
    "ExportResult",
    "GenerateConfig",
    "GenerateResult",
    "GeneratorGraph",
    "OnnxSimulator",
    "Simulator",
    "bench",
    "bench_table",
    "create_session",
    "export_generators",
    "export_onnx",
    "generate",
    "generate_onnx",
]
