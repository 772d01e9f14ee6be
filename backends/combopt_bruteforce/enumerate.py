"""Enumerating the integer points of a box and finding every optimal one.

Points are visited in lexicographic order of ``y`` (``y[0]`` most significant, each variable
from ``lb`` up to ``ub``), so "the first optimal point" is the lexicographically smallest.
A point is feasible when ``A y <= b + tol * max(1, |b|)`` row by row, with ``tol`` small
(default ``1e-9``) so that only floating-point rounding, never a solver-style tolerance, can
make a violated constraint pass.

The box is visited in blocks of about ``BLOCK_POINTS`` consecutive points: memory stays
bounded by a few arrays of that size, and between blocks the enumeration checks its
deadline and its stop flag (``interrupt()``), so a large box is left within milliseconds.
Each point's ``w . y`` is summed variable by variable in index order, the same floating-point
sums whatever the block size.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from combopt_core import ILPInstance, SolverError
from combopt_core.enumeration import FEAS_TOL, OBJ_TOL, box_points, count_points, least_cost

DEFAULT_MAX_POINTS = 2**20
#: Box points per block: the deadline and the stop flag are checked between blocks.
BLOCK_POINTS = 2**16


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


def _blocks(lb: np.ndarray, ub: np.ndarray) -> Iterator[tuple[int, np.ndarray, int]]:
    """The box in blocks of consecutive points, as ``(first, prefix, size)``.

    The last variables, whose box holds at most ``BLOCK_POINTS`` points, are enumerated in
    full in every block; ``prefix (G, h)`` are the block's values of the ``h`` leading
    variables, and the block is ``prefix x`` (the trailing box), lexicographic. ``first`` is
    the lexicographic index of the block's first point and ``size`` its number of points.
    """
    sizes = [int(u - lo + 1) for lo, u in zip(lb, ub)]
    h, trailing = len(sizes), 1
    while h > 0 and trailing * sizes[h - 1] <= BLOCK_POINTS:
        h -= 1
        trailing *= sizes[h]
    leading = count_points(lb[:h], ub[:h])
    group = max(1, BLOCK_POINTS // trailing)
    for start in range(0, leading, group):
        prefix = box_points(lb[:h], ub[:h], np.arange(start, min(start + group, leading)))
        yield start * trailing, prefix, prefix.shape[0] * trailing


def _sums(weights: np.ndarray, prefix: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """``weights . y`` for every point of a block (see :func:`_blocks`), flat, lexicographic."""
    h = prefix.shape[1]
    total = np.zeros(prefix.shape[0])
    for j in range(h):
        total = total + weights[j] * prefix[:, j]
    for w, lo, hi in zip(weights[h:], lb[h:], ub[h:]):
        total = np.add.outer(total, w * np.arange(lo, hi + 1.0)).ravel()
    return total


def _feasible(instance: ILPInstance, prefix: np.ndarray, size: int) -> np.ndarray:
    """Which of a block's ``size`` points satisfy every row of ``instance``."""
    lb, ub = instance.lb, instance.ub
    feasible = np.ones(size, dtype=bool)
    for row, rhs in zip(instance.A, instance.b):
        feasible &= _sums(row, prefix, lb, ub) <= rhs + FEAS_TOL * max(1.0, abs(rhs))
    for row, rhs in zip(instance.A_eq, instance.b_eq):
        feasible &= np.abs(_sums(row, prefix, lb, ub) - rhs) <= FEAS_TOL * max(1.0, abs(rhs))
    return feasible


def _halt(deadline: float | None, stop: threading.Event | None) -> bool:
    """Whether to leave the enumeration: ``KeyboardInterrupt`` once ``stop`` is set, true
    once ``deadline`` has passed."""
    if stop is not None and stop.is_set():
        raise KeyboardInterrupt
    return deadline is not None and time.perf_counter() > deadline


def _cutoff(best: float) -> float:
    """The largest objective that ties with ``best``."""
    return best + OBJ_TOL * max(1.0, abs(best))


def enumerate_optima(
    instance: ILPInstance,
    max_points: int = DEFAULT_MAX_POINTS,
    deadline: float | None = None,
    stop: threading.Event | None = None,
) -> Enumeration:
    """Every optimal point of ``min c.y s.t. A y <= b, A_eq y == b_eq, lb <= y <= ub``,
    ``y`` integer.

    Args:
        instance: the ILP.
        max_points: refuse boxes with more integer points than this.
        deadline: a ``time.perf_counter()`` value; past it, enumeration stops (between
            blocks) and the result is marked incomplete with no point.
        stop: once set (from any thread), the enumeration raises ``KeyboardInterrupt`` at
            the next block.

    Raises:
        SolverError: when the box has more than ``max_points`` integer points.
    """
    lb, ub = instance.lb, instance.ub
    check_box_size(lb, ub, max_points)
    best = np.inf
    indices, objectives = [], []
    for first, prefix, size in _blocks(lb, ub):
        if _halt(deadline, stop):
            return Enumeration(float("nan"), np.empty((0, instance.num_vars)), complete=False)
        where = np.flatnonzero(_feasible(instance, prefix, size))
        if where.size == 0:
            continue
        values = _sums(instance.c, prefix, lb, ub)[where]
        best = min(best, float(values.min()))
        near = values <= _cutoff(best)
        indices.append(first + where[near])
        objectives.append(values[near])
    if not np.isfinite(best):
        return Enumeration(float("nan"), np.empty((0, instance.num_vars)), complete=True)
    index, value = np.concatenate(indices), np.concatenate(objectives)
    winners = index[value <= _cutoff(best)]
    return Enumeration(best, box_points(lb, ub, winners), complete=True)


def feasible_set(instance: ILPInstance, stop: threading.Event | None = None) -> np.ndarray:
    """Every feasible point of ``instance``'s box, ``(k, n)``, lexicographic order; the
    costs are not read. ``stop`` as in :func:`enumerate_optima`."""
    lb, ub = instance.lb, instance.ub
    found = []
    for first, prefix, size in _blocks(lb, ub):
        _halt(None, stop)
        found.append(first + np.flatnonzero(_feasible(instance, prefix, size)))
    return box_points(lb, ub, np.concatenate(found))


def cheapest(
    costs: np.ndarray, points: np.ndarray, stop: threading.Event | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``costs (B, n)``, the index of its first optimal point among ``points
    (k >= 1, n)`` and the optimum (``combopt_core.enumeration.least_cost``), in blocks of
    about ``BLOCK_POINTS`` products; ``stop`` as in :func:`enumerate_optima`."""
    rows = max(1, BLOCK_POINTS // points.shape[0])
    parts = []
    for start in range(0, costs.shape[0], rows):
        _halt(None, stop)
        parts.append(least_cost(costs[start : start + rows], points))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
