"""Exact skips: cheap proofs that a point is optimal, and checks of warm starts.

Each function here either proves an answer on the current ``(A, b, c)`` or declines; none
guesses. What proves an answer is recorded in ``Solution.proof`` (``combopt_core.result``).

* ``box_minimum_answers``: the point that minimises ``c . y`` over the whole box (``lb_j``
  where ``c_j > 0``, ``ub_j`` where ``c_j < 0``, the bound nearest 0 where ``c_j = 0``) is
  optimal for the ILP as soon as it satisfies ``A y <= b`` and ``A_eq y == b_eq``: every
  feasible point lies in the box, so none costs less. ``O(B (m + m_eq) n)``.
* ``check_starts``: a warm start is used only if it has the right shape, is finite,
  integral, inside the box and satisfies every row of its instance; anything else is
  dropped, with the reason counted.

Feasibility everywhere is ``a_j . y <= b_j + FEAS_TOL * max(1, |b_j|)`` and, for an
equality row, ``|a_j . y - b_j| <= FEAS_TOL * max(1, |b_j|)``: the rule of
``combopt_core.enumeration``.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .enumeration import FEAS_TOL
from .result import Proof, Solution, Status
from .spec import ILPProblem

#: Largest distance to an integer for a warm-start entry to count as integral.
INTEGRALITY_TOL = 1e-9


def satisfies_rows(problem: ILPProblem, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(rows),)`` bool: ``points[k]`` satisfies ``A y <= b`` and ``A_eq y == b_eq`` of
    instance ``rows[k]``."""
    return satisfies_inequalities(problem, points, rows) & satisfies_equalities(
        problem, points, rows
    )


def satisfies_inequalities(problem: ILPProblem, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(rows),)`` bool: ``points[k]`` satisfies ``A y <= b`` of instance ``rows[k]``."""
    if problem.num_constraints == 0:
        return np.ones(len(rows), dtype=bool)
    residual, tol = _residual(problem.A, problem.b, problem.shared, points, rows)
    return np.all(residual <= tol, axis=1)


def satisfies_equalities(problem: ILPProblem, points: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``(len(rows),)`` bool: ``points[k]`` satisfies ``A_eq y == b_eq`` of instance
    ``rows[k]``."""
    if problem.num_equalities == 0:
        return np.ones(len(rows), dtype=bool)
    residual, tol = _residual(problem.A_eq, problem.b_eq, problem.shared, points, rows)
    return np.all(np.abs(residual) <= tol, axis=1)


def _residual(
    A: np.ndarray, b: np.ndarray, shared: bool, points: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``a_j . points[k] - b_j`` of instance ``rows[k]`` and each row's tolerance."""
    if shared:
        lhs, b = points @ A.T, b[None, :]
    else:
        lhs, b = np.einsum("kmn,kn->km", A[rows], points), b[rows]
    return lhs - b, FEAS_TOL * np.maximum(1.0, np.abs(b))


def box_minimizers(c: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """``argmin_{y in box} c . y`` per row of ``c (B, n)``; the bound nearest 0 where ``c_j = 0``."""
    return np.where(c > 0, lb, np.where(c < 0, ub, np.clip(0.0, lb, ub)))


def box_minimum_answers(problem: ILPProblem, rows: np.ndarray) -> dict[int, Solution]:
    """Proven answers ``{row: Solution}`` for the instances whose box minimiser is feasible."""
    rows = np.asarray(rows, dtype=np.intp)
    if rows.size == 0:
        return {}
    points = box_minimizers(problem.c[rows], problem.lb, problem.ub)
    ok = satisfies_rows(problem, points, rows)
    return {
        int(i): Solution(
            points[k].copy(),
            Status.OPTIMAL,
            float(problem.c[i] @ points[k]),
            proof=Proof.BOX_MINIMUM,
        )
        for k, i in enumerate(rows)
        if ok[k]
    }


def check_starts(
    problem: ILPProblem, start: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, Counter]:
    """Which candidate starts may be handed to a backend.

    Args:
        problem: the batch.
        start: ``(B, n)`` candidate points; a row with a NaN entry holds no candidate.
        rows: the instances to check (the others are answered already).

    Returns:
        ``(usable (B,) bool, rejected)``, ``rejected`` counting each dropped candidate by
        reason (``"not integral"``, ``"outside the box"``, ``"violates A y <= b"``,
        ``"violates A_eq y == b_eq"``, ``"not finite"``).
    """
    usable = np.zeros(problem.batch_size, dtype=bool)
    rejected: Counter = Counter()
    rows = np.asarray(rows, dtype=np.intp)
    rows = rows[~np.isnan(start[rows]).any(axis=1)]
    if rows.size == 0:
        return usable, rejected
    finite = np.isfinite(start[rows]).all(axis=1)
    points = np.where(finite[:, None], start[rows], 0.0)
    integral = finite & (np.abs(points - np.round(points)).max(axis=1) <= INTEGRALITY_TOL)
    in_box = integral & np.all((points >= problem.lb) & (points <= problem.ub), axis=1)
    below = in_box & satisfies_inequalities(problem, points, rows)
    feasible = below & satisfies_equalities(problem, points, rows)
    rejected["not finite"] += int((~finite).sum())
    rejected["not integral"] += int((finite & ~integral).sum())
    rejected["outside the box"] += int((integral & ~in_box).sum())
    rejected["violates A y <= b"] += int((in_box & ~below).sum())
    rejected["violates A_eq y == b_eq"] += int((below & ~feasible).sum())
    usable[rows[feasible]] = True
    return usable, +rejected
