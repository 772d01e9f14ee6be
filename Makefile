# The two commands of the README. Each sets itself up: a virtual environment in .venv with
# torch pinned to 2.13.0 (the CPU wheel on these machines; a bare `torch` would pull a
# multi-GB CUDA build) and combopt installed in editable mode with every solver.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
EXTRAS := dev

.PHONY: demo test setup clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.0" -e ".[$(EXTRAS)]"
	touch $@

setup: $(VENV)/.installed

## demo: learn the constraints of a Random Constraints dataset on HiGHS (about a minute)
demo: setup
	$(PY) -m demos random-constraints --quick --solver highs

## test: the whole test suite, every installed backend
test: setup
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
