"""Solution cache (exact, bounded) and solution pool (solve_ratio)."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import (
    ILPProblem,
    Solution,
    SolutionCache,
    SolutionPool,
    Status,
    get_solver,
    make_problem,
    solve_batch,
)
from combopt_core.cache import POOL_MESSAGE, instance_keys

from .perf_helpers import BruteForceSolver, CountingSolver, random_problem


def test_cache_answers_repeated_instances_without_solving():
    p = random_problem(10, 7, 3, shared=True, seed=0)
    solver = CountingSolver("serial")
    cache = SolutionCache(maxsize=100)
    first = solve_batch(solver, p, cache=cache)
    second = solve_batch(solver, p, cache=cache)
    assert solver.calls == 10
    assert (cache.hits, cache.misses, len(cache)) == (10, 10, 10)
    np.testing.assert_array_equal(first.y, second.y)
    np.testing.assert_array_equal(second.status, first.status)
    assert np.all(second.solve_time == 0)


def test_cache_mixes_hits_and_misses_in_one_batch():
    p = random_problem(8, 7, 3, shared=False, seed=1)
    solver = CountingSolver("serial")
    cache = SolutionCache()
    solve_batch(solver, ILPProblem(p.c[:4], p.A[:4], p.b[:4], p.lb, p.ub, False), cache=cache)
    got = solve_batch(solver, p, cache=cache)
    assert solver.calls == 8  # 4, then only the 4 new ones
    np.testing.assert_array_equal(got.y, solve_batch(BruteForceSolver(), p).y)


def _keys(c, A, b, lb=0.0, ub=1.0, backend="highs"):
    return instance_keys(make_problem(c, A, b, lb, ub), backend)[0]


def test_keys_differ_for_any_change_of_the_instance():
    rng = np.random.default_rng(2)
    c, A, b = rng.uniform(-1, 1, 5), rng.uniform(-1, 1, (2, 5)), rng.uniform(0, 1, 2)
    base = _keys(c, A, b)
    assert base == _keys(c.copy(), A.copy(), b.copy())
    bump = np.nextafter(1.0, 2.0) - 1.0  # one ulp at 1
    for changed in (
        _keys(c + np.eye(5)[0] * bump, A, b),
        _keys(c, A + bump, b),
        _keys(c, A, b + bump),
        _keys(c, A, b, lb=-1.0),
        _keys(c, A, b, ub=2.0),
        _keys(c, A, b, backend="gurobi"),
        _keys(np.append(c, 0.0), np.c_[A, np.zeros(2)], b),
    ):
        assert changed != base
    # Shared and per-instance layouts of the same instance agree.
    assert base == instance_keys(make_problem(c[None], A[None], b[None]), "highs")[0]


def test_cache_is_bounded_lru():
    cache = SolutionCache(maxsize=2)
    sol = Solution(np.zeros(3), Status.OPTIMAL, 0.0)
    cache.put(b"a", sol)
    cache.put(b"b", sol)
    assert cache.get(b"a") is not None  # a is now the most recent
    cache.put(b"c", sol)
    assert len(cache) == 2 and cache.get(b"b") is None and cache.get(b"a") is not None


def test_cache_keeps_only_proven_answers():
    cache = SolutionCache()
    cache.put(b"t", Solution(np.zeros(2), Status.TIME_LIMIT, 0.0))
    cache.put(b"e", Solution(None, Status.ERROR))
    cache.put(b"i", Solution(None, Status.INFEASIBLE))
    assert cache.get(b"t") is None and cache.get(b"e") is None
    assert cache.get(b"i").status == Status.INFEASIBLE


def test_cached_points_are_copies():
    cache = SolutionCache()
    y = np.ones(3)
    cache.put(b"k", Solution(y, Status.OPTIMAL, 0.0))
    y[:] = 5
    got = cache.get(b"k")
    got.y[:] = 7
    np.testing.assert_array_equal(cache.get(b"k").y, np.ones(3))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_cache_size_is_validated(bad):
    with pytest.raises(ValueError, match="maxsize"):
        SolutionCache(maxsize=bad)


def test_pool_with_ratio_one_always_solves():
    p = random_problem(12, 7, 3, shared=True, seed=3)
    pool = SolutionPool(solve_ratio=1.0, seed=0)
    for _ in range(2):
        got = solve_batch(get_solver("highs"), p, pool=pool)
    assert pool.pooled == 0 and pool.solved == 24
    assert np.all(got.status == Status.OPTIMAL)


def test_pool_answers_with_the_best_feasible_pooled_point():
    p = random_problem(30, 7, 3, shared=True, seed=4)
    pool = SolutionPool(solve_ratio=0.0, seed=0)
    rng = np.random.default_rng(0)
    candidates = rng.integers(0, 2, (40, 7)).astype(float)
    pool.add(candidates)
    got = solve_batch(BruteForceSolver(), p, pool=pool)
    feasible = np.all(candidates @ p.A.T <= p.b + 1e-9, axis=1)
    assert feasible.any() and not feasible.all()
    for i in range(p.batch_size):
        assert got.status[i] == Status.TIME_LIMIT and got.messages[i] == POOL_MESSAGE
        best = np.min(np.where(feasible, candidates @ p.c[i], np.inf))
        assert got.objective[i] == pytest.approx(best)
        assert np.all(p.A @ got.y[i] <= p.b + 1e-9)


def test_pool_solves_when_no_pooled_point_is_feasible_for_new_constraints():
    p = random_problem(6, 6, 2, shared=True, seed=5)
    pool = SolutionPool(solve_ratio=0.0, seed=0)
    pool.add(np.ones((1, 6)))
    tight = make_problem(p.c, np.ones((1, 6)), np.array([2.0]))  # sum(y) <= 2: ones infeasible
    got = solve_batch(BruteForceSolver(), tight, pool=pool)
    assert np.all(got.status == Status.OPTIMAL) and pool.pooled == 0 and pool.solved == 6
    assert len(pool) > 1  # the solved points joined the pool


def test_pool_ratio_sets_the_fraction_solved():
    p = random_problem(400, 6, 2, shared=True, seed=6)
    pool = SolutionPool(solve_ratio=0.25, seed=1)
    pool.add(solve_batch(BruteForceSolver(), p).y)  # every answer is available
    solve_batch(BruteForceSolver(), p, pool=pool)
    assert 0.18 < pool.solved / 400 < 0.32


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"solve_ratio": 1.5}, "solve_ratio"),
        ({"solve_ratio": -0.1}, "solve_ratio"),
        ({"solve_ratio": 0.5, "max_size": 0}, "max_size"),
    ],
)
def test_pool_arguments_are_validated(kwargs, words):
    with pytest.raises(ValueError, match=words):
        SolutionPool(**kwargs)


def test_pool_is_bounded():
    pool = SolutionPool(0.5, max_size=3)
    pool.add(np.eye(5))
    assert len(pool) == 3
    np.testing.assert_array_equal(pool.points, np.eye(5)[2:])
