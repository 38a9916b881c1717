# Vigil: the two commands that do all set-up on a fresh machine are `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed

.PHONY: install run test test-fast e2e bench lint routes clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(RUN_STAMP)

## Production install only: the venv and the pinned runtime dependencies (no test tools),
## then stop. Nothing is served, migrated or seeded (see docs/deployment.md).
install: $(RUN_STAMP)
	@echo "Installed into $(VENV). Next: set the environment, then $(BIN)/vigil db upgrade (docs/deployment.md)."

## Serve the console on the embedded default (SQLite in instance/, in-process queue).
run: $(RUN_STAMP)
	$(BIN)/vigil serve

## Run the whole suite (PostgreSQL + Redis when reachable, else SQLite + fakeredis).
test: $(TEST_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## Everything but the browser tests.
test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not e2e" $(PYTEST_ARGS)

e2e: $(TEST_STAMP)
	$(BIN)/python -m pytest -m e2e $(PYTEST_ARGS)

## Benchmarks (not tests): numbers with a same-run baseline, written to bench/results/.
bench: $(TEST_STAMP)
	$(BIN)/python -m bench

lint: $(TEST_STAMP)
	$(BIN)/ruff check app tests bench vigil_agent

routes: $(RUN_STAMP)
	$(BIN)/vigil routes

clean:
	rm -rf $(VENV) instance .pytest_cache
