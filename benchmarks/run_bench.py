"""Run the speed and memory benchmarks and print the summary table.

Equivalent to ``fastcalogan bench [--quick] -o OUT``; kept here so that the benchmarks can be
run from a checkout without the console script::

    .venv/bin/python benchmarks/run_bench.py --quick -o bench.json

The measuring code lives in :mod:`fastcalogan.bench` (importable, typed, tested for
the shape of its output); this folder is never part of the test pass/fail.
"""

from __future__ import annotations

import sys

from fastcalogan.cli import cli

if __name__ == "__main__":
    cli(["bench", *sys.argv[1:]], prog_name="fastcalogan")
