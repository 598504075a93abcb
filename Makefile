# Quick start: `make demo` runs the main job, `make test` the test suite.
# Each creates .venv (with the python3 on PATH) and installs autonas into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: demo test test-quick install clean

$(BIN)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test,ray,docs,jax]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m autonas demo

test: install
	$(BIN)/python -m pytest -q

# The checks that neither train networks nor start processes (under 2 minutes on 2 cores).
test-quick: install
	$(BIN)/python -m pytest -q -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
