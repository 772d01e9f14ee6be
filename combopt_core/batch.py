"""Solving a batch: one backend call per instance, in parallel across instances.

Backends that release the GIL (``solver.releases_gil``) run on a shared thread pool of
``workers`` threads; others run in the calling thread. Results are the same whatever the
worker count: each instance is solved single-threaded and independently.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .errors import SolverError
from .registry import get_solver
from .result import BatchSolution, Solution
from .solver import ILPSolver
from .spec import ILPProblem, make_problem
from .verify import DEFAULT_TOL, find_violations

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


def solve_batch(
    solver: ILPSolver,
    problem: ILPProblem,
    *,
    workers: int | None = None,
    time_limit: float | None = None,
    verify: bool = True,
) -> BatchSolution:
    """Solve every instance of ``problem`` with ``solver``.

    Args:
        solver: any ``ILPSolver``.
        problem: a validated batch (see ``make_problem``).
        workers: threads for GIL-releasing backends; default the machine's core count.
        time_limit: seconds per instance, ``None`` for none.
        verify: check every returned point against the float problem (cheap, O(B m n)).

    Raises:
        SolverError: naming the backend and the instance, when the backend raises or
            (with ``verify``) returns a point that is not a feasible integer point.
    """
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers: must be at least 1, got {workers}")

    def run(i: int) -> Solution:
        try:
            return solver.solve(problem.instance(i), time_limit=time_limit)
        except Exception as exc:  # noqa: BLE001 - re-raised with the instance named
            raise SolverError(
                f"backend '{solver.name}' failed on instance {i} of the batch: {exc}"
            ) from exc

    indices = range(problem.batch_size)
    if workers > 1 and problem.batch_size > 1 and getattr(solver, "releases_gil", False):
        solutions = list(_pool(workers).map(run, indices))
    else:
        solutions = [run(i) for i in indices]
    result = BatchSolution.stack(solutions, problem.fallback_point())
    if verify:
        bad = find_violations(problem, result.y, result.has_solution, DEFAULT_TOL)
        if bad:
            i, what = bad[0]
            raise SolverError(
                f"backend '{solver.name}' returned a wrong point for instance {i}: {what} "
                f"({len(bad)} bad instance(s) in the batch)"
            )
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
) -> BatchSolution:
    """Validate and solve ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` for a batch.

    ``solver`` is an ``ILPSolver`` or a backend name; ``None`` selects by
    ``$COMBOPT_SOLVER``, else HiGHS. Shapes and the rest as in ``make_problem`` and
    ``solve_batch``.
    """
    if not hasattr(solver, "solve"):
        solver = get_solver(solver)
    return solve_batch(
        solver, make_problem(c, A, b, lb, ub), workers=workers, time_limit=time_limit, verify=verify
    )
