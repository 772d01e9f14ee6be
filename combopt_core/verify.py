"""Cheap checks that a backend's points really solve the problem they were asked.

A returned point must be integral, inside the box, satisfy ``A y <= b`` up to
``tol * max(1, |b|)`` and ``A_eq y == b_eq`` up to ``tol * max(1, |b_eq|)`` (both sides);
an objective must equal ``c . y``. This guards against solvers that
silently answer wrongly (scaled integer coefficients, presolve bugs, NaN handling).

``FEASIBILITY_TOL`` (1e-9) is the library's one feasibility tolerance: every backend sets its
solver's tolerances to it, the verification checks it, and the gradient's feasibility test
of targets uses it.

Two layers of checks: ``check_returned`` (always on: what a backend hands back must be a
``Solution`` whose point has the right shape and agrees with its status) and
``verify_batch`` (the verification mode, on by default: points against the float problem).
Both name the backend, so a wrong answer is never silently trained on: a malformed answer
always raises; a point outside the tolerance raises under ``on_error="raise"`` and is
flagged ``Status.ERROR`` (fallback point, no solution, the reason in its message) under
``on_error="flag"``, so it is never reported ``OPTIMAL``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .errors import SolverError
from .result import BatchSolution, Proof, Solution, Status
from .spec import ILPProblem

#: The feasibility tolerance: ``A y <= b + FEASIBILITY_TOL * max(1, |b|)``, row by row, and
#: ``|A_eq y - b_eq| <= FEASIBILITY_TOL * max(1, |b_eq|)`` for equality rows.
FEASIBILITY_TOL = 1e-9


def find_violations(
    problem: ILPProblem, y: np.ndarray, has_solution: np.ndarray, tol: float = FEASIBILITY_TOL
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
    excess = _relative_residual(problem.A, problem.b, problem.shared, rows, yy)
    worst = excess.max(axis=1, initial=-np.inf)
    off = np.abs(_relative_residual(problem.A_eq, problem.b_eq, problem.shared, rows, yy))
    worst_eq = off.max(axis=1, initial=-np.inf)
    for k, i in enumerate(rows):
        if frac[k] > tol:
            found.append((int(i), f"not integral (max distance to an integer {frac[k]:.3g})"))
        elif below[k] or above[k]:
            found.append((int(i), "outside the bounds lb <= y <= ub"))
        elif worst[k] > tol:
            j = int(np.argmax(excess[k]))
            found.append((int(i), f"violates constraint {j} of A y <= b by {worst[k]:.3g}"))
        elif worst_eq[k] > tol:
            j = int(np.argmax(off[k]))
            found.append((int(i), f"violates equality {j} of A_eq y == b_eq by {worst_eq[k]:.3g}"))
    return found


def _relative_residual(
    A: np.ndarray, b: np.ndarray, shared: bool, rows: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """``(a_j . y - b_j) / max(1, |b_j|)`` for the instances ``rows``, ``(len(rows), m)``."""
    if not shared:
        A, b = A[rows], b[rows]
    lhs = y @ A.T if shared else np.einsum("bmn,bn->bm", A, y)
    return (lhs - b) / np.maximum(1.0, np.abs(b))


def check_returned(solution: object, num_vars: int, backend: str, index: int) -> None:
    """Raise ``SolverError`` (naming ``backend`` and instance ``index``) on a malformed answer.

    A ``Solution`` must carry a finite ``(n,)`` point of real numbers (bool, integer or
    float dtype) exactly when its status allows one:
    ``OPTIMAL`` needs a point, ``INFEASIBLE`` and ``ERROR`` must have none, ``TIME_LIMIT``
    may have one (the incumbent). Always on: the batch solver calls it on every answer.
    """
    problem = _malformation(solution, num_vars)
    if problem is not None:
        raise SolverError(f"backend '{backend}' {problem} for instance {index}")


def _malformation(solution: object, num_vars: int) -> str | None:
    if not isinstance(solution, Solution):
        return f"returned {type(solution).__name__}, not a combopt Solution,"
    try:
        status = Status(solution.status)
    except ValueError:
        return f"returned an unknown status {solution.status!r}"
    if solution.y is None:
        return "returned status OPTIMAL without a point" if status == Status.OPTIMAL else None
    if status in (Status.INFEASIBLE, Status.ERROR):
        return f"returned a point together with status {status.name}"
    try:
        y = np.asarray(solution.y)
    except (TypeError, ValueError) as exc:  # e.g. a ragged list
        return f"returned a point that is not an array of numbers ({exc}),"
    if y.dtype.kind not in "biuf":  # str, object, complex, datetime: not a point
        return f"returned a point of dtype {y.dtype.name}, not real numbers,"
    if y.shape != (num_vars,):
        return f"returned a point of shape {y.shape}, expected ({num_vars},),"
    if not np.all(np.isfinite(y)):
        return "returned a point with NaN or inf entries"
    return None


def verify_batch(
    problem: ILPProblem,
    result: BatchSolution,
    backend: str,
    tol: float = FEASIBILITY_TOL,
    on_error: str = "raise",
) -> BatchSolution:
    """Check every returned point (and its objective ``c . y``) against the float problem.

    Returns:
        ``result`` when every point passes; else, with ``on_error="flag"``, ``result`` with
        the bad instances turned into ``Status.ERROR`` (fallback point, no solution, ``nan``
        objective, a message naming the backend and what is wrong).

    Raises:
        SolverError: with ``on_error="raise"``, naming ``backend``, the first bad instance
            and what is wrong with it.
    """
    bad = _wrong_answers(problem, result, tol)
    if not bad:
        return result
    if on_error == "raise":
        i, what = bad[0]
        raise SolverError(
            f"backend '{backend}' returned a wrong point for instance {i}: {what} "
            f"({len(bad)} bad instance(s) in the batch; verification mode, verify=False "
            "turns it off)"
        )
    why = {
        i: f"backend '{backend}' returned a wrong point for instance {i}: {what}" for i, what in bad
    }
    return _flag(problem, result, why)


def _wrong_answers(problem: ILPProblem, result: BatchSolution, tol: float) -> list[tuple[int, str]]:
    """``(instance, what is wrong)`` for every bad point or objective, by instance."""
    bad = find_violations(problem, result.y, result.has_solution, tol)
    rows = np.flatnonzero(result.has_solution)
    if rows.size:
        true_obj = np.einsum("bn,bn->b", problem.c[rows], result.y[rows])
        gap = np.abs(result.objective[rows] - true_obj) / np.maximum(1.0, np.abs(true_obj))
        flagged = {i for i, _ in bad}
        for k in np.flatnonzero(~(gap <= tol)):  # also catches a NaN objective
            i = int(rows[k])
            if i not in flagged:
                bad.append(
                    (i, f"objective {result.objective[i]!r} is not c . y = {true_obj[k]:.12g}")
                )
        bad.sort()
    return bad


def _flag(problem: ILPProblem, result: BatchSolution, why: dict[int, str]) -> BatchSolution:
    """``result`` with instances ``why`` (index -> message) flagged ``Status.ERROR``."""
    rows = np.zeros(problem.batch_size, dtype=bool)
    rows[list(why)] = True
    messages = tuple(why.get(i, m) for i, m in enumerate(result.messages))
    return dataclasses.replace(
        result,
        y=np.where(rows[:, None], problem.fallback_point()[None, :], result.y),
        status=np.where(rows, np.int8(Status.ERROR), result.status).astype(np.int8),
        has_solution=result.has_solution & ~rows,
        objective=np.where(rows, np.nan, result.objective),
        messages=messages,
        proof=np.where(rows, np.int8(Proof.NONE), result.proof).astype(np.int8),
    )
