"""SCIP model reuse (the default): a kept model per thread, only what differs changed, and
answers (ties included) exactly those of fresh models."""

from __future__ import annotations

import pickle
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("pyscipopt")

from combopt_core import (
    ProcessExecutor,
    SerialExecutor,
    make_problem,
    solve_batch,
)
from combopt_scip.solver import ScipSolver

from .perf_helpers import BruteForceSolver, count_calls, random_problem


@pytest.fixture
def builds(monkeypatch) -> Counter:
    """Models built, by building thread."""
    return count_calls(monkeypatch, ScipSolver, "_build")


@pytest.mark.parametrize("change", ["A", "b"])
def test_changed_rows_are_updated_in_place(builds, change):
    solver = ScipSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    A, b = p.A.copy(), p.b.copy()
    if change == "A":
        A[0, 0] += 0.25
    else:
        b -= 0.3
    moved = make_problem(p.c, A, b)
    got = solve_batch(solver, moved, executor=SerialExecutor())
    assert sum(builds.values()) == 1
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), moved).y)


def test_reused_model_breaks_ties_as_fresh_models():
    """Unit-cost set cover (many optima), one shared constraint set: the points a reused
    model returns, in any order, are those of a fresh model per instance. With SCIP's default
    ``misc/transsolsorig = True`` the previous solves' points would decide instead."""
    rng = np.random.default_rng(6)
    cover = rng.random((10, 14)) < 0.3
    cover[np.arange(10), rng.integers(0, 14, 10)] = True
    c = 1.0 + (rng.random((24, 14)) < 0.3)
    problem = make_problem(c, -cover.astype(float), -np.ones(10), 0, 1)
    fresh = solve_batch(ScipSolver(reuse_model=False), problem, executor=SerialExecutor()).y
    solver = ScipSolver()
    for order in (np.arange(24), np.arange(24)[::-1], rng.permutation(24)):
        ordered = make_problem(c[order], problem.A, problem.b, 0, 1)
        got = solve_batch(solver, ordered, executor=SerialExecutor()).y
        np.testing.assert_array_equal(got, fresh[order])


def test_scip_solver_pickles_and_runs_in_a_process_pool():
    solver = ScipSolver(options={"presolving/maxrounds": 0}, reuse_model=False)
    p = random_problem(8, 6, 2, shared=True, seed=3)
    solve_batch(solver, p, executor=SerialExecutor())  # a live model must not block pickling
    clone = pickle.loads(pickle.dumps(solver))
    assert clone._options == {"presolving/maxrounds": 0} and clone._reuse is False
    ref = solve_batch(BruteForceSolver(), p).y
    np.testing.assert_array_equal(solve_batch(clone, p, executor=SerialExecutor()).y, ref)
    with ProcessExecutor(workers=2) as executor:
        np.testing.assert_array_equal(solve_batch(ScipSolver(), p, executor=executor).y, ref)
