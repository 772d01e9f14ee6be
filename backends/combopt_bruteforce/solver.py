"""``BruteForceSolver``: exact answers by enumerating every integer point of the box."""

from __future__ import annotations

import threading
import time

from combopt_core import ILPInstance, ILPProblem, Solution, Status
from combopt_core.interrupts import RunningSolves

from .enumerate import DEFAULT_MAX_POINTS, cheapest, check_box_size, enumerate_optima, feasible_set


def _running_solves() -> RunningSolves:
    """Each solve's handle is a ``threading.Event`` that its enumeration checks per block."""
    return RunningSolves(threading.Event.set)


class BruteForceSolver:
    """Exact ILP solves by enumeration, for boxes of at most ``max_points`` integer points.

    Tie rule: among optimal points (objective within ``1e-9 * max(1, |optimum|)`` of the
    minimum) the lexicographically smallest ``y`` is returned (``y[0]`` compared first).
    Numpy-only and thread-safe: the only state is the record of running solves that
    ``interrupt()`` stops. A chunk that shares ``A, b`` is answered from one enumeration of
    its feasible set (``solve_many``), not one per instance. Equality rows are kept when
    ``|a_j . y - b_j| <= FEAS_TOL * max(1, |b_j|)``.

    Interrupts: ``interrupt()`` (Ctrl-C, see ``combopt_core.interrupts``) sets a flag that
    each running enumeration checks between blocks of ``enumerate.BLOCK_POINTS`` points, so
    a solve stops within milliseconds, however large ``max_points``; it then raises
    ``KeyboardInterrupt`` in its own thread.

    Args:
        max_points: refuse (``SolverError``) boxes with more integer points; default ``2**20``.
    """

    name = "bruteforce"
    releases_gil = True
    supports_equalities = True

    def __init__(self, max_points: int = DEFAULT_MAX_POINTS) -> None:
        if int(max_points) < 1:
            raise ValueError(f"max_points: must be a positive integer, got {max_points!r}")
        self.max_points = int(max_points)
        self._running = _running_solves()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_running"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._running = _running_solves()

    def interrupt(self) -> None:
        """Ask every solve of this object running now, in any thread, to stop."""
        self._running.stop()

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is enumerated once for all costs.

        The time limit applies per instance, so the shared enumeration (which answers every
        instance at once) runs to the end.
        """
        if not problem.shared:
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        check_box_size(problem.lb, problem.ub, self.max_points)
        start = time.perf_counter()
        stop = threading.Event()
        with self._running.solving(stop):
            points = feasible_set(problem.instance(0), stop)
            if points.shape[0] == 0:
                share = (time.perf_counter() - start) / problem.batch_size
                return [
                    Solution(None, Status.INFEASIBLE, solve_time=share, message="infeasible")
                    for _ in range(problem.batch_size)
                ]
            index, objective = cheapest(problem.c, points, stop)
        share = (time.perf_counter() - start) / problem.batch_size
        return [
            Solution(points[k].copy(), Status.OPTIMAL, float(obj), share)
            for k, obj in zip(index, objective)
        ]

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        start = time.perf_counter()
        deadline = None if time_limit is None else start + float(time_limit)
        stop = threading.Event()
        with self._running.solving(stop):
            found = enumerate_optima(instance, self.max_points, deadline, stop)
        elapsed = time.perf_counter() - start
        y = found.optimal[0] if found.optimal.shape[0] else None
        if not found.complete:
            return Solution(
                None, Status.TIME_LIMIT, solve_time=elapsed, message="time limit reached"
            )
        if y is None:
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message="infeasible")
        return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
