# SISI hub — the two set-up commands are `make demo` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test check lint typecheck bench clean services

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Run the whole embedded stack with demo agencies (embedded broker, SQLite, schema registry).
## Options go through ARGS: make demo ARGS="--port 19092 --metrics-port 19100", ARGS=--reset.
demo: $(STAMP)
	$(BIN)/sisi up --demo $(ARGS)

## Run every check and the whole test suite (starts PostgreSQL when it is not running).
test: $(STAMP) services
	$(BIN)/ruff check hub producers consumers tests bench
	$(BIN)/mypy
	$(BIN)/sisi schemas check
	$(BIN)/sisi agreements validate
	$(BIN)/pytest -n 2 --dist loadgroup

## Static checks only: ruff + mypy --strict + contracts + agreements.
check: $(STAMP)
	$(BIN)/ruff check hub producers consumers tests bench
	$(BIN)/mypy
	$(BIN)/sisi schemas check
	$(BIN)/sisi agreements validate

services:
	@bash .ci/services

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
