"""Timing, FLOP counting and hardware limits: the yardsticks of every benchmark number."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode, flop_registry

__all__ = [
    "FlopCount",
    "count_flops",
    "cpu_clock",
    "forward_flops",
    "matmul_peak",
    "matmul_seconds",
    "median_time",
    "read_bandwidth",
    "torch_threads",
]


def median_time(
    fn: Callable[[], Any],
    repeats: int,
    inner: int,
    budget: float,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median over repeats of the seconds of ``inner`` calls of ``fn`` (warm).

    At most ``repeats`` repeats, fewer (3 at least) when they would exceed ``budget`` seconds.
    ``clock``: wall time by default, :func:`cpu_clock` for CPU-time measurements.
    """
    for _ in range(min(3, inner) + 1):
        fn()
    times: list[float] = []
    while len(times) < repeats:
        t0 = clock()
        for _ in range(inner):
            fn()
        times.append(clock() - t0)
        if len(times) >= 3 and sum(times) > budget:
            break
    return float(np.median(times))


def cpu_clock(threads: int) -> Callable[[], float]:
    """The clock of a measurement with ``threads`` threads: the process's CPU time for one
    (a shared machine's load then slows the work, not the clock), wall time for more."""
    return time.process_time if threads == 1 else time.perf_counter


def matmul_peak(
    n: int, threads: int, repeats: int = 5, clock: Callable[[], float] = time.perf_counter
) -> dict[str, float]:
    """fp32 throughput of an ``n x n x n`` GEMM with ``threads`` torch threads.

    Args:
        n: the matrices' size.
        threads: torch threads.
        repeats: timed products (the best is the peak).
        clock: wall time by default; :func:`cpu_clock` for CPU-time measurements.

    Returns:
        ``{"gflops_best", "gflops_median", "n", "threads"}`` (best of repeats is the peak).
    """
    with torch_threads(threads):
        g = torch.Generator().manual_seed(0)
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        c = torch.empty(n, n)
        torch.mm(a, b, out=c)
        times = []
        for _ in range(repeats):
            t0 = clock()
            torch.mm(a, b, out=c)
            times.append(max(clock() - t0, 1e-9))
    flops = 2.0 * n**3
    return {
        "n": n,
        "threads": threads,
        "gflops_best": flops / min(times) / 1e9,
        "gflops_median": flops / float(np.median(times)) / 1e9,
    }


class torch_threads:
    def __init__(self, n: int) -> None:
        self.n = n
        self.before = torch.get_num_threads()

    def __enter__(self) -> None:
        torch.set_num_threads(self.n)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)


_MATMULS = (torch.ops.aten.mm.default, torch.ops.aten.addmm.default)
_BATCHED_MATMULS = (torch.ops.aten.bmm, torch.ops.aten.baddbmm)


class FlopCount(TorchDispatchMode):
    """FLOPs of every dispatched op, with :class:`FlopCounterMode`'s formulas (``flop_registry``).

    :class:`FlopCounterMode` itself tracks modules with autograd hooks that refuse the
    double backward of the gradient penalty (``autograd.grad(create_graph=True)``); this mode
    applies the same per-op formulas without module tracking. The operand shapes of every
    matrix product are kept in ``matmuls`` (``(m, k, n)``, one per member of a batched
    product), to time them alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0
        self.matmuls: list[tuple[int, int, int]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        count = flop_registry.get(func._overloadpacket)
        if count is not None:
            self.total += int(count(*args, **kwargs, out_val=out))
        if func in _MATMULS:
            a, b = args[-2], args[-1]
            self.matmuls.append((int(a.shape[0]), int(a.shape[1]), int(b.shape[1])))
        elif func._overloadpacket in _BATCHED_MATMULS:
            # one product per member of the stack
            a, b = args[:2] if func._overloadpacket is torch.ops.aten.bmm else args[1:3]
            shape = (int(a.shape[1]), int(a.shape[2]), int(b.shape[2]))
            self.matmuls += [shape] * int(a.shape[0])
        return out


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs that ``fn()`` dispatches (matmuls and convolutions; elementwise ops count 0)."""
    with FlopCount() as counter:
        fn()
    return counter.total


def read_bandwidth(n_bytes: int, threads: int, repeats: int = 15) -> float:
    """Bytes/s of summing a warm float32 array of ``n_bytes`` (median of repeats).

    The array stays in cache as far as it fits, as a generator's weights do between calls:
    at batch 1 every weight is read once per shower, so ``weights / bandwidth`` bounds the
    time of a single shower from below.
    """
    with torch_threads(threads):
        a = torch.ones(max(1, n_bytes // 4))
        inner = max(1, 2**22 // max(1, n_bytes))
        return n_bytes / median_time(a.sum, repeats, inner, 0.5) * inner


def matmul_seconds(
    shapes: list[tuple[int, int, int]],
    repeats: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median seconds of the matrix products ``shapes`` alone, on contiguous operands."""
    g = torch.Generator().manual_seed(0)
    operands = [
        (torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)) for m, k, n in shapes
    ]

    def run() -> None:
        for a, b in operands:
            torch.mm(a, b)

    return median_time(run, repeats, inner=1, budget=0.0, clock=clock)


def forward_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of a forward pass counted by :class:`FlopCounterMode` (no double backward)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())
