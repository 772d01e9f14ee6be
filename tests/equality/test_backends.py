"""Equality rows on every installed backend, beyond the conformance kit's grids: zero rows
at the edge of the tolerance, and a larger assignment problem solved the same by all."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import Status, get_solver, list_backends, make_problem, solve_batch
from combopt_core.verify import FEASIBILITY_TOL

BACKENDS = [s.name for s in list_backends() if s.available]


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_equality_rows_follow_the_one_tolerance(backend):
    """``0 . y == beta`` holds exactly when ``|beta| <= FEASIBILITY_TOL``: inside, the
    problem is the box; beyond, it has no point."""
    solver = get_solver(backend)
    c = np.array([[-1.0, 2.0, -0.5]])
    for beta, feasible in ((0.5e-9, True), (-0.5e-9, True), (5e-9, False), (-5e-9, False)):
        assert (abs(beta) <= FEASIBILITY_TOL) == feasible
        p = make_problem(c, np.zeros((0, 3)), np.zeros(0), 0, 1, np.zeros((1, 3)), [beta])
        result = solve_batch(solver, p, workers=1)
        want = Status.OPTIMAL if feasible else Status.INFEASIBLE
        assert result.status[0] == want, (backend, beta, result.messages)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "bruteforce"])
def test_assignment_beyond_enumeration_agrees_with_highs(backend):
    """A 7 x 7 assignment (49 binaries, 14 equality rows, 2^49 points) with a budget row:
    every backend finds HiGHS's optimum, and the point is a permutation."""
    rng = np.random.default_rng(4)
    k = 7
    rows = np.kron(np.eye(k), np.ones(k))  # each row of the matrix sums to 1
    cols = np.kron(np.ones(k), np.eye(k))  # each column sums to 1
    c = rng.uniform(-1, 1, (3, k * k))
    budget = rng.integers(0, 3, (1, k * k)).astype(float)
    p = make_problem(c, budget, [6.0], 0, 1, np.vstack([rows, cols]), np.ones(2 * k))
    got = solve_batch(get_solver(backend), p, workers=1)
    ref = solve_batch(get_solver("highs"), p, workers=1)
    assert got.optimal.all(), got.messages
    np.testing.assert_allclose(got.objective, ref.objective, rtol=1e-9, atol=1e-9)
    square = got.y.reshape(3, k, k)
    assert np.all(square.sum(1) == 1) and np.all(square.sum(2) == 1)
