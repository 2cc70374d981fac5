# Two entry points: `make demo` runs the main job on the embedded default, `make test` the checks.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo-output

.PHONY: demo test lint install bench schemas clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The pinned torch first (a CPU wheel from the package index configured on the build
	# machines): an unpinned torch resolved later pulls gigabytes of CUDA.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts examples
	$(BIN)/ruff format --check src tests benchmarks scripts examples
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -q --timeout=600

demo: $(STAMP)
	$(BIN)/fastcalogan demo -o $(DEMO_OUT)

schemas: $(STAMP)
	$(BIN)/python -m fastcalogan._schemas schemas

bench: $(STAMP)
	$(BIN)/fastcalogan bench --quick -o bench.json

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .mypy_cache .ruff_cache
