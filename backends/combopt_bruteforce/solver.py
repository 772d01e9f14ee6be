"""``BruteForceSolver``: exact answers by enumerating every integer point of the box."""

from __future__ import annotations

import time

import numpy as np

from combopt_core import ILPInstance, ILPProblem, Solution, Status
from combopt_core.enumeration import solve_by_enumeration

from .enumerate import DEFAULT_MAX_POINTS, check_box_size, enumerate_optima


class BruteForceSolver:
    """Exact ILP solves by enumeration, for boxes of at most ``max_points`` integer points.

    Tie rule: among optimal points (objective within ``1e-9 * max(1, |optimum|)`` of the
    minimum) the lexicographically smallest ``y`` is returned (``y[0]`` compared first).
    Stateless and numpy-only, hence thread-safe. A chunk that shares ``A, b`` is answered
    from one enumeration of its feasible set (``solve_many``), not one per instance.
    Equality rows are kept when ``|a_j . y - b_j| <= FEAS_TOL * max(1, |b_j|)``.

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

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is enumerated once for all costs.

        The time limit applies per instance, so the shared enumeration (which answers every
        instance at once) runs to the end.
        """
        if not problem.shared:
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        check_box_size(problem.lb, problem.ub, self.max_points)
        return [
            Solution(s.y, s.status, s.objective, s.solve_time, s.message)  # the backend's proof
            for s in solve_by_enumeration(problem, np.arange(problem.batch_size))
        ]

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        start = time.perf_counter()
        deadline = None if time_limit is None else start + float(time_limit)
        found = enumerate_optima(instance, self.max_points, deadline)
        elapsed = time.perf_counter() - start
        y = found.optimal[0] if found.optimal.shape[0] else None
        if not found.complete:
            return Solution(
                None, Status.TIME_LIMIT, solve_time=elapsed, message="time limit reached"
            )
        if y is None:
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message="infeasible")
        return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
