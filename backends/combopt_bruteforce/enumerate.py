"""Enumerating the integer points of a box and finding every optimal one.

Points are visited in lexicographic order of ``y`` (``y[0]`` most significant, each variable
from ``lb`` up to ``ub``), so "the first optimal point" is the lexicographically smallest.
A point is feasible when ``A y <= b + tol * max(1, |b|)`` row by row, with ``tol`` small
(default ``1e-9``) so that only floating-point rounding, never a solver-style tolerance, can
make a violated constraint pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from combopt_core import ILPInstance, SolverError
from combopt_core.enumeration import FEAS_TOL, OBJ_TOL, box_points, count_points, outer_sum

DEFAULT_MAX_POINTS = 2**20


@dataclass(frozen=True)
class Enumeration:
    """Result of enumerating a box.

    Attributes:
        objective: the optimal value, ``nan`` when no point is feasible (or none was reached).
        optimal: ``(k, n)`` every point whose objective is within ``OBJ_TOL * max(1, |opt|)``
            of the optimum, in lexicographic order (``k = 0`` when infeasible).
        complete: whether every point was visited (``False`` when stopped by a deadline).
    """

    objective: float
    optimal: np.ndarray
    complete: bool

    @property
    def unique(self) -> bool:
        return self.optimal.shape[0] == 1


def check_box_size(lb: np.ndarray, ub: np.ndarray, max_points: int) -> int:
    """The box's number of integer points.

    Raises:
        SolverError: when the box has more than ``max_points`` integer points.
    """
    total = count_points(lb, ub)
    if total > max_points:
        sizes = " x ".join(str(int(u - lo + 1)) for lo, u in zip(lb, ub))
        raise SolverError(
            f"bruteforce: the box has {total} integer points ({sizes}), more than "
            f"max_points={max_points}; use a real solver backend for problems this large"
        )
    return total


def enumerate_optima(
    instance: ILPInstance,
    max_points: int = DEFAULT_MAX_POINTS,
    deadline: float | None = None,
) -> Enumeration:
    """Every optimal point of ``min c.y s.t. A y <= b, A_eq y == b_eq, lb <= y <= ub``,
    ``y`` integer.

    Args:
        instance: the ILP.
        max_points: refuse boxes with more integer points than this.
        deadline: a ``time.perf_counter()`` value; past it, enumeration stops (between
            constraint rows) and the result is marked incomplete with no point.

    Raises:
        SolverError: when the box has more than ``max_points`` integer points.
    """
    lb, ub = instance.lb, instance.ub
    total = check_box_size(lb, ub, max_points)
    empty = np.empty((0, instance.num_vars))
    feasible = np.ones(total, dtype=bool)
    for row, rhs in zip(instance.A, instance.b):
        if deadline is not None and time.perf_counter() > deadline:
            return Enumeration(float("nan"), empty, complete=False)
        feasible &= outer_sum(row, lb, ub) <= rhs + FEAS_TOL * max(1.0, abs(rhs))
    for row, rhs in zip(instance.A_eq, instance.b_eq):
        if deadline is not None and time.perf_counter() > deadline:
            return Enumeration(float("nan"), empty, complete=False)
        feasible &= np.abs(outer_sum(row, lb, ub) - rhs) <= FEAS_TOL * max(1.0, abs(rhs))
    objectives = np.where(feasible, outer_sum(instance.c, lb, ub), np.inf)
    best = float(objectives.min())
    if not np.isfinite(best):
        return Enumeration(float("nan"), empty, complete=True)
    winners = np.flatnonzero(objectives <= best + OBJ_TOL * max(1.0, abs(best)))
    return Enumeration(best, box_points(lb, ub, winners), complete=True)
