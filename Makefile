# Quick start: `make run` opens the app on an example, `make test` runs the checks and the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run check test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# torch first and pinned: the CPU build; letting pip choose pulls a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0 -e ".[test,lint]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/nnstudio resources/examples/cnn.nnproj

# Lint, format, the import contracts (the layers) and types: fails on the first that is not clean.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: check
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/nnstudio bench analysis

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
