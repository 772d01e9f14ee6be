"""HiGHS, the default backend: statuses, the fallback point, bounds and parallel batches.

Its reproduction of the paper's Random Constraints labels is checked with every other
backend in ``tests/conformance``.
"""

from __future__ import annotations

import numpy as np
from conftest import rc_files

from combopt_core import Status, get_solver, make_problem, solve, solve_batch


def test_ships_every_random_constraints_file():
    names = {p.stem for p in rc_files()}
    for variant in ("binary", "dense"):
        for m in (1, 2, 4, 8):
            assert {f"{variant}_m{m}_seed{s}" for s in range(5)} <= names


def test_infeasible_instance_is_flagged_not_raised():
    n = 4
    A = np.ones((2, 1, n))
    b = np.array([[-1.0], [2.0]])  # first: sum(y) <= -1 is empty on [0, 1]^n
    result = solve(np.ones((2, n)), A, b, 0, 1)
    assert result.status.tolist() == [Status.INFEASIBLE, Status.OPTIMAL]
    assert result.has_solution.tolist() == [False, True]
    np.testing.assert_array_equal(result.y[0], np.zeros(n))  # the fallback point
    assert np.isnan(result.objective[0])


def test_per_variable_bounds_are_honoured():
    lb = np.array([-3, 0, 2, -1])
    ub = np.array([-1, 4, 2, 5])
    c = np.array([[1.0, -1.0, 1.0, -1.0], [-1.0, 1.0, -1.0, 1.0]])
    result = solve(c, np.zeros((0, 4)), np.zeros(0), lb, ub)
    np.testing.assert_array_equal(result.y, [[-3, 4, 2, 5], [-1, 0, 2, -1]])


def test_fallback_point_is_the_box_point_nearest_zero():
    problem = make_problem(np.ones(3), np.ones((1, 3)), np.array([-100.0]), [1, -4, -2], [3, -2, 2])
    result = solve_batch(get_solver("highs"), problem)
    assert result.infeasible.all()
    np.testing.assert_array_equal(result.y[0], [1, -2, 0])


def test_worker_count_does_not_change_results():
    data = np.load(rc_files()[0])
    args = (data["c_test"][:40], data["A"], data["b"], data["lb"], data["ub"])
    serial = solve(*args, workers=1)
    parallel = solve(*args, workers=2)
    np.testing.assert_array_equal(serial.y, parallel.y)
