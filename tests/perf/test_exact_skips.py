"""Exact skips: enumeration of a shared feasible set, the box-minimum certificate, the
per-sample memory and warm starts. Every skipped answer must have the cold solve's objective
and carry its proof."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from combopt_core import (
    ILPProblem,
    Proof,
    Solution,
    SolutionCache,
    SolutionMemory,
    Status,
    make_problem,
    solve_batch,
)
from combopt_core.certificates import box_minimizers, check_starts
from combopt_core.enumeration import (
    AUTO_MAX_POINTS,
    feasible_points,
    solve_by_enumeration,
    worth_enumerating,
)
from perf.perf_helpers import CountingSolver, random_problem


class StartRecorder(CountingSolver):
    """Counts solves and records the warm start each instance arrived with."""

    def __init__(self) -> None:
        super().__init__("serial")
        self.starts: list[np.ndarray | None] = []

    def solve(self, instance, time_limit=None):
        self.starts.append(None if instance.start is None else instance.start.copy())
        return super().solve(instance, time_limit)


def cold(problem: ILPProblem):
    return solve_batch(CountingSolver("serial"), problem)


@pytest.mark.parametrize("box", [(0, 1), (-2, 2)])
@pytest.mark.parametrize("seed", range(6))
def test_enumeration_matches_cold_solves_point_for_point(box, seed):
    n = 8 if box == (0, 1) else 5
    p = random_problem(40, n, 3, shared=True, seed=seed, box=box)
    reference = cold(p)
    got = solve_batch(CountingSolver("serial"), p, enumeration="always")
    np.testing.assert_array_equal(got.status, reference.status)
    np.testing.assert_allclose(got.objective, reference.objective, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(got.y, reference.y)  # continuous costs: one optimum
    assert (got.proof[got.optimal] == Proof.ENUMERATION).all()


def test_enumeration_lists_exactly_the_feasible_points():
    rng = np.random.default_rng(3)
    A, b = rng.normal(size=(3, 4)), rng.normal(size=3) + 1.0
    lb, ub = np.full(4, -1.0), np.full(4, 2.0)
    grid = np.stack(np.meshgrid(*[np.arange(-1, 3)] * 4, indexing="ij"), -1).reshape(-1, 4)
    expected = grid[np.all(grid @ A.T <= b + 1e-9 * np.maximum(1, np.abs(b)), axis=1)]
    np.testing.assert_array_equal(feasible_points(A, b, lb, ub), expected)


def test_enumeration_of_an_empty_feasible_set_proves_infeasibility():
    p = make_problem(np.ones((3, 4)), np.ones((1, 4)), np.array([-1.0]), 0, 1)
    got = solve_batch(CountingSolver("serial"), p, enumeration="always")
    assert (got.status == Status.INFEASIBLE).all()
    assert (got.proof == Proof.ENUMERATION).all()
    assert not got.has_solution.any()


def test_enumeration_ties_pick_the_lexicographically_smallest_optimum():
    # min -(y0 + y1) s.t. y0 + y1 <= 1: optima (0, 1) and (1, 0); the first in order is (0, 1).
    p = make_problem(np.array([[-1.0, -1.0]]), np.array([[1.0, 1.0]]), np.array([1.0]), 0, 1)
    (answer,) = solve_by_enumeration(p, np.array([0]))
    np.testing.assert_array_equal(answer.y, [0.0, 1.0])
    assert answer.objective == -1.0


def test_auto_enumerates_small_shared_boxes_only():
    shared = random_problem(8, 16, 4, shared=True, seed=0)
    assert worth_enumerating(shared, "auto", 8)
    assert not worth_enumerating(random_problem(8, 16, 4, shared=False, seed=0), "auto", 8)
    big = random_problem(8, 21, 4, shared=True, seed=0)  # 2^21 points
    assert 2**21 > AUTO_MAX_POINTS and not worth_enumerating(big, "auto", 8)
    assert not worth_enumerating(shared, "never", 8)
    with pytest.raises(ValueError, match="enumeration"):
        solve_batch(CountingSolver(), shared, enumeration="sometimes")


def test_auto_answers_shared_binary_batches_without_the_backend():
    p = random_problem(64, 12, 4, shared=True, seed=1)
    solver = CountingSolver("serial")
    got = solve_batch(solver, p, enumeration="auto")
    assert solver.calls == 0
    np.testing.assert_allclose(got.objective, cold(p).objective, rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_box_minimum_skips_are_exact_and_only_when_feasible(seed):
    rng = np.random.default_rng(seed)
    # Loose constraints: the box minimiser is often feasible; tight ones: rarely.
    p = random_problem(60, 6, 2, shared=False, seed=seed, box=(-2, 2))
    p = make_problem(p.c, p.A, p.b + rng.uniform(0, 4, p.b.shape), -2, 2)
    solver = CountingSolver("serial")
    got = solve_batch(solver, p, skip=True)
    reference = cold(p)
    skipped = got.proof == Proof.BOX_MINIMUM
    assert 0 < skipped.sum() < 60
    assert solver.calls == 60 - skipped.sum()
    np.testing.assert_allclose(got.objective, reference.objective, rtol=1e-12)
    np.testing.assert_array_equal(got.y[skipped], box_minimizers(p.c, p.lb, p.ub)[skipped])


def test_box_minimizer_takes_the_bound_nearest_zero_for_zero_costs():
    lb, ub = np.array([-2.0, 1.0, -3.0]), np.array([2.0, 4.0, -1.0])
    got = box_minimizers(np.array([[0.0, 0.0, 0.0], [1.0, -1.0, 1.0]]), lb, ub)
    np.testing.assert_array_equal(got, [[0.0, 1.0, -1.0], [-2.0, 4.0, -3.0]])


def test_memory_skips_unchanged_instances_with_their_proof():
    p = random_problem(10, 6, 3, shared=False, seed=2)
    memory = SolutionMemory()
    solver = CountingSolver("serial")
    first = solve_batch(solver, p, memory=memory, ids=range(10))
    again = solve_batch(solver, p, memory=memory, ids=list(range(10)))
    assert solver.calls == 10
    assert (again.proof == Proof.UNCHANGED).all()
    np.testing.assert_array_equal(again.y, first.y)
    assert memory.unchanged == 10


def test_memory_offers_checked_warm_starts_when_constraints_move():
    p = random_problem(30, 6, 3, shared=True, seed=4)
    memory = SolutionMemory()
    solve_batch(CountingSolver("serial"), p, memory=memory, ids=np.arange(30))
    moved = make_problem(p.c, p.A + 0.01, p.b, p.lb, p.ub)
    solver = StartRecorder()
    got = solve_batch(solver, moved, memory=memory, ids=np.arange(30))
    np.testing.assert_allclose(got.objective, cold(moved).objective, rtol=1e-12)
    given = [s for s in solver.starts if s is not None]
    assert 0 < len(given) == got.started.sum()
    for s in given:  # every start the backend saw is a feasible point of the moved instance
        assert np.all(moved.A @ s <= moved.b + 1e-9)


def test_a_reused_id_for_another_instance_never_gives_a_wrong_answer():
    p = random_problem(20, 6, 3, shared=False, seed=5)
    other = random_problem(20, 6, 3, shared=False, seed=6)
    memory = SolutionMemory()
    solve_batch(CountingSolver("serial"), p, memory=memory, ids=range(20))
    got = solve_batch(CountingSolver("serial"), other, memory=memory, ids=range(20))
    np.testing.assert_allclose(got.objective, cold(other).objective, rtol=1e-12)
    assert not (got.proof == Proof.UNCHANGED).any()


def test_memory_without_ids_keys_samples_by_their_cost_vector():
    p = random_problem(6, 5, 2, shared=True, seed=7)
    memory = SolutionMemory()
    solve_batch(CountingSolver("serial"), p, memory=memory)
    reordered = make_problem(p.c[::-1], p.A, p.b, p.lb, p.ub)
    got = solve_batch(CountingSolver("serial"), reordered, memory=memory)
    assert (got.proof == Proof.UNCHANGED).all()


def test_user_starts_are_checked_and_bad_ones_ignored_with_a_counted_warning():
    p = random_problem(4, 5, 2, shared=True, seed=8)
    good = cold(p).y
    starts = good.copy()
    starts[1] = 0.5  # not integral
    starts[2] = 7.0  # outside the box
    starts[3] = np.nan  # no start for this row
    solver = StartRecorder()
    with pytest.warns(RuntimeWarning, match=r"2 warm start\(s\) ignored.*not integral"):
        got = solve_batch(solver, p, start=starts)
    np.testing.assert_array_equal(got.started, [True, False, False, False])
    np.testing.assert_array_equal(solver.starts[0], good[0])
    assert all(s is None for s in solver.starts[1:])


def test_an_infeasible_start_is_never_handed_to_the_backend():
    p = make_problem(np.ones((1, 3)), np.ones((1, 3)), np.array([1.0]), 0, 1)
    solver = StartRecorder()
    with pytest.warns(RuntimeWarning, match="violates A y <= b"):
        got = solve_batch(solver, p, start=np.ones(3))
    assert solver.starts == [None] and not got.started.any()


def test_starts_of_the_wrong_shape_are_an_error_naming_start():
    p = random_problem(4, 5, 2, shared=True, seed=8)
    with pytest.raises(ValueError, match=r"start: expected shape \(4, 5\)"):
        solve_batch(CountingSolver(), p, start=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="ids: only used with a memory"):
        solve_batch(CountingSolver(), p, ids=range(4))
    with pytest.raises(ValueError, match="ids: expected 4 ids"):
        solve_batch(CountingSolver(), p, memory=SolutionMemory(), ids=range(3))


def test_check_starts_counts_each_reason():
    p = make_problem(np.ones((4, 2)), np.array([[1.0, 1.0]]), np.array([1.0]), 0, 1)
    starts = np.array([[1.0, 0.0], [1.0, 1.0], [0.2, 0.0], [np.inf, 0.0]])
    usable, rejected = check_starts(p, starts, np.arange(4))
    np.testing.assert_array_equal(usable, [True, False, False, False])
    assert rejected == {"violates A y <= b": 1, "not integral": 1, "not finite": 1}


def test_memory_pickles_with_its_answers():
    import pickle

    p = random_problem(3, 4, 2, shared=True, seed=9)
    memory = SolutionMemory()
    solve_batch(CountingSolver("serial"), p, memory=memory)
    copy = pickle.loads(pickle.dumps(memory))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = solve_batch(CountingSolver("serial"), p, memory=copy)
    assert (got.proof == Proof.UNCHANGED).all()


class WrongPointSolver(CountingSolver):
    """Calls the top corner of the box optimal: it violates the test problem's row."""

    def solve(self, instance, time_limit=None):
        super().solve(instance, time_limit)
        y = instance.ub.copy()
        return Solution(y, Status.OPTIMAL, float(instance.c @ y))


def test_answers_that_fail_verification_are_never_remembered():
    p = make_problem(-np.ones((2, 3)), np.ones((1, 3)), np.array([1.0]), 0, 1)
    memory, cache = SolutionMemory(), SolutionCache()
    with pytest.warns(RuntimeWarning):
        first = solve_batch(
            WrongPointSolver("serial"), p, memory=memory, cache=cache, on_error="flag"
        )
    assert first.failed.all()
    assert len(memory) == 0 and len(cache) == 0
