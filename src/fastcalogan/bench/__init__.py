"""Benchmarks: speed and memory of generation, training and the reference simulator.

Every speed is put next to this machine's measured fp32 matmul throughput (a large GEMM)
and the FLOPs counted by :class:`torch.utils.flop_counter.FlopCounterMode`, so a number
reads as a fraction of what the hardware can do. Results are a JSON document; the command
``fastcalogan bench`` prints a short table. Nothing here is a test: timings are facts about
one machine at one moment (the load average is recorded with them). The package sits on top
of the stages (it trains, exports and generates through their public entry functions).
"""

from .config import BenchConfig, BenchResult
from .run import bench, bench_table
from .synthetic import synthetic_generator
from .timing import count_flops, matmul_peak, read_bandwidth

__all__ = [
    "BenchConfig",
    "BenchResult",
    "bench",
    "bench_table",
    "count_flops",
    "matmul_peak",
    "read_bandwidth",
    "synthetic_generator",
]
