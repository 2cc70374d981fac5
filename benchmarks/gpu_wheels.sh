#!/usr/bin/env bash
# Wheels of the packages fastcalogan needs for benchmarks/gpu_check.sh that a bare GPU
# machine with PyTorch may lack (pydantic and its parts), into .whl/ (git-ignored): run it
# here, where the project's .venv and a package index are, then bring .whl/ to the GPU
# machine beside the working tree. The versions are the .venv's; the wheels are built for
# the GPU machine's Python (GPU_PYTHON_VERSION, default 3.12) on x86-64 Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TARGET=${GPU_PYTHON_VERSION:-3.12}
PACKAGES=(pydantic pydantic_core annotated-types typing-inspection typing_extensions)
mapfile -t pins < <("$PY" - "${PACKAGES[@]}" <<'PYEOF'
import sys
from importlib.metadata import version

for name in sys.argv[1:]:
    print(f"{name}=={version(name)}")
PYEOF
)
mkdir -p .whl
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$TARGET" \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl "${pins[@]}"
ls -1 .whl
