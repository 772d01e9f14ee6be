"""Executors: same answers whatever runs them, backends choose the kind, no worker leaks."""

from __future__ import annotations

import gc
import itertools
import os
import time

import numpy as np
import pytest

from combopt_core import (
    ProcessExecutor,
    SerialExecutor,
    SolverError,
    ThreadExecutor,
    get_solver,
    solve_batch,
)
from combopt_core.executors import (
    chunk_bounds,
    resolve_executor,
    solver_parallelism,
    subproblem,
)

from .perf_helpers import BruteForceSolver, CountingSolver, random_problem


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; read its state where /proc exists.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _wait_dead(pids, timeout=10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return alive


@pytest.mark.parametrize("shared", [True, False])
def test_every_executor_matches_the_serial_reference(shared):
    problem = random_problem(23, 8, 3, shared=shared, seed=1)
    reference = solve_batch(BruteForceSolver(), problem, executor="serial")
    highs = get_solver("highs")
    with ThreadExecutor(3) as threads, ProcessExecutor(2) as processes:
        for executor in (SerialExecutor(), threads, processes):
            got = solve_batch(highs, problem, executor=executor)
            np.testing.assert_array_equal(got.y, reference.y)
            np.testing.assert_array_equal(got.status, reference.status)
            np.testing.assert_allclose(got.objective, reference.objective, rtol=1e-12)


def test_chunks_cover_the_batch_in_order():
    for batch in (1, 2, 7, 37, 128):
        for workers in (1, 2, 3, 16):
            bounds = chunk_bounds(batch, workers)
            assert bounds[0][0] == 0 and bounds[-1][1] == batch
            assert all(a < b for a, b in bounds)
            assert all(b1 == a2 for (_, b1), (a2, _) in itertools.pairwise(bounds))
            assert len(bounds) <= max(1, workers * 4)


def test_subproblem_keeps_shared_constraints_shared():
    p = random_problem(6, 5, 2, shared=True, seed=0)
    sub = subproblem(p, [4, 1])
    assert sub.shared and sub.A is p.A
    np.testing.assert_array_equal(sub.c, p.c[[4, 1]])
    q = random_problem(6, 5, 2, shared=False, seed=0)
    np.testing.assert_array_equal(subproblem(q, slice(2, 4)).A, q.A[2:4])


def test_backends_declare_their_parallelism():
    assert solver_parallelism(get_solver("highs")) == "threads"
    assert solver_parallelism(BruteForceSolver("processes")) == "processes"

    class Legacy:  # a foundation-era backend: only releases_gil
        name = "legacy"
        releases_gil = True

    assert solver_parallelism(Legacy()) == "threads"
    Legacy.releases_gil = False
    assert solver_parallelism(Legacy()) == "serial"
    with pytest.raises(ValueError, match="parallelism 'gpu'"):
        solver_parallelism(BruteForceSolver("gpu"))


def test_auto_executor_follows_the_backend():
    assert isinstance(resolve_executor(None, get_solver("highs"), 2, 8), ThreadExecutor)
    assert isinstance(
        resolve_executor("auto", BruteForceSolver("processes"), 2, 8), ProcessExecutor
    )
    assert isinstance(resolve_executor(None, BruteForceSolver("serial"), 2, 8), SerialExecutor)
    # One worker or one instance: no pool at all.
    assert isinstance(resolve_executor(None, get_solver("highs"), 1, 8), SerialExecutor)
    assert isinstance(resolve_executor(None, get_solver("highs"), 2, 1), SerialExecutor)
    # The shared pools are reused between calls (models per thread survive).
    assert resolve_executor(None, get_solver("highs"), 2, 8) is resolve_executor(
        "threads", BruteForceSolver(), 2, 8
    )


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (0, ValueError, "at least 1"),
        (-3, ValueError, "at least 1"),
        ("2", TypeError, "expected an int"),
        (True, TypeError, "expected an int"),
        (1.5, TypeError, "expected an int"),
    ],
)
def test_bad_worker_counts_are_rejected(bad, error, words):
    p = random_problem(4, 4, 1, shared=True, seed=0)
    with pytest.raises(error, match=f"workers: .*{words}"):
        solve_batch(get_solver("highs"), p, workers=bad)


def test_bad_executor_arguments_are_rejected():
    p = random_problem(4, 4, 1, shared=True, seed=0)
    with pytest.raises(ValueError, match="executor: unknown kind 'gpu'"):
        solve_batch(get_solver("highs"), p, executor="gpu", workers=2)
    with pytest.raises(TypeError, match="executor: expected"):
        solve_batch(get_solver("highs"), p, executor=3)
    with ThreadExecutor(2) as ex, pytest.raises(ValueError, match="workers: set the worker"):
        solve_batch(get_solver("highs"), p, executor=ex, workers=2)
    with pytest.raises(ValueError, match="exactly 1 worker"):
        SerialExecutor(2)


def test_executor_refuses_work_after_close():
    ex = ThreadExecutor(2)
    ex.close()
    with pytest.raises(RuntimeError, match="after close"):
        solve_batch(get_solver("highs"), random_problem(4, 4, 1, shared=True, seed=0), executor=ex)


def test_solve_many_is_called_per_chunk_when_present():
    p = random_problem(20, 6, 2, shared=True, seed=2)
    plain = CountingSolver()
    many = CountingSolver(with_solve_many=True)
    with ThreadExecutor(2) as ex:
        a = solve_batch(plain, p, executor=ex)
        b = solve_batch(many, p, executor=ex)
    assert plain.calls == 20 and plain.chunks == []
    assert (
        many.calls == 0 and sum(many.chunks) == 20 and len(many.chunks) == len(chunk_bounds(20, 2))
    )
    np.testing.assert_array_equal(a.y, b.y)


@pytest.mark.parametrize("kind", ["serial", "threads", "processes"])
def test_a_failing_instance_is_named(kind):
    p = random_problem(12, 5, 2, shared=True, seed=3)
    solver = BruteForceSolver(kind, fail_on=float(p.c[7, 0]))
    with pytest.raises(SolverError, match=r"backend 'brute' failed on instance 7\b.*deliberate"):
        solve_batch(solver, p, workers=2)


def test_unpicklable_solver_cannot_go_to_processes():
    solver = CountingSolver("processes")  # holds a threading.Lock
    with ProcessExecutor(2) as ex, pytest.raises(TypeError, match="solver: .*does not pickle"):
        solve_batch(solver, random_problem(4, 4, 1, shared=True, seed=0), executor=ex)


def _worker_pids(p, executor) -> list[int]:
    result = solve_batch(BruteForceSolver("processes"), p, executor=executor)
    return sorted({int(m.split()[1]) for m in result.messages})


def test_process_pool_runs_in_workers_and_close_ends_them():
    p = random_problem(16, 6, 2, shared=False, seed=4)
    ex = ProcessExecutor(2)
    pids = _worker_pids(p, ex)
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    assert _worker_pids(p, ex) == pids or set(_worker_pids(p, ex)) <= set(pids)  # pool reused
    ex.close()
    assert _wait_dead(pids) == []
    ex.close()  # idempotent


def test_process_pool_ends_when_its_executor_is_collected():
    p = random_problem(8, 5, 2, shared=True, seed=5)
    ex = ProcessExecutor(2)
    pids = _worker_pids(p, ex)
    del ex
    gc.collect()
    assert _wait_dead(pids) == []
