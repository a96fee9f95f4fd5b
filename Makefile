# Enforcement Reform Lab. `make report` and `make test` are all a fresh machine needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA   ?= data/generated/default
PERIOD ?= 2024Q4
OUT    ?= reports/$(PERIOD)
JOBS   ?= 2

.PHONY: env lint test check test-all report lab bench clean

# (Re)build the project environment when missing or when its definition changed.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Enforcement Reform Lab" >/dev/null
	touch $(STAMP)

env: $(STAMP)

# The browser test drives Debian's chromium; install it when missing (CI runs as root).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	-apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

# Lint, format check and types: ruff on the package, tests, benchmarks and (through nbqa) the notebooks; mypy on src/.
lint: env
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/nbqa ruff notebooks --ignore E402,B018,E501  # a cell ending in an expression displays it; parameters cells hold long defaults
	$(BIN)/mypy

# The fast suite (everything but `slow`): whole test files per worker, so module fixtures are built once.
test: env $(CHROMIUM)
	OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 --dist loadfile -m "not slow"

# What CI runs (.ci/run): the fast suite and the slow tests (report builds, Monte Carlo coverage, the
# dataset variants of test_any_data.IN_CI), spread test by test; costly results are shared across
# workers (tests/conftest.py, once_per_run).
check: env $(CHROMIUM)
	OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 --dist load -m "not matrix"

# Every test, the whole dataset-variant matrix included.
test-all: env $(CHROMIUM)
	OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg $(BIN)/python -m pytest -n 2 --dist load

$(DATA)/inspections.parquet: | env
	$(BIN)/analysis synth --out $(DATA)

report: env $(DATA)/inspections.parquet
	$(BIN)/analysis report --data $(DATA) --period $(PERIOD) --out $(OUT) --jobs $(JOBS)

lab: env $(DATA)/inspections.parquet
	ANALYSIS_DATA=$(abspath $(DATA)) $(BIN)/jupyter lab --notebook-dir=notebooks

bench: env
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_synth.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_compressed.py
	$(BIN)/python benchmarks/bench_scale.py
	$(BIN)/python benchmarks/record.py

clean:
	rm -rf $(VENV) data/generated reports/*/ .pytest_cache
