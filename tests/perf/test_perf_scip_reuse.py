"""SCIP model reuse (the default): a kept model per thread, only what differs changed, and
answers (ties included) exactly those of fresh models."""

from __future__ import annotations

import pickle
import threading
from collections import Counter

import numpy as np
import pytest

pytest.importorskip("pyscipopt")

from combopt_scip.solver import ScipSolver

from combopt_core import (
    ProcessExecutor,
    SerialExecutor,
    Status,
    ThreadExecutor,
    make_problem,
    solve_batch,
)

from .perf_helpers import BruteForceSolver, random_problem


@pytest.fixture
def builds(monkeypatch) -> Counter:
    """Counts the models built, by building thread."""
    counts: Counter = Counter()
    real = ScipSolver._build

    def spy(self, inst):
        counts[threading.get_ident()] += 1
        return real(self, inst)

    monkeypatch.setattr(ScipSolver, "_build", spy)
    return counts


def test_shared_chunk_builds_one_model(builds):
    p = random_problem(12, 8, 3, shared=True, seed=0)
    got = solve_batch(ScipSolver(), p, executor=SerialExecutor())
    assert sum(builds.values()) == 1
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


def test_shared_batch_builds_one_model_per_thread(builds):
    p = random_problem(40, 8, 3, shared=True, seed=4)
    with ThreadExecutor(workers=2) as executor:
        got = solve_batch(ScipSolver(), p, executor=executor)
    assert set(builds.values()) == {1}, builds  # 8 chunks, one build in each thread
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


def test_no_reuse_builds_a_model_per_instance(builds):
    p = random_problem(6, 8, 3, shared=True, seed=2)
    got = solve_batch(ScipSolver(reuse_model=False), p, executor=SerialExecutor())
    assert sum(builds.values()) == 6
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


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


def test_changed_bounds_are_rebuilt(builds):
    solver = ScipSolver()
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    wider = make_problem(p.c, p.A, p.b, 0, 2)
    got = solve_batch(solver, wider, executor=SerialExecutor())
    assert sum(builds.values()) == 2
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), wider).y)


@pytest.mark.parametrize("shared", [True, False])
def test_reuse_matches_brute_force_across_mixed_sequences(shared):
    """Instances alternate between repeated and new constraints, infeasible ones included."""
    solver = ScipSolver()
    brute = BruteForceSolver()
    for seed in range(4):
        p = random_problem(16, 9, 4, shared=shared, seed=seed, box=(-1, 1))
        if not shared:
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
