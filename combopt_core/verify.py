"""Cheap checks that a backend's points really solve the problem they were asked.

A returned point must be integral, inside the box and satisfy ``A y <= b`` up to
``tol * max(1, |b|)``; an objective must equal ``c . y``. This guards against solvers that
silently answer wrongly (scaled integer coefficients, presolve bugs, NaN handling).
"""

from __future__ import annotations

import numpy as np

from .spec import ILPProblem

DEFAULT_TOL = 1e-6


def find_violations(
    problem: ILPProblem, y: np.ndarray, has_solution: np.ndarray, tol: float = DEFAULT_TOL
) -> list[tuple[int, str]]:
    """``(instance, what is wrong)`` for every returned point that does not solve its ILP.

    Args:
        problem: the batch that was solved.
        y: ``(B, n)`` returned points.
        has_solution: ``(B,)`` which rows came from the solver (others are not checked).
        tol: absolute tolerance, scaled by ``max(1, |b_j|)`` for constraint ``j``.
    """
    rows = np.flatnonzero(has_solution)
    if rows.size == 0:
        return []
    yy = y[rows]
    found: list[tuple[int, str]] = []
    frac = np.abs(yy - np.round(yy)).max(axis=1)
    below = (yy < problem.lb - tol).any(axis=1)
    above = (yy > problem.ub + tol).any(axis=1)
    A = problem.A if problem.shared else problem.A[rows]
    b = problem.b if problem.shared else problem.b[rows]
    lhs = yy @ A.T if problem.shared else np.einsum("bmn,bn->bm", A, yy)
    excess = (lhs - b) / np.maximum(1.0, np.abs(b))
    worst = excess.max(axis=1, initial=-np.inf)
    for k, i in enumerate(rows):
        if frac[k] > tol:
            found.append((int(i), f"not integral (max distance to an integer {frac[k]:.3g})"))
        elif below[k] or above[k]:
            found.append((int(i), "outside the bounds lb <= y <= ub"))
        elif worst[k] > tol:
            j = int(np.argmax(excess[k]))
            found.append((int(i), f"violates constraint {j} of A y <= b by {worst[k]:.3g}"))
    return found
