"""HiGHS model reuse: costs are swapped on a kept model, answers stay exact."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from combopt_highs import solver as highs_module
from combopt_highs.solver import HighsSolver

from combopt_core import SerialExecutor, Status, make_problem, solve_batch

from .perf_helpers import BruteForceSolver, random_problem


class _CountingHighspy:
    """Stands in for the ``highspy`` module inside the backend, counting built models."""

    def __init__(self, real):
        self._real = real
        self.models_built = 0

    def __getattr__(self, name):
        return getattr(self._real, name)

    def HighsLp(self):
        self.models_built += 1
        return self._real.HighsLp()


@pytest.fixture
def counting(monkeypatch):
    fake = _CountingHighspy(highs_module.highspy)
    monkeypatch.setattr(highs_module, "highspy", fake)
    return fake


def test_shared_constraints_build_one_model_per_chunk(counting):
    p = random_problem(12, 8, 3, shared=True, seed=0)
    got = solve_batch(HighsSolver(), p, executor=SerialExecutor())
    assert counting.models_built == 1
    ref = solve_batch(BruteForceSolver(), p)
    np.testing.assert_array_equal(got.y, ref.y)


def test_unchanged_constraints_between_calls_are_not_rebuilt(counting):
    solver = HighsSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    q = make_problem(np.random.default_rng(9).uniform(-1, 1, (5, 8)), p.A.copy(), p.b.copy())
    got = solve_batch(solver, q, executor=SerialExecutor())
    assert counting.models_built == 1
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), q).y)


def test_changed_constraints_are_rebuilt(counting):
    solver = HighsSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    moved = make_problem(p.c, p.A, p.b + 1e-3)
    got = solve_batch(solver, moved, executor=SerialExecutor())
    assert counting.models_built == 2
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), moved).y)


def test_no_reuse_builds_a_model_per_instance(counting):
    p = random_problem(6, 8, 3, shared=True, seed=2)
    solve_batch(HighsSolver(reuse_model=False), p, executor=SerialExecutor())
    assert counting.models_built == 6


@pytest.mark.parametrize("shared", [True, False])
def test_reuse_matches_brute_force_across_mixed_sequences(shared):
    """Instances alternate between repeated and new constraints, infeasible ones included."""
    solver = HighsSolver()
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


def test_highs_solver_pickles_and_solves_after():
    solver = HighsSolver(options={"presolve": "off"}, reuse_model=False)
    p = random_problem(4, 6, 2, shared=True, seed=3)
    solve_batch(solver, p, executor=SerialExecutor())  # a live model must not block pickling
    clone = pickle.loads(pickle.dumps(solver))
    assert clone.reuse_model is False and clone._options == {"presolve": "off"}
    np.testing.assert_array_equal(
        solve_batch(clone, p, executor=SerialExecutor()).y, solve_batch(BruteForceSolver(), p).y
    )


def test_box_only_problems_solve_and_reuse():
    """m = 0 (no constraint rows) is valid: the optimum is the box corner c picks."""
    c = np.array([[1.0, -2.0, 0.5], [-1.0, 3.0, -0.5]])
    problem = make_problem(c, np.zeros((0, 3)), np.zeros(0), -1, 2)
    got = solve_batch(HighsSolver(), problem, executor=SerialExecutor())
    np.testing.assert_array_equal(got.y, [[-1, 2, -1], [2, -1, 2]])
