"""Model reuse with equality rows: a shared set is built once, unchanged equalities are not
rebuilt between calls, changed ones are (SCIP updates its rows in place), and every answer
is brute force's."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from perf.perf_helpers import count_calls
from perf.test_perf_model_reuse import AVAILABLE, BUILDERS

from combopt_core import get_solver, make_problem, solve_batch
from combopt_core.executors import SerialExecutor

N = 6
A_EQ = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, -1.0, 0.5]])


@pytest.fixture(params=[b for b in BUILDERS if b in AVAILABLE])
def backend(request) -> str:
    return request.param


def _builds(monkeypatch, backend):
    module, path = BUILDERS[backend]
    owner = importlib.import_module(module)
    *parents, name = path.split(".")
    for part in parents:
        owner = getattr(owner, part)
    return count_calls(monkeypatch, owner, name)


def _problem(seed, b_eq):
    rng = np.random.default_rng(seed)
    A = np.array([[1.0, -1.0, 0.0, 0.0, 1.0, 1.0]])
    return make_problem(rng.uniform(-1, 1, (5, N)), A, [1.0], -1, 1, A_EQ, b_eq)


def test_equality_rows_are_part_of_the_reused_model(backend, monkeypatch):
    builds = _builds(monkeypatch, backend)
    solver, brute = get_solver(backend), get_solver("bruteforce")
    steps = [(0, [1.0, 0.5]), (1, [1.0, 0.5]), (2, [-1.0, 0.5]), (3, [4.0, 0.5]), (4, [1.0, 0.5])]
    for i, (seed, b_eq) in enumerate(steps):
        p = _problem(seed, np.array(b_eq))
        got = solve_batch(solver, p, executor=SerialExecutor())
        want = solve_batch(brute, p)
        np.testing.assert_array_equal(got.status, want.status)
        np.testing.assert_array_equal(got.y, want.y)
        if i == 1:  # same equalities, new costs: the model is kept
            assert sum(builds.values()) == 1
        assert got.infeasible.all() == (i == 3)  # y0 + y1 + y2 == 4 is out of reach
    # three changes of b_eq: rebuilt each time, except SCIP, which changes its rows in place
    assert sum(builds.values()) == (1 if backend == "scip" else 4)
