# reelkit: `make run` sets up and runs the main job; `make test` sets up and runs the checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
DEMO_DIR ?= .reelkit/demo

.PHONY: setup setup-bench run demo test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

setup-bench: $(BENCH_STAMP)

run: setup
	$(VENV)/bin/reelkit demo --workdir $(DEMO_DIR)

demo: run

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

unit: setup
	$(VENV)/bin/pytest -q -n 2

test: lint typecheck unit

bench: setup-bench
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .reelkit .mypy_cache .ruff_cache .pytest_cache
