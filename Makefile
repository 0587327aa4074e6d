# reelkit: `make run` sets up and starts the service on demo data; `make test` sets up and runs the checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
BENCH_STAMP := $(VENV)/.installed-bench
# one data folder per source: the demo catalog, or the data set REELKIT_DATA points at
DATA_DIR ?= $(if $(REELKIT_DATA),.reelkit/service-$(notdir $(patsubst %/,%,$(REELKIT_DATA))),.reelkit/service)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup setup-bench browser run demo test lint typecheck unit bench dist clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,service]'
	# silero-vad without its torch: its streamed model, the tests' reference for the export reelkit ships
	$(PY) -m pip install -q --no-deps 'silero-vad>=5'
	touch $(STAMP)

# dash.js for the ABR demo page (npm package pinned in web/abr; served locally, never from a CDN)
DASHJS := web/abr/node_modules/dashjs/dist/modern/umd/dash.all.min.js
$(DASHJS): web/abr/package.json web/abr/package-lock.json
	scripts/vendor_dashjs.sh

setup: $(STAMP) $(DASHJS)

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,service,bench]'
	touch $(BENCH_STAMP)

setup-bench: $(BENCH_STAMP)

# Debian's chromium for the browser test (Playwright drives it; no browser download). Where it cannot be
# installed the browser test skips and says why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "note: could not install chromium; the browser test will be skipped"; }
	@command -v espeak-ng >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng >/dev/null) \
	  || echo "note: could not install espeak-ng; the speech tests will be skipped"; }

# The service with the web page on demo data (or MovieLens when REELKIT_DATA points at it):
# builds the data folder and trains on the first run, reuses both afterwards.
run: setup
	$(VENV)/bin/reelkit serve --demo --data-dir $(DATA_DIR) --host $(HOST) --port $(PORT)

# The command-line demo: evaluate the models on the demo catalog, show recommendations and communities.
demo: setup
	$(VENV)/bin/reelkit demo --workdir .reelkit/demo

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: setup
	$(VENV)/bin/mypy

unit: setup browser
	$(VENV)/bin/pytest -q -n 2

test: lint typecheck unit

bench: setup-bench
	$(PY) benchmarks/bench_topn.py --dataset ml-100k
	$(PY) benchmarks/bench_low_ratings.py --dataset ml-100k
	$(PY) benchmarks/bench_rating_peers.py
	$(PY) benchmarks/bench_speed.py
	$(PY) benchmarks/bench_abr.py --fold-cache benchmarks/out/abr_folds
	$(PY) benchmarks/bench_abr_shift.py
	$(PY) benchmarks/bench_cache.py
	$(PY) benchmarks/bench_fill.py
	$(PY) benchmarks/bench_loudness.py
	$(PY) benchmarks/bench_subsync.py --workers 2
	$(PY) benchmarks/bench_ladder.py
	$(PY) benchmarks/bench_talent.py
	$(PY) benchmarks/bench_production.py
	$(PY) benchmarks/bench_forecast.py
	$(PY) benchmarks/assemble_results.py

# A wheel in dist/ for installing elsewhere: with dash.js copied into the package (an installed
# reelkit has no web/ folder beside it; a wheel without it had an ABR demo page that cannot play)
dist: setup
	scripts/vendor_dashjs.sh --copy
	@test -f src/reelkit/service/static/vendor/dash.all.min.js \
	  && test -f src/reelkit/service/static/vendor/dash.all.min.js.LICENSE.txt \
	  || { echo "error: dash.js or its notices are missing (npm could not be installed?): no wheel built" >&2; exit 1; }
	rm -rf dist
	$(PY) -m pip wheel -q --no-deps -w dist .
	@ls dist

clean:
	rm -rf $(VENV) .reelkit .mypy_cache .ruff_cache .pytest_cache
