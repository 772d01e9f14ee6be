"""Equality rows ``A_eq y == b_eq`` on every core path: verification, warm starts, the
box-minimum skip, enumeration, the solution pool, cache and memory keys, conditioning,
limits, and the lowering to ``<=`` rows for backends that do not declare support."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from combopt_core import (
    SolutionCache,
    SolutionMemory,
    SolverError,
    Status,
    get_solver,
    make_problem,
    solve_batch,
)
from combopt_core.cache import SolutionPool, instance_keys
from combopt_core.certificates import box_minimum_answers, check_starts
from combopt_core.conditioning import CLIP_RHS, condition
from combopt_core.enumeration import feasible_points, solve_by_enumeration
from combopt_core.limits import BackendLimits
from combopt_core.memory import instance_digests
from combopt_core.result import Proof, Solution
from combopt_core.spec import lower_equalities
from combopt_core.verify import FEASIBILITY_TOL, find_violations

ONE_OF_THREE = np.array([[1.0, 1.0, 1.0, 0.0]])  # y0 + y1 + y2 == 1 over binaries


def problem(c, b_eq=1.0, **kw):
    return make_problem(c, np.zeros((0, 4)), np.zeros(0), 0, 1, ONE_OF_THREE, [b_eq], **kw)


class Recording:
    """A backend written before equality rows: records what it is asked, answers by
    enumeration of the ``<=`` rows it sees (so it only answers right if it was lowered)."""

    name = "recording"
    releases_gil = False

    def __init__(self):
        self.seen = []

    def solve(self, instance, time_limit=None):
        self.seen.append(instance)
        from combopt_bruteforce.enumerate import enumerate_optima

        found = enumerate_optima(dataclasses.replace(instance, A_eq=None, b_eq=None))
        if found.optimal.shape[0] == 0:
            return Solution(None, Status.INFEASIBLE)
        y = found.optimal[0]
        return Solution(y, Status.OPTIMAL, float(instance.c @ y))


def test_backend_without_support_gets_both_halves():
    rec = Recording()
    c = np.array([[-1.0, -2.0, -3.0, -1.0], [1.0, 2.0, 3.0, -1.0]])
    result = solve_batch(rec, problem(c))
    assert all(inst.num_equalities == 0 and inst.num_constraints == 2 for inst in rec.seen)
    np.testing.assert_array_equal(rec.seen[0].A, np.vstack([ONE_OF_THREE, -ONE_OF_THREE]))
    np.testing.assert_array_equal(result.y, [[0, 0, 1, 1], [1, 0, 0, 1]])


def test_verification_catches_a_point_off_an_equality():
    class Wrong(Recording):
        supports_equalities = True  # claims support, then ignores the rows

    with pytest.raises(SolverError, match="violates equality 0 of A_eq y == b_eq"):
        solve_batch(Wrong(), problem(np.array([[-1.0, -1.0, -1.0, 0.0]])))
    y = np.array([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    found = find_violations(problem(np.zeros((2, 4))), y, np.ones(2, dtype=bool))
    assert [i for i, _ in found] == [0]
    # Satisfied within the library's one tolerance, on both sides of b_eq; not beyond it.
    for offset, flagged in ((0.5, False), (-0.5, False), (3.0, True), (-3.0, True)):
        p = problem(np.zeros((1, 4)), b_eq=1.0 + offset * FEASIBILITY_TOL)
        assert bool(find_violations(p, y[1:], np.ones(1, dtype=bool))) == flagged, offset


def test_warm_starts_and_box_minimum_respect_equalities():
    p = problem(np.array([[1.0, 1.0, 1.0, 1.0], [-1.0, 1.0, 1.0, 1.0]]))
    # The box minimiser of row 0 (all zeros) misses the equality; row 1's (1, 0, 0, 0) meets it.
    assert set(box_minimum_answers(p, np.arange(2))) == {1}
    starts = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    usable, rejected = check_starts(p, starts, np.arange(2))
    assert usable.tolist() == [False, True] and rejected == {"violates A_eq y == b_eq": 1}


def test_enumeration_filters_by_equalities():
    points = feasible_points(np.zeros((0, 4)), np.zeros(0), np.zeros(4), np.ones(4),
                             ONE_OF_THREE, np.ones(1))  # fmt: skip
    assert len(points) == 6 and np.all(points[:, :3].sum(1) == 1)
    c = np.random.default_rng(0).normal(size=(5, 4))
    enumerated = solve_by_enumeration(problem(c), np.arange(5))
    solved = solve_batch(get_solver("highs"), problem(c))
    np.testing.assert_array_equal([s.y for s in enumerated], solved.y)
    assert all(s.proven_by == Proof.ENUMERATION for s in enumerated)
    out_of_reach = solve_by_enumeration(problem(c, b_eq=4.0), np.arange(2))
    assert all(s.status == Status.INFEASIBLE for s in out_of_reach)


def test_cache_and_memory_keys_include_the_equalities():
    c = np.ones((1, 4))
    keys = [instance_keys(problem(c, b_eq=v), "highs")[0] for v in (1.0, 2.0)]
    assert keys[0] != keys[1]
    no_eq = make_problem(c, np.zeros((0, 4)), np.zeros(0), 0, 1)
    assert instance_keys(no_eq, "highs")[0] not in keys
    assert instance_digests(problem(c, b_eq=1.0)) != instance_digests(problem(c, b_eq=2.0))
    cache, memory = SolutionCache(), SolutionMemory()
    solver = get_solver("highs")
    first = solve_batch(solver, problem(-c, b_eq=1.0), cache=cache, memory=memory)
    second = solve_batch(solver, problem(-c, b_eq=2.0), cache=cache, memory=memory)
    assert first.y[0, :3].sum() == 1 and second.y[0, :3].sum() == 2  # no stale hit
    assert cache.hits == 0 and memory.unchanged == 0
    again = solve_batch(solver, problem(-c, b_eq=2.0), cache=cache)
    assert cache.hits == 1 and again.proof[0] == Proof.UNCHANGED


def test_solution_pool_answers_only_with_points_on_the_equalities():
    pool = SolutionPool(solve_ratio=0.0, seed=0)
    pool.add(np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]]))
    answers = pool.answer(problem(np.array([[1.0, 1.0, 1.0, 1.0]])), np.arange(1))
    np.testing.assert_array_equal(answers[0].y, [0.0, 1.0, 0.0, 1.0])
    assert pool.answer(problem(np.ones((1, 4)), b_eq=3.0), np.arange(1)) == {}


def test_conditioning_scales_equality_rows_exactly_and_clips_unreachable_sides():
    A_eq = np.array([[1e-6, 2e-6, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    b_eq = np.array([1e-6, 4.0 * CLIP_RHS, -1e300])
    p = make_problem(np.ones(4), np.zeros((0, 4)), np.zeros(0), 0, 1, A_eq, b_eq)
    scaled = condition(p).problem
    scale = 2.0 ** np.floor(np.log2(2e-6))  # the power of two bringing 2e-6 into [1, 2)
    np.testing.assert_array_equal(scaled.A_eq[0], A_eq[0] / scale)
    assert scaled.b_eq[0] == b_eq[0] / scale
    np.testing.assert_array_equal(scaled.b_eq[1:], [5.0, -3.0])  # sign (2 R + 1)
    points = feasible_points(scaled.A, scaled.b, p.lb, p.ub, scaled.A_eq, scaled.b_eq)
    assert points.shape[0] == 0  # rows 1 and 2 have no point before or after
    well = problem(np.ones((1, 4)))
    assert condition(well).problem.A_eq is not None
    np.testing.assert_array_equal(condition(well).problem.A_eq, well.A_eq)


def test_limits_count_equality_rows_and_their_data():
    inst = problem(np.ones(4), b_eq=1.0).instance(0)
    assert BackendLimits(max_size=4).refuses(inst) is None
    rows = make_problem(np.ones(4), np.eye(4), np.ones(4), 0, 1, ONE_OF_THREE, [1.0])
    assert "m=5" in BackendLimits(max_size=4).refuses(rows.instance(0))
    half = problem(np.ones(4), b_eq=0.5).instance(0)
    assert "b_eq is not integral" in BackendLimits(integer_data=True).refuses(half)


def test_lowering_keeps_the_layout_and_the_feasible_set():
    c = np.random.default_rng(1).normal(size=(3, 4))
    per = make_problem(c, np.zeros((3, 1, 4)), np.ones((3, 1)), 0, 1,
                       np.repeat(ONE_OF_THREE[None], 3, 0), np.ones((3, 1)))  # fmt: skip
    low = lower_equalities(per)
    assert low.A.shape == (3, 3, 4) and low.A_eq.shape == (3, 0, 4) and not low.shared
    for i in range(3):
        a, b = per.instance(i), low.instance(i)
        np.testing.assert_array_equal(
            feasible_points(a.A, a.b, a.lb, a.ub, a.A_eq, a.b_eq),
            feasible_points(b.A, b.b, b.lb, b.ub),
        )


def test_solve_takes_equality_rows_as_arguments():
    from combopt_core import solve

    c = [[-1.0, -2.0, -3.0, -1.0]]
    without = solve(c, np.zeros((0, 4)), np.zeros(0), 0, 1, solver="highs")
    np.testing.assert_array_equal(without.y, [[1, 1, 1, 1]])
    with_rows = solve(c, np.zeros((0, 4)), np.zeros(0), 0, 1, solver="highs",
                      A_eq=ONE_OF_THREE, b_eq=[1.0])  # fmt: skip
    np.testing.assert_array_equal(with_rows.y, [[0, 0, 1, 1]])
