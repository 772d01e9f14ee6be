"""Area 8: soak. A short run of ``demos/benchmarks/soak.py`` per backend: no solver object,
thread or file descriptor survives it, and its leak detector does fire on a leaky backend.
The full 20,000-solve run is the benchmark itself (numbers in docs/reliability.md).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from combopt_core import BackendSpec, hookimpl, register_plugin
from combopt_core.registry import default_registry

from .helpers import BruteForceSolver

SOAK_PATH = Path(__file__).resolve().parents[2] / "demos" / "benchmarks" / "soak.py"


def load_soak():
    spec = importlib.util.spec_from_file_location("combopt_soak", SOAK_PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_short_soak_leaks_nothing(backend):
    soak = load_soak()
    result = soak.soak(backend, solves=400, batch=50, workers=2, n=10, m=3, new_solver_every=2)
    assert result.solves == 400 and result.infeasible == 40
    assert result.solvers_created == 4 and result.solvers_alive == 0
    assert result.threads_after == result.threads_before
    assert result.fds_after <= result.fds_before
    assert result.growth < 20.0


_KEPT: list = []


class _LeakyPlugin:
    """A backend that keeps every solver it builds (a leaked solver environment)."""

    @hookimpl
    def register_backends(self, register):
        def factory():
            solver = BruteForceSolver()
            _KEPT.append(solver)
            return solver

        register(BackendSpec(name="leaky", factory=factory))


@pytest.fixture
def leaky_backend():
    register_plugin(_LeakyPlugin(), name="test-leaky")
    yield "leaky"
    default_registry().unregister_plugin("test-leaky")
    _KEPT.clear()


def test_soak_reports_a_leaking_backend(leaky_backend, capsys):
    soak = load_soak()
    argv = ["--backend", leaky_backend, "--solves", "60", "--batch", "10", "--n", "4",
            "--new-solver-every", "2"]
    assert soak.main(argv) == 1
    out = capsys.readouterr().out
    assert "leaky: 60 solves" in out and "LEAK (leaky): 3 solver object(s) still alive" in out
