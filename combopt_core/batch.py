"""Solving a batch: one backend call per instance, spread over an executor.

``solve_batch`` picks where instances run from what the backend declares (a thread pool for
``parallelism = "threads"`` / ``releases_gil``, a process pool for ``"processes"``, else the
calling thread; see ``combopt_core.executors``) unless an executor is given, answers what it
can from an opt-in ``SolutionCache`` or ``SolutionPool`` (``combopt_core.cache``), solves the
rest, and verifies every returned point. Results are the same whatever the worker count:
each instance is solved single-threaded and independently.

Failure semantics (``combopt_core.failures``): when ``solve_batch`` returns or raises, none
of its solves is still running; a failing instance is named, and raised or flagged
(``on_error``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cache import SolutionCache, SolutionPool, instance_keys
from .executors import Executor, default_workers, resolve_executor, subproblem
from .failures import check_on_error, warn_failed
from .registry import get_solver
from .result import BatchSolution, Solution
from .solver import ILPSolver
from .spec import ILPProblem, check_time_limit, make_problem
from .verify import verify_batch

__all__ = ["default_workers", "solve", "solve_batch"]


def solve_batch(
    solver: ILPSolver,
    problem: ILPProblem,
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
    on_error: str = "raise",
    executor: Executor | str | None = None,
    cache: SolutionCache | None = None,
    pool: SolutionPool | None = None,
) -> BatchSolution:
    """Solve every instance of ``problem`` with ``solver``.

    Args:
        solver: any ``ILPSolver``.
        problem: a validated batch (see ``make_problem``).
        workers: parallel workers; default the cores available. Not with an ``Executor``.
        time_limit: seconds per instance, ``None`` for none.
        verify: check every returned point against the float problem (cheap, O(B m n)).
        on_error: a backend failure on one instance (it raises or returns
            ``Status.ERROR``) ``"raise"``-s a ``SolverError``, or is ``"flag"``-ged as
            ``Status.ERROR`` with the fallback point and a ``RuntimeWarning`` while the
            rest is solved. Time-outs never raise: see ``Status.TIME_LIMIT``.
        executor: ``None``/``"auto"`` (what the backend declares), ``"serial"``,
            ``"threads"``, ``"processes"``, ``"ray"``, or an ``Executor`` instance.
        cache: an opt-in ``SolutionCache``: instances seen before are not solved again.
        pool: an opt-in ``SolutionPool``: only a fraction of instances is solved, the others
            get the best feasible pooled point (not proven optimal; status ``TIME_LIMIT``).

    Raises:
        SolverError: naming the backend and the instance, when the backend fails (with
            ``on_error="raise"``) or returns a malformed answer, or (with ``verify``) a point
            that is not a feasible integer point.
    """
    time_limit = check_time_limit(time_limit)
    check_on_error(on_error)
    B = problem.batch_size
    solutions: list[Solution | None] = [None] * B
    keys = instance_keys(problem, solver.name) if cache is not None else None
    if keys is not None:
        for i, key in enumerate(keys):
            solutions[i] = cache.get(key)
    if pool is not None:
        missing = np.array([i for i in range(B) if solutions[i] is None], dtype=np.intp)
        for i, answer in pool.answer(problem, missing).items():
            solutions[i] = answer

    todo = [i for i in range(B) if solutions[i] is None]
    if todo:
        chosen = resolve_executor(executor, solver, workers, len(todo))
        chunk = problem if len(todo) == B else subproblem(problem, todo)
        solved = chosen.run(solver, chunk, time_limit, on_error)
        for i, solution in zip(todo, solved):
            solutions[i] = solution
        if keys is not None:
            for i, solution in zip(todo, solved):
                cache.put(keys[i], solution)
        if pool is not None:
            pool.record(solved)

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
    executor: Executor | str | None = None,
    cache: SolutionCache | None = None,
    pool: SolutionPool | None = None,
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
        executor=executor,
        cache=cache,
        pool=pool,
    )
