"""Gurobi model reuse: costs are swapped on a kept model, answers stay exact."""

from __future__ import annotations

import threading

import numpy as np
import pytest

pytest.importorskip("gurobipy")
import combopt_gurobi
from combopt_gurobi import solver as gurobi_module
from combopt_gurobi.solver import GurobiSolver

from combopt_core import (
    SerialExecutor,
    Status,
    ThreadExecutor,
    make_problem,
    solve_batch,
)

from .perf_helpers import BruteForceSolver, random_problem

if combopt_gurobi.licence_problem() is not None:
    pytest.skip(combopt_gurobi.licence_problem(), allow_module_level=True)


class _CountingGurobipy:
    """Stands in for ``gurobipy`` inside the backend, counting built models (thread-safe)."""

    def __init__(self, real):
        self._real = real
        self._lock = threading.Lock()
        self.models_built = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def Model(self, *args, **kwargs):
        with self._lock:
            self.models_built += 1
        return self._real.Model(*args, **kwargs)


@pytest.fixture
def counting(monkeypatch):
    fake = _CountingGurobipy(gurobi_module.gp)
    monkeypatch.setattr(gurobi_module, "gp", fake)
    return fake


def test_shared_constraints_build_one_model_per_chunk(counting):
    p = random_problem(12, 8, 3, shared=True, seed=0)
    got = solve_batch(GurobiSolver(), p, executor=SerialExecutor())
    assert counting.models_built == 1
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


def test_threads_build_one_model_each(counting):
    p = random_problem(40, 8, 3, shared=True, seed=4)
    got = solve_batch(GurobiSolver(), p, executor=ThreadExecutor(workers=2))
    assert 1 <= counting.models_built <= 2
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


def test_unchanged_constraints_between_calls_are_not_rebuilt(counting):
    solver = GurobiSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    q = make_problem(np.random.default_rng(9).uniform(-1, 1, (5, 8)), p.A.copy(), p.b.copy())
    got = solve_batch(solver, q, executor=SerialExecutor())
    assert counting.models_built == 1
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), q).y)


def test_changed_constraints_are_rebuilt(counting):
    solver = GurobiSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    moved = make_problem(p.c, p.A, p.b + 1e-3)
    got = solve_batch(solver, moved, executor=SerialExecutor())
    assert counting.models_built == 2
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), moved).y)


def test_no_reuse_builds_a_model_per_instance(counting):
    p = random_problem(6, 8, 3, shared=True, seed=2)
    got = solve_batch(GurobiSolver(reuse_model=False), p, executor=SerialExecutor())
    assert counting.models_built == 6
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


@pytest.mark.parametrize("shared", [True, False])
def test_reuse_matches_brute_force_across_mixed_sequences(shared):
    """Instances alternate between repeated and new constraints, infeasible ones included."""
    solver = GurobiSolver()
    brute = BruteForceSolver()
    for seed in range(4):
        p = random_problem(16, 9, 4, shared=shared, seed=seed, box=(-1, 1))
        if not shared:  # repeat some constraint sets back to back, make one infeasible
            A, b = p.A.copy(), p.b.copy()
            A[3:7], b[3:7] = A[3], b[3]
            A[9], b[9] = np.eye(9)[:4], -2.0
            p = make_problem(p.c, A, b, -1, 1)
        got = solve_batch(solver, p, executor=SerialExecutor())
        ref = solve_batch(brute, p)
        np.testing.assert_array_equal(got.status, ref.status)
        np.testing.assert_array_equal(got.y, ref.y)
    if not shared:
        assert got.status[9] == Status.INFEASIBLE


def test_box_only_problems_solve_and_reuse():
    """m = 0 (no constraint rows) is valid: the optimum is the box corner c picks."""
    c = np.array([[1.0, -2.0, 0.5], [-1.0, 3.0, -0.5]])
    problem = make_problem(c, np.zeros((0, 3)), np.zeros(0), -1, 2)
    got = solve_batch(GurobiSolver(), problem, executor=SerialExecutor())
    np.testing.assert_array_equal(got.y, [[-1, 2, -1], [2, -1, 2]])
