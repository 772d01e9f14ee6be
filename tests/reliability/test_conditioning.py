"""Exactness that does not depend on scale (``combopt_core.conditioning``).

Positive scaling of the costs or of a row never changes the optimum; the backend is handed
an exactly scaled copy (powers of two) and extreme data no backend can certify is flagged,
never reported ``OPTIMAL``.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from combopt_core import Solution, SolverError, Status, make_problem, solve
from combopt_core.conditioning import WELL_SCALED, condition, restore

from .helpers import brute_force, skip_unless_fits


def small_problem(rng, B=6, n=4, m=3, lo=-2, hi=2):
    c = rng.normal(size=(B, n))
    A = rng.integers(-3, 4, size=(B, m, n)).astype(float)
    b = rng.integers(0, 6, size=(B, m)).astype(float)
    return c, A, b, lo, hi


def test_scaling_is_exact_and_brings_magnitudes_into_range():
    rng = np.random.default_rng(0)
    c, A, b, lo, hi = small_problem(rng)
    c = c * 10.0 ** rng.integers(-12, 13, size=(len(c), 1))
    A = A * 10.0 ** rng.integers(-9, 13, size=(*A.shape[:2], 1))
    b = b * np.abs(A).max(-1)  # the rows' right-hand sides scale with them
    problem = make_problem(c, A, b, lo, hi)
    cond = condition(problem)
    scaled = cond.problem
    lo_ok, hi_ok = WELL_SCALED
    assert np.all((np.abs(scaled.c).max(-1) >= lo_ok) & (np.abs(scaled.c).max(-1) <= hi_ok))
    rowmax = np.abs(scaled.A).max(-1)
    assert np.all((rowmax >= lo_ok) & (rowmax <= hi_ok) | (rowmax == 0))
    assert np.abs(problem.A).max() > 1e6 and np.abs(problem.c).max() > 1e6  # really scaled
    # powers of two: multiplying back gives the original bits
    np.testing.assert_array_equal(scaled.c * cond.cost_scale[:, None], problem.c)
    row_scale = np.abs(problem.A).max(-1) / rowmax
    assert np.all(np.frexp(row_scale)[0] == 0.5)  # a power of two
    np.testing.assert_array_equal(scaled.A * row_scale[..., None], problem.A)
    np.testing.assert_array_equal(scaled.b * row_scale, problem.b)
    assert cond.extreme == {}


def test_well_scaled_data_reach_the_backend_unchanged():
    rng = np.random.default_rng(1)
    c, A, b, lo, hi = small_problem(rng)
    c = c / np.abs(c).max(-1, keepdims=True) * 3.0  # largest |c| = 3, inside WELL_SCALED
    assert WELL_SCALED[0] <= 3.0 <= WELL_SCALED[1]
    problem = make_problem(c, A, b, lo, hi)
    scaled = condition(problem).problem
    for x, y in ((scaled.c, problem.c), (scaled.A, problem.A), (scaled.b, problem.b)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("power", [-9, -7, -5, 5, 9, 12])
def test_scaled_costs_and_rows_give_the_same_optimum(backend, power):
    """Costs and rows multiplied by ``10^power``: the same objective (in the caller's
    units) as the brute-force optimum of the unscaled problem, and verified feasible."""
    skip_unless_fits(backend, 4, -2, 2)
    rng = np.random.default_rng(2)
    c, A, b, lo, hi = small_problem(rng, B=8)
    s = 10.0**power
    res = solve(c * s, A * s, b * s, lo, hi, solver=backend)
    problem = make_problem(c, A, b, lo, hi)
    for i in range(len(c)):
        want = brute_force(problem.instance(i))
        assert res.status[i] == want.status
        if want.status == Status.OPTIMAL:
            assert res.objective[i] == pytest.approx(want.objective * s, rel=1e-9, abs=0)


def test_tiny_rows_are_not_ignored(backend):
    """``1e-7 (y1 + ... + y4) <= 1e-7``: at most one ``y`` is 1 (HiGHS used to give 4)."""
    res = solve(-np.ones((1, 4)), 1e-7 * np.ones((1, 1, 4)), [[1e-7]], 0, 1, solver=backend)
    assert res.optimal.all() and res.y.sum() == 1


@pytest.mark.parametrize("b", [1e30, -1e30])
def test_far_right_hand_sides_keep_their_meaning(backend, b):
    """A row no point can violate (``b = 1e30``) or satisfy (``b = -1e30``)."""
    c = np.array([[-1.0, 2.0, -0.5]])
    A = np.array([[[1.0, 1.0, 1.0]]])
    res = solve(c, A, [[b]], -5, 5, solver=backend)
    if b > 0:
        assert res.optimal.all() and res.y.tolist() == [[5.0, -5.0, 5.0]]
    else:
        assert res.infeasible.all()


@pytest.mark.parametrize(
    "c, why",
    [
        ([1e308, -1.0, 0.5], "overflows float64"),
        ([2.0**63, -1.0, 0.5], "span more orders of magnitude"),
    ],
)
def test_extreme_costs_are_never_optimal(backend, c, why):
    """Costs whose objective overflows, or whose smallest entry is below the objective's
    rounding: flagged ``Status.ERROR`` naming the reason, or raised."""
    args = (np.array([c]), np.ones((1, 1, 3)), [[1.0]], -5, 5)
    with pytest.warns(RuntimeWarning, match=why):
        res = solve(*args, solver=backend, on_error="flag")
    assert res.failed.all() and not res.has_solution.any() and why in res.messages[0]
    with pytest.raises(SolverError, match=f"cannot certify instance 0: .*{why}"):
        solve(*args, solver=backend, on_error="raise")


@pytest.mark.parametrize(
    "c, A, b, lo, hi, optimum",
    [  # each once made a backend fail, hang or answer wrongly
        ([-1.0, -2.0, 1.0], [1e15] * 3, 2e15, 0, 3, -4.0),  # HiGHS: ERROR
        ([-1.0, -2.0, 1.0], [1e300] * 3, 2e300, 0, 3, -4.0),
        ([-1e20, -2e20, 1e20], [1.0] * 3, 2.0, 0, 3, -4e20),  # SCIP: ERROR
        ([2.0**63, -(2.0**63), 2.0**63], [1.0] * 3, 2.0, -5, 5, -15 * 2.0**63),  # SCIP: hang
        ([1e300, -1e300, 5e299], [1.0] * 3, 1.0, -5, 5, -1.25e301),
        # 1e-12 (y1 + ... + y4) <= 1e-12: at most one y is 1. An absolute 1e-9 tolerance on
        # the row as given would let all four be 1 (every backend did, before the scaling).
        ([-1.0] * 4, [1e-12] * 4, 1e-12, 0, 1, -1.0),
    ],
    ids=["A=1e15", "A=1e300", "c=1e20", "c=2^63", "c=1e300", "row=1e-12"],
)
def test_magnitudes_that_once_broke_backends_solve_exactly(backend, c, A, b, lo, hi, optimum):
    skip_unless_fits(backend, len(c), lo, hi)
    start = time.perf_counter()
    res = solve([c], [[A]], [[b]], lo, hi, solver=backend, time_limit=20)
    assert time.perf_counter() - start < 10, "the solve ignored its time limit"
    assert res.optimal.all(), res.messages
    assert res.objective[0] == pytest.approx(optimum, rel=1e-12, abs=0)


def test_restore_names_the_callers_index_and_maps_objectives_back():
    c = [[1e308, 1.0], [3e-6, -1e-6]]
    problem = make_problem(c, np.zeros((2, 0, 2)), np.zeros((2, 0)), -5, 5)
    cond = condition(problem)
    assert list(cond.extreme) == [0]
    y = np.array([-5.0, 5.0])
    given = [Solution(y, Status.OPTIMAL, 0.0), Solution(y, Status.OPTIMAL, cond.problem.c[1] @ y)]
    out = restore(given, cond, "x", "flag", indices=[7, 9])
    assert out[0].status == Status.ERROR and "instance 7" in out[0].message
    assert out[1].objective == float(problem.c[1] @ y)
