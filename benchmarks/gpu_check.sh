#!/usr/bin/env bash
# The GPU checks of issue 18, in one run of under 10 minutes on one CUDA device:
#   1. the GPU tests (pytest --gpu on the test files that hold `gpu`-marked tests): training
#      and bit-identical resume on the GPU, the CUDA-graph ensemble against eager and CPU
#      runs, TF32, generation in fp32 and bf16;
#   2. benchmarks/gpu_bench.py: the FastCaloGAN recipe's iterations/s (eager, graphed, TF32)
#      and its 1M-iteration time, ensemble rates for K = 1, 4, 16, 64 and the 300-GAN
#      campaign's GPU-hours, generation in fp32 and bf16 (JSON written after every section).
#
# Usage, from anywhere:   bash benchmarks/gpu_check.sh [OUT_DIR]   (default: $OUT, else
# ./gpu-check). Python: $PYTHON, else the project's .venv, else python3 (the first whose
# torch sees a CUDA device). Where the project is not installed (a bare GPU machine with
# torch), it runs from src/; packages that machine lacks (pydantic) come as wheels in .whl/,
# fetched beforehand on a machine with a package index by benchmarks/gpu_wheels.sh.
# Exit status 0 when both parts pass, 1 when one fails, 2 when nothing could run.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-gpu-check}}
mkdir -p "$OUT_DIR"
start=$(date +%s)

PY=
for candidate in "${PYTHON:-}" .venv/bin/python python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if "$candidate" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" \
        >/dev/null 2>&1; then
        PY=$candidate
        break
    fi
done
if [ -z "$PY" ]; then
    echo "gpu_check: no Python whose torch sees a CUDA device (tried \$PYTHON, .venv, python3)" \
        | tee "$OUT_DIR/gpu_check.log"
    exit 2
fi

# the project from the source tree, and the wheels of what this machine lacks
if ! "$PY" -c "import importlib.util as u, sys
sys.exit(0 if u.find_spec('fastcalogan') and u.find_spec('pydantic') else 1)"; then
    if compgen -G ".whl/*.whl" >/dev/null; then
        SITE=${TMPDIR:-/tmp}/fastcalogan-gpu-site
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$SITE" .whl/*.whl || exit 2
        export PYTHONPATH="$SITE:$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    else
        export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
    fi
fi

# deterministic cuBLAS products (the trainer sets this too; here for every test process)
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
export PYTHONUNBUFFERED=1
# the environment, and whether the project imports there
if ! "$PY" - >"$OUT_DIR/environment.txt" 2>"$OUT_DIR/import_error.log" <<'PYEOF'
import subprocess
import sys

import torch

print("python:", sys.executable, sys.version.split()[0])
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
query = "--query-gpu=name,driver_version,memory.total,clocks.max.sm"
try:
    print(subprocess.run(["nvidia-smi", query, "--format=csv"], capture_output=True,
                         text=True, timeout=30).stdout.strip())
except (OSError, subprocess.SubprocessError):
    print("nvidia-smi: not available")
import fastcalogan.train

print("fastcalogan from", fastcalogan.train.__file__)
PYEOF
then
    cat "$OUT_DIR/environment.txt"
    echo "gpu_check: fastcalogan does not import with $PY (see $OUT_DIR/import_error.log);" \
        "fetch the missing packages with benchmarks/gpu_wheels.sh and bring .whl/ along" \
        | tee "$OUT_DIR/gpu_check.log"
    tail -3 "$OUT_DIR/import_error.log"
    exit 2
fi
cat "$OUT_DIR/environment.txt"

status=0
# both parts run whatever the other gives. Another library stack than the development
# machine's: its deprecation warnings are not the GPU path's failures.
mapfile -t gpu_tests < <(grep -rl --include='test_*.py' "pytest.mark.gpu" tests | sort)
echo "gpu tests in: ${gpu_tests[*]}"
timeout 200 "$PY" -m pytest -q -rs --gpu -p no:cacheprovider --timeout=150 \
    -W ignore::DeprecationWarning -W ignore::FutureWarning \
    "${gpu_tests[@]}" 2>&1 | tee "$OUT_DIR/gpu_tests.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
timeout 340 "$PY" benchmarks/gpu_bench.py --budget-s 300 -o "$OUT_DIR/gpu_bench.json" 2>&1 \
    | tee "$OUT_DIR/gpu_bench.log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
echo "gpu_check: $(( $(date +%s) - start )) s, status $status; results in $OUT_DIR" \
    | tee -a "$OUT_DIR/gpu_check.log"
exit $status
