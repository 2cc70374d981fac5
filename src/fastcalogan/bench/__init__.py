"""Benchmarks: speed and memory of generation, training and the reference simulator.

Every speed is put next to this machine's measured fp32 matmul throughput (a large GEMM)
and the FLOPs counted by :class:`torch.utils.flop_counter.FlopCounterMode`, so a number
reads as a fraction of what the hardware can do. Results are a JSON document; the command
``fastcalogan bench`` prints a short table. Nothing here is a test: timings are facts about
one machine at one moment (the load average is recorded with them). The package sits on top
of the stages (it trains, exports and generates through their public entry functions).

:func:`bench_quality` (``fastcalogan bench quality``) measures time to quality instead:
recipes trained side by side for a wall-clock budget, every checkpoint scored by selection
against an independent reference.
"""

from .config import BenchConfig, BenchResult
from .quality import bench_quality, crossing, quality_table
from .quality_config import DEFAULT_RECIPES, QualityConfig, QualityResult
from .quality_plot import plot_quality
from .run import bench, bench_table
from .synthetic import synthetic_generator
from .timing import count_flops, matmul_peak, read_bandwidth

__all__ = [
    "DEFAULT_RECIPES",
    "BenchConfig",
    "BenchResult",
    "QualityConfig",
    "QualityResult",
    "bench",
    "bench_quality",
    "bench_table",
    "count_flops",
    "crossing",
    "matmul_peak",
    "plot_quality",
    "quality_table",
    "read_bandwidth",
    "synthetic_generator",
]
