"""CP-SAT model reuse: the scaled rows and the model are kept per thread, only the objective
is replaced, and answers stay exactly those of fresh models."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("ortools")

from combopt_core import (
    SerialExecutor,
    Status,
    make_problem,
    solve_batch,
)
from combopt_cpsat import solver as cpsat_module
from combopt_cpsat.solver import CpSatSolver

from .perf_helpers import BruteForceSolver, count_calls, random_problem


@pytest.fixture
def builds(monkeypatch) -> Counter:
    """Models built, by building thread."""
    return count_calls(monkeypatch, cpsat_module, "build_model")


@pytest.mark.parametrize("change", ["A", "b", "bounds"])
def test_changed_constraints_are_rebuilt(builds, change):
    solver = CpSatSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    A, b, ub = p.A.copy(), p.b.copy(), 1.0
    if change == "A":
        A[0, 0] += 0.25
    elif change == "b":
        b -= 0.3
    else:
        ub = 2.0
    moved = make_problem(p.c, A, b, 0.0, ub)
    got = solve_batch(solver, moved, executor=SerialExecutor())
    assert sum(builds.values()) == 2
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), moved).y)


def test_restriction_in_a_shared_chunk_answers_as_solve(builds):
    """Coarse 10-bit scaling of ``1.0001 y0 <= 5.0003``: the relaxation's optimum y0 = 5 is
    not float-feasible, so the restriction decides; it is built once for the whole chunk."""
    solver = CpSatSolver(bits=10)
    A, b = np.array([[1.0001, 0.0], [1.0, 1.0]]), np.array([5.0003, 5.5])
    c = np.array([[-1.0, -1.0], [-1.0, -1.0], [-1.0, -0.1], [1.0, 1.0]])
    problem = make_problem(c, A, b, 0, [10, 1])
    many = solver.solve_many(problem)
    assert sum(builds.values()) == 2  # the relaxation, then the restriction once
    one = [CpSatSolver(bits=10).solve(problem.instance(i)) for i in range(4)]
    assert [s.status for s in many] == [s.status for s in one]
    assert [s.message for s in many] == [s.message for s in one]
    assert [s.status for s in many] == [Status.OPTIMAL] * 2 + [Status.ERROR, Status.OPTIMAL]
    np.testing.assert_array_equal(many[0].y, [4.0, 1.0])


def test_time_limit_of_one_solve_does_not_stick():
    """The thread's parameters are reused: a limit set for one solve is cleared after."""
    rng = np.random.default_rng(7)
    A = rng.normal(size=(20, 100))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    hard = make_problem(rng.uniform(-1, 1, 100), A, rng.uniform(0, 5, 20), 0, 1).instance(0)
    easy = random_problem(1, 8, 3, shared=True, seed=5).instance(0)
    solver = CpSatSolver()
    assert solver.solve(hard, time_limit=1e-3).status == Status.TIME_LIMIT
    assert solver.solve(easy).status == Status.OPTIMAL
    assert solver._cp_solver().parameters.max_time_in_seconds == float("inf")


def test_cpsat_solver_pickles_and_solves_after():
    solver = CpSatSolver(bits=20, presolve=True, options={"random_seed": 3}, reuse_model=False)
    p = random_problem(4, 6, 2, shared=True, seed=3)
    solve_batch(solver, p, executor=SerialExecutor())  # a live model must not block pickling
    clone = pickle.loads(pickle.dumps(solver))
    assert (clone.bits, clone.presolve, clone._options, clone.reuse_model) == (
        20,
        True,
        {"random_seed": 3},
        False,
    )
    np.testing.assert_array_equal(
        solve_batch(clone, p, executor=SerialExecutor()).y, solve_batch(BruteForceSolver(), p).y
    )
