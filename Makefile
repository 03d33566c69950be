# Two commands on a fresh machine: `make run` (the pipeline) and `make test` (the test suite).
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)

# A quick CPU run of the whole pipeline (under 15 minutes on 2 cores), as a DVC experiment.
QUICK_PARAMS := -S data.train_size=10000 -S data.test_size=5000 -S classifier.epochs=3 \
	-S epochs=5 -S gan.grid_every=1

.PHONY: venv run quick test lint

$(VENV)/.installed: requirements.lock pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

run: venv
	dvc repro

quick: venv
	dvc exp run --name quick-cpu-$$(date +%s) $(QUICK_PARAMS)

test: venv
	pytest

lint: venv
	ruff check src stages tests benchmarks
