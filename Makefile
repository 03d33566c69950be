# Two commands on a fresh machine: `make run` (the pipeline) and `make test` (the test suite).
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

.PHONY: venv run test lint

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

run: venv
	dvc repro

test: venv
	pytest

lint: venv
	ruff check src stages tests
