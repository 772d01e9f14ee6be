"""Solving a batch: one backend call per instance, in parallel across instances.

Backends that release the GIL (``solver.releases_gil``) run on a shared thread pool of
``workers`` threads; others run in the calling thread. Results are the same whatever the
worker count: each instance is solved single-threaded and independently.

Failure semantics (``combopt_core.failures``): when ``solve_batch`` returns or raises, none
of its solves is still running; a failing instance is named, and raised or flagged
(``on_error``). A forked child process starts with no pools (the parent's threads do not
exist there, and using their pool would hang).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .failures import check_on_error, run_all, solve_one, warn_failed
from .registry import get_solver
from .result import BatchSolution, Solution
from .solver import ILPSolver
from .spec import ILPProblem, check_time_limit, make_problem
from .verify import verify_batch

_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()


def default_workers() -> int:
    """The machine's core count (at least 1)."""
    return max(1, os.cpu_count() or 1)


def _pool(workers: int) -> ThreadPoolExecutor:
    with _POOLS_LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="combopt-solve")
            _POOLS[workers] = pool
        return pool


def _forget_pools_in_child() -> None:
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


def solve_batch(
    solver: ILPSolver,
    problem: ILPProblem,
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
    on_error: str = "raise",
) -> BatchSolution:
    """Solve every instance of ``problem`` with ``solver``.

    Args:
        solver: any ``ILPSolver``.
        problem: a validated batch (see ``make_problem``).
        workers: threads for GIL-releasing backends; default the machine's core count.
        time_limit: seconds per instance, ``None`` for none.
        verify: check every returned point against the float problem (cheap, O(B m n)).
        on_error: a backend failure on one instance (it raises or returns
            ``Status.ERROR``) ``"raise"``-s a ``SolverError``, or is ``"flag"``-ged as
            ``Status.ERROR`` with the fallback point and a ``RuntimeWarning`` while the
            rest is solved. Time-outs never raise: see ``Status.TIME_LIMIT``.

    Raises:
        SolverError: naming the backend and the instance, when the backend fails (with
            ``on_error="raise"``) or returns a malformed answer, or (with ``verify``) a point
            that is not a feasible integer point.
    """
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")
    time_limit = check_time_limit(time_limit)
    check_on_error(on_error)

    def run(i: int) -> Solution:
        return solve_one(solver, problem.instance(i), i, time_limit, on_error)

    if workers > 1 and problem.batch_size > 1 and getattr(solver, "releases_gil", False):
        solutions = run_all(_pool(workers), run, problem.batch_size)
    else:
        solutions = [run(i) for i in range(problem.batch_size)]
    result = BatchSolution.stack(solutions, problem.fallback_point())
    warn_failed(result)
    if verify:
        verify_batch(problem, result, solver.name)
    return result


def solve(
    c: Any,
    A: Any,
    b: Any,
    lb: Any = 0.0,
    ub: Any = 1.0,
    *,
    solver: ILPSolver | str | None = None,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
    on_error: str = "raise",
) -> BatchSolution:
    """Validate and solve ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` for a batch.

    ``solver`` is an ``ILPSolver`` or a backend name; ``None`` selects by
    ``$COMBOPT_SOLVER``, else HiGHS. Shapes and the rest as in ``make_problem`` and
    ``solve_batch``.
    """
    if not hasattr(solver, "solve"):
        solver = get_solver(solver)
    return solve_batch(
        solver,
        make_problem(c, A, b, lb, ub),
        workers=workers,
        time_limit=time_limit,
        verify=verify,
        on_error=on_error,
    )
