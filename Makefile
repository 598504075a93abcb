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
# Wall-clock promises (tests marked `timing`) run after the others, in one process with nothing beside it:
# a sibling test process training on the same cores is not what a time limit promises to absorb.
PYTEST_ALONE := $(BIN)/python -m pytest -q -n 0
# JUNIT=name: JUnit reports name.xml (the parallel pass) and name-timing.xml (what CI checks).
junit = $(if $(JUNIT),--junitxml=$(JUNIT)$(1).xml)

.PHONY: demo test test-quick install clean

# PyTorch's CPU build, pinned: `torch>=2.1` alone may resolve to a CUDA build of several GB. Any
# torch >= 2.1 works (TORCH=torch to take pip's choice).
TORCH ?= torch==2.13.0

$(BIN)/.installed: setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install "$(TORCH)"
	$(BIN)/pip install -e ".[test,ray,docs,jax,torch,deploy,robust]"
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/python -m autonas demo

test: install
	$(PYTEST) -m "not timing" $(call junit,)
	$(PYTEST_ALONE) -m timing $(call junit,-timing)

# The checks that neither train networks nor start processes (under 2 minutes on 2 cores).
test-quick: install
	$(PYTEST) -m "not slow"

clean:
	rm -rf $(VENV) build *.egg-info
