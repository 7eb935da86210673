# cpm-analysis: `make report` installs the runtime and renders the reports on the sample data,
# `make test` also installs the test tools and runs lint and the test suite. Both only need Python 3.11+.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# OpenMP/BLAS threads that busy-wait slow scikit-learn down badly on a shared 2-core machine
export OMP_WAIT_POLICY ?= passive
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: setup runtime test lint report messages benchmark screenshots clean

# `make report` needs the runtime only: the package and what it imports (no test tools, no Dask).
# Each step says what it does; pip shows what it collects and installs.
$(BIN)/.runtime: pyproject.toml Makefile
	@echo "make: [1/3] creating the virtual environment $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "make: [2/3] upgrading pip"
	$(BIN)/python -m pip install --upgrade pip
	@echo "make: [3/3] installing cpm-analysis and its runtime dependencies"
	$(BIN)/python -m pip install -e .
	@touch $@
	@echo "make: the runtime is installed in $(VENV)"

runtime: $(BIN)/.runtime

# `make test` and `make lint` add the dev extra (pytest, ruff, mypy, playwright, ...) and the
# scale extra (Dask), so that the engine parity tests run.
$(BIN)/.installed: $(BIN)/.runtime
	@echo "make: installing the test tools and the Dask engine (extras dev and scale)"
	$(BIN)/python -m pip install -e ".[dev,scale]"
	@touch $@

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

report: $(BIN)/.runtime
	@echo "make: rendering the reports of the bundled sample into reports/"
	$(BIN)/cpm report

# The message catalogues (docs/report.md, "Languages"): extract every marked string of the
# package and the notebooks into the template, then merge it into each language's catalogue
# (new strings arrive untranslated; tests/test_i18n.py fails until they are translated).
LOCALE := cpm_analysis/locale
messages: $(BIN)/.runtime
	$(BIN)/pybabel extract -F pyproject.toml -k n_:1,2 -k M_ --no-wrap --add-location file --sort-by-file \
	  --project cpm-analysis --version 0.1.0 --copyright-holder "the cpm-analysis authors" \
	  -o $(LOCALE)/cpm_analysis.pot cpm_analysis notebooks
	$(BIN)/pybabel update -i $(LOCALE)/cpm_analysis.pot -d $(LOCALE) -D cpm_analysis --no-wrap \
	  --ignore-obsolete

benchmark: setup
	$(BIN)/python -m benchmarks --customers 1000000

# The screenshots of the performance review in docs/images/ (en and zh, from the sample); needs
# the distribution's Chromium (CPM_CHROMIUM, default /usr/bin/chromium). Not run by CI.
screenshots: setup
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) reports/*/ reports/index.html .pytest_cache .mypy_cache
