# Quick start: `make demo` runs the main job, `make test` the test suite.
# Each creates .venv (with the python3 on PATH) and installs autonas into it on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TF_CPP_MIN_LOG_LEVEL ?= 2
# Test processes (pytest-xdist), a file per process at a time. Tests that train start worker
# processes of their own, so more test processes than cores only slow the suite down.
TEST_PROCESSES ?= 2
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_PROCESSES) --dist loadfile

.PHONY: demo test test-quick install clean

$(BIN)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e ".[test,ray,docs,jax,deploy]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m autonas demo

test: install
	$(PYTEST)

# The checks that neither train networks nor start processes (under 2 minutes on 2 cores).
test-quick: install
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
