# The two commands of the README. Each sets itself up in a virtual environment in .venv,
# with torch pinned to 2.13.0 (the CPU wheel on these machines; a bare `torch` would pull a
# multi-GB CUDA build) and combopt installed in editable mode:
#   make demo  installs only what the quick demonstration imports (torch, HiGHS, tqdm);
#   make test  installs every solver and extra (.[dev]), so that no backend becomes a skip.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check

.PHONY: demo test setup clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-demo: pyproject.toml Makefile | $(PY)
	$(PIP) "torch==2.13.0" -e ".[torch,demo]"
	touch $@

$(VENV)/.installed: pyproject.toml Makefile | $(PY)
	$(PIP) "torch==2.13.0" -e ".[dev]"
	touch $@ $(VENV)/.installed-demo

## setup: the full environment of `make test`
setup: $(VENV)/.installed

## demo: learn the constraints of a Random Constraints dataset on HiGHS (seconds, after set-up)
demo: $(VENV)/.installed-demo
	$(PY) -m demos random-constraints --quick --solver highs

## test: the whole test suite, every installed backend
test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
