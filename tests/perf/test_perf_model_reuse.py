"""Model reuse, the same rules for every backend that keeps models (``reuse_model``).

A shared constraint set is built once per thread and only the costs change; unchanged
constraints are not rebuilt between calls; new bounds are; ``reuse_model=False`` builds a
model per instance; and through all of it the answers are exactly those of brute force.
Backend-specific behaviour (in-place row updates, tie-breaking, restriction solves,
pickling) is tested beside each backend in ``test_perf_<backend>_reuse.py``.
"""

from __future__ import annotations

import importlib
from collections import Counter

import numpy as np
import pytest

from combopt_core import (
    SerialExecutor,
    Status,
    ThreadExecutor,
    get_solver,
    list_backends,
    make_problem,
    solve_batch,
)

from .perf_helpers import BruteForceSolver, count_calls, random_problem

#: backend -> (module, attribute path) of the call that builds one model.
BUILDERS = {
    "highs": ("highspy", "HighsLp"),
    "gurobi": ("gurobipy", "Model"),
    "cpsat": ("combopt_cpsat.solver", "build_model"),
    "scip": ("combopt_scip.solver", "ScipSolver._build"),
}
AVAILABLE = {s.name for s in list_backends() if s.available}


def _backend_params():
    for name in BUILDERS:
        reason = f"backend '{name}' is not available here"
        yield pytest.param(name, marks=pytest.mark.skipif(name not in AVAILABLE, reason=reason))


@pytest.fixture(params=list(_backend_params()))
def backend(request) -> str:
    return request.param


@pytest.fixture
def builds(backend, monkeypatch) -> Counter:
    """Models built by ``backend``, counted by building thread."""
    module, path = BUILDERS[backend]
    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return count_calls(monkeypatch, owner, name)


def _brute(problem):
    return solve_batch(BruteForceSolver(), problem).y


def test_shared_chunk_builds_one_model(backend, builds):
    p = random_problem(12, 8, 3, shared=True, seed=0)
    got = solve_batch(get_solver(backend), p, executor=SerialExecutor())
    assert sum(builds.values()) == 1
    np.testing.assert_array_equal(got.y, _brute(p))


def test_threads_build_one_model_each(backend, builds):
    p = random_problem(40, 8, 3, shared=True, seed=4)
    with ThreadExecutor(workers=2) as executor:
        got = solve_batch(get_solver(backend), p, executor=executor)
    assert set(builds.values()) <= {1} and 1 <= len(builds) <= 2, builds
    np.testing.assert_array_equal(got.y, _brute(p))


def test_unchanged_constraints_between_calls_are_not_rebuilt(backend, builds):
    solver = get_solver(backend)
    p = random_problem(5, 8, 3, shared=True, seed=1)
    # In this thread both times: models are kept per thread, and a serial batch called from
    # the main thread runs on the executors' helper thread (so that Ctrl-C can stop it).
    solver.solve_many(p)
    c = np.random.default_rng(9).uniform(-1, 1, (5, 8))
    q = make_problem(c, p.A.copy(), p.b.copy())  # equal values, new arrays
    got = [solver.solve(q.instance(i)) for i in range(q.batch_size)]  # solve() reuses too
    assert sum(builds.values()) == 1
    np.testing.assert_array_equal([s.y for s in got], _brute(q))


def test_changed_bounds_are_rebuilt(backend, builds):
    solver = get_solver(backend)
    p = random_problem(5, 8, 3, shared=True, seed=1)
    solve_batch(solver, p, executor=SerialExecutor())
    wider = make_problem(p.c, p.A, p.b, 0, 2)
    got = solve_batch(solver, wider, executor=SerialExecutor())
    assert sum(builds.values()) == 2
    np.testing.assert_array_equal(got.y, _brute(wider))


def test_no_reuse_builds_a_model_per_instance(backend, builds):
    p = random_problem(6, 8, 3, shared=True, seed=2)
    got = solve_batch(get_solver(backend, reuse_model=False), p, executor=SerialExecutor())
    assert sum(builds.values()) == 6
    np.testing.assert_array_equal(got.y, _brute(p))


@pytest.mark.parametrize("shared", [True, False])
def test_reuse_matches_brute_force_across_mixed_sequences(backend, shared):
    """Instances alternate between repeated and new constraints, infeasible ones included."""
    solver = get_solver(backend)
    for seed in range(4):
        p = random_problem(16, 9, 4, shared=shared, seed=seed, box=(-1, 1))
        if not shared:  # repeat some constraint sets back to back, make one infeasible
            A, b = p.A.copy(), p.b.copy()
            A[3:7], b[3:7] = A[3], b[3]
            A[9], b[9] = np.eye(9)[:4], -2.0
            p = make_problem(p.c, A, b, -1, 1)
        got = solve_batch(solver, p, executor=SerialExecutor())
        ref = solve_batch(BruteForceSolver(), p)
        np.testing.assert_array_equal(got.status, ref.status)
        np.testing.assert_array_equal(got.y, ref.y)
    if not shared:
        assert got.status[9] == Status.INFEASIBLE


def test_box_only_problems_solve_and_reuse(backend):
    """m = 0 (no constraint rows) is valid: the optimum is the box corner c picks."""
    c = np.array([[1.0, -2.0, 0.5], [-1.0, 3.0, -0.5]])
    problem = make_problem(c, np.zeros((0, 3)), np.zeros(0), -1, 2)
    got = solve_batch(get_solver(backend), problem, executor=SerialExecutor())
    np.testing.assert_array_equal(got.y, [[-1, 2, -1], [2, -1, 2]])
