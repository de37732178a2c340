# Two entry points: `make run` (the local stack) and `make test` (lint, types, tests).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mdmflow dev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

# `make bench` runs the issue's sizes (40 to 55 minutes on two cores as measured);
# `make bench BENCH_ARGS=--quick` 1 to 3; `python -m bench --help` lists the rest.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Kills Temporal, workers and bridges for real and prints what each fault cost (3 min idle).
faults: $(STAMP)
	$(BIN)/python -m faults

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
