#!/usr/bin/env bash
# The GPU checks of issue 18, in one run of under 10 minutes on one CUDA device:
#   1. the GPU tests (pytest --gpu -m gpu): device selection, training and resume on the GPU,
#      the CUDA-graph ensemble against eager and CPU runs, TF32, generation;
#   2. benchmarks/gpu_bench.py: the FastCaloGAN recipe's iterations/s (eager, graphed, TF32)
#      and its 1M-iteration time, ensemble rates for K = 1, 4, 16, 64 and the 300-GAN
#      campaign's GPU-hours, generation in fp32 and bf16.
# Usage (from the repository root, with the project installed, e.g. `make install`):
#   bash benchmarks/gpu_check.sh [OUT_DIR]       (default: $OUT, else ./gpu-check)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
OUT_DIR=${1:-${OUT:-gpu-check}}
mkdir -p "$OUT_DIR"
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device')"
# deterministic cuBLAS products (the trainer sets this too; here for every test process)
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
start=$(date +%s)
status=0
# both parts run whatever the other gives; the exit status says whether both passed
timeout 240 "$PY" -m pytest -q --gpu -m gpu -p no:cacheprovider tests 2>&1 \
    | tee "$OUT_DIR/gpu_tests.log" || status=1
timeout 330 "$PY" benchmarks/gpu_bench.py -o "$OUT_DIR/gpu_bench.json" 2>&1 \
    | tee "$OUT_DIR/gpu_bench.log" || status=1
echo "gpu_check: $(( $(date +%s) - start )) s, status $status; results in $OUT_DIR"
exit $status
