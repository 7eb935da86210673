# cpm-analysis: `make report` sets up and renders the reports on the sample data,
# `make test` sets up and runs lint and the test suite. Both only need Python 3.11+.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# OpenMP/BLAS threads that busy-wait slow scikit-learn down badly on a shared 2-core machine
export OMP_WAIT_POLICY ?= passive
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: setup test lint report benchmark clean

$(BIN)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,scale]"
	touch $@

setup: $(BIN)/.installed

# ruff: style, imports and numpy docstrings (D); mypy: the package's type annotations
lint: setup
	$(BIN)/ruff check cpm_analysis tests benchmarks conftest.py
	$(BIN)/ruff format --check cpm_analysis tests benchmarks conftest.py
	$(BIN)/mypy
	$(BIN)/lint-imports

# pytest runs tests/ and every docstring example of cpm_analysis (see pyproject.toml, conftest.py)
test: lint
	$(BIN)/python -m pytest

report: setup
	$(BIN)/cpm report

benchmark: setup
	$(BIN)/python -m benchmarks --customers 1000000

clean:
	rm -rf $(VENV) reports/*/ reports/index.html .pytest_cache .mypy_cache
