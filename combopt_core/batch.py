"""Solving a batch: one backend call per instance, in parallel across instances.

Backends that release the GIL (``solver.releases_gil``) run on a shared thread pool of
``workers`` threads; others run in the calling thread. Results are the same whatever the
worker count: each instance is solved single-threaded and independently.

Failure semantics: when ``solve_batch`` returns or raises, none of its solves is still
running (on an exception or Ctrl-C the batch's queued instances are cancelled and the
running ones awaited). A forked child process starts with no pools (the parent's threads do
not exist there).
"""

from __future__ import annotations

import os
import threading
import warnings
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, Callable

import numpy as np

from .errors import SolverError
from .registry import get_solver
from .result import BatchSolution, Solution, Status
from .solver import ILPSolver
from .spec import ILPProblem, check_time_limit, make_problem
from .verify import check_returned, verify_batch

ON_ERROR = ("raise", "flag")

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
    """After ``fork`` the parent's pool threads are gone: start from no pools."""
    global _POOLS_LOCK
    _POOLS.clear()
    _POOLS_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pools_in_child)


def _map_all(pool: ThreadPoolExecutor, run: Callable[[int], Solution], count: int) -> list:
    """``[run(i) for i in range(count)]`` on ``pool``; nothing left running on return.

    On the first exception (or a ``KeyboardInterrupt`` while waiting) the instances not yet
    started are cancelled and the running ones awaited before the exception propagates.
    """
    futures = [pool.submit(run, i) for i in range(count)]
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
    finally:
        for future in futures:
            future.cancel()
        wait(futures)
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()
    return [future.result() for future in futures]


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
        on_error: what a backend failure on one instance does (an exception, or a returned
            ``Status.ERROR``): ``"raise"`` a ``SolverError``; ``"flag"`` it as
            ``Status.ERROR`` with the fallback point and a ``RuntimeWarning``, and solve the
            rest. Time-outs never raise: see ``Status.TIME_LIMIT``.

    Raises:
        SolverError: naming the backend and the instance, when the backend fails (with
            ``on_error="raise"``) or returns a malformed answer, or (with ``verify``) a point
            that is not a feasible integer point.
    """
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")
    time_limit = check_time_limit(time_limit)
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: expected one of {ON_ERROR}, got {on_error!r}")

    def run(i: int) -> Solution:
        try:
            solution = solver.solve(problem.instance(i), time_limit=time_limit)
        except Exception as exc:  # noqa: BLE001 - raised or flagged with the instance named
            if on_error == "raise":
                what = f"backend '{solver.name}' failed on instance {i}: {exc!r}"
                raise SolverError(what) from exc
            solution = Solution(None, Status.ERROR, message=repr(exc))
        check_returned(solution, problem.num_vars, solver.name, i)
        if solution.status == Status.ERROR:
            what = f"backend '{solver.name}' failed on instance {i}: {solution.message}"
            if on_error == "raise":
                raise SolverError(what)
            return Solution(None, Status.ERROR, solve_time=solution.solve_time, message=what)
        return solution

    if workers > 1 and problem.batch_size > 1 and getattr(solver, "releases_gil", False):
        solutions = _map_all(_pool(workers), run, problem.batch_size)
    else:
        solutions = [run(i) for i in range(problem.batch_size)]
    result = BatchSolution.stack(solutions, problem.fallback_point())
    failed = np.flatnonzero(result.failed)
    if failed.size:
        warnings.warn(
            f"{failed.size} instance(s) flagged Status.ERROR; first: {result.messages[failed[0]]}",
            RuntimeWarning,
            stacklevel=2,
        )
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
