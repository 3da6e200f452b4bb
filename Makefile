# Each target sets itself up from nothing: a local venv, the CPU build of torch
# where there is no CUDA, and the extras. Re-running is cheap (a stamp file).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.dreamlab-installed
TORCH_VERSION ?= 2.13.0
ARGS ?=

.PHONY: setup run test test-slow lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1; then \
		$(BIN)/python -m pip install -q torch; \
	else \
		$(BIN)/python -m pip install -q torch==$(TORCH_VERSION) \
		|| $(BIN)/python -m pip install -q torch==$(TORCH_VERSION) --index-url https://download.pytorch.org/whl/cpu \
		|| $(BIN)/python -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu; \
	fi
	$(BIN)/python -m pip install -q -e '.[atari,box2d,dmc,rocket,ray,dev]'
	@touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/dreamlab run --env CartPole-v1 --mode quick $(ARGS)

test: setup
	$(BIN)/python -m ruff check src tests benchmarks
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

clean:
	rm -rf $(VENV) runs
