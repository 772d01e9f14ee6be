"""Bringing every instance to a well-scaled form before a backend sees it.

The optimum of ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` does not change when
``c`` is multiplied by a positive number or a row ``(a_j, b_j)`` is; solvers, with absolute
tolerances inside, do not behave that way (costs times 1e-6 gave suboptimal points labelled
optimal, rows times 1e-7 were ignored, coefficients of 1e15 or costs of 2^63 made solvers
fail or hang). ``condition`` therefore hands the backend

* the costs of each instance whose ``max |c_i|`` lies outside ``WELL_SCALED`` divided by
  the power of two ``2^e`` with ``max |c_i| / 2^e`` in ``[1, 2)``;
* each row ``(a_j, b_j)`` whose ``max_k |a_jk|`` lies outside ``WELL_SCALED`` divided by
  the power of two that brings it into ``[1, 2)`` (rows with ``a_j = 0`` unchanged);
* right-hand sides beyond ``CLIP_RHS`` (after that scaling) and far outside the row's range
  over the box clipped to a bound that changes no point's feasibility: ``b_j > R_j``
  (``R_j = sum_k |a_jk| max(|lb_k|, |ub_k|)``, every point satisfies the row) becomes
  ``R_j + 1``; ``b_j < -2 R_j - 1`` (every point violates it by more than half of
  ``|b_j|``) becomes ``-2 R_j - 1``.

Equality rows ``(a_j, b_j)`` of ``A_eq y == b_eq`` are scaled by the same rule. Their
right-hand sides beyond ``CLIP_RHS`` are clipped only where no point can satisfy them:
``|b_j| > 2 R_j + 1`` (every point misses the row by more than half of ``|b_j|``) becomes
``sign(b_j) (2 R_j + 1)``, which every point misses by more than half of it too.

Data already well scaled reach the backend bit for bit unchanged.

Dividing by a power of two is exact in binary floating point, so the scaled problem has
exactly the original's integer points, feasible set and argmin: the answer needs no mapping
back except the objective, which ``restore`` multiplies by the same power of two (exact).
Warm starts stay feasible for the same reason.

What no backend can certify is reported, never solved into an ``OPTIMAL``: an instance whose
objective ``c . y`` or some row activity ``a_j . y`` over the box overflows float64; whose
costs span more than float64 resolves (``min |c_i| max |y| < eps sum_k |c_k| max |y_k|``,
``eps = 2^-52``: a unit step of that cost is lost in the objective's rounding, so no
double-precision solver can tell the optimum from its neighbour); or whose row coefficients
span more than float64 can scale (a nonzero entry that would underflow to a subnormal
number once the largest is brought to 1). Tiny row coefficients are otherwise harmless:
their terms stay inside the feasibility tolerance. ``restore`` turns its answer into
``Status.ERROR`` with the reason, raised or flagged as ``on_error`` says.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from .errors import SolverError
from .result import Solution, Status
from .spec import ILPProblem

#: Magnitudes (largest |c_i| of an instance, largest |a_jk| of a row) left as they are.
WELL_SCALED = (2.0**-4, 2.0**4)
#: Right-hand sides (after the row scaling) of at most this magnitude are never clipped.
CLIP_RHS = 2.0**20
#: Smallest normal float64: a scaled nonzero coefficient below it has lost its precision.
_TINY = np.finfo(np.float64).tiny
#: float64's relative precision: a cost term below it of the objective's size is rounded away.
_EPS = np.finfo(np.float64).eps


@dataclasses.dataclass(frozen=True)
class Conditioned:
    """A well-scaled copy of a batch.

    Attributes:
        problem: what the backend is given (same shapes, same warm starts).
        cost_scale: ``(B,)`` powers of two: original costs = ``cost_scale[i] *`` given ones.
        extreme: instance index -> why no backend can certify it (see the module docstring).
    """

    problem: ILPProblem
    cost_scale: np.ndarray
    extreme: dict[int, str]


def power_of_two_scale(magnitude: np.ndarray) -> np.ndarray:
    """``2^(e - 1)`` with ``magnitude = f 2^e``, ``f`` in ``[0.5, 1)``: dividing by it brings
    ``magnitude`` into ``[1, 2)`` exactly. ``1`` where ``magnitude`` is 0 or already inside
    ``WELL_SCALED``."""
    _, exponent = np.frexp(magnitude)
    lo, hi = WELL_SCALED
    off = (magnitude > 0) & ((magnitude < lo) | (magnitude > hi))
    return np.where(off, np.ldexp(1.0, exponent - 1), 1.0)


def condition(problem: ILPProblem) -> Conditioned:
    """The batch brought to a well-scaled form, and the instances no backend can certify."""
    reach = np.maximum(np.abs(problem.lb), np.abs(problem.ub))  # (n,) largest |y_k|
    c_scale = power_of_two_scale(np.abs(problem.c).max(axis=1, initial=0.0))  # (B,)
    c = problem.c / c_scale[:, None]
    A, b = _scale_rows(problem.A, problem.b)
    A_eq, b_eq = _scale_rows(problem.A_eq, problem.b_eq)
    with np.errstate(over="ignore", invalid="ignore"):
        R = np.abs(A) @ reach  # (.., m): the row's largest |a_j . y| over the box
        far = np.abs(b) > CLIP_RHS
        b = np.where(far & (b > R), R + 1.0, b)
        b = np.where(far & (b < -2.0 * R - 1.0), -2.0 * R - 1.0, b)
        R_eq = np.abs(A_eq) @ reach
        missed = (np.abs(b_eq) > CLIP_RHS) & (np.abs(b_eq) > 2.0 * R_eq + 1.0)
        b_eq = np.where(missed, np.sign(b_eq) * (2.0 * R_eq + 1.0), b_eq)
        scaled = dataclasses.replace(problem, c=c, A=A, b=b, A_eq=A_eq, b_eq=b_eq)
        extreme = _extreme(problem, reach, c, np.concatenate([A, A_eq], axis=-2))
    return Conditioned(scaled, c_scale, extreme)


def _scale_rows(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``(a_j, b_j)`` divided by the power of two that brings ``max |a_j|`` to [1, 2)."""
    row_scale = power_of_two_scale(np.abs(A).max(axis=-1, initial=0.0))  # (.., m)
    return A / row_scale[..., None], b / row_scale


def _extreme(
    problem: ILPProblem, reach: np.ndarray, c: np.ndarray, A: np.ndarray
) -> dict[int, str]:
    """Instance -> reason, for data no backend can certify (overflow, unscalable range).

    ``A`` holds the scaled inequality rows followed by the scaled equality rows; row ``j``
    in a message counts in that order."""
    B = problem.batch_size
    objective_bound = np.abs(c) @ reach  # (B,), in the scaled units
    smallest = np.where(c != 0, np.abs(c), np.inf).min(axis=-1, initial=np.inf)
    costs_unresolved = smallest * reach.max(initial=0.0) < _EPS * objective_bound
    objective_overflow = ~np.isfinite(np.abs(problem.c) @ reach)
    original = np.concatenate([problem.A, problem.A_eq], axis=-2)
    rows_overflow = ~np.isfinite(np.abs(original) @ reach)  # (B, m + m_eq) or (m + m_eq,)
    rows_underflow = ((A != 0) & (np.abs(A) < _TINY)).any(axis=-1)
    if problem.shared:
        rows_overflow = np.broadcast_to(rows_overflow, (B, *rows_overflow.shape))
        rows_underflow = np.broadcast_to(rows_underflow, (B, *rows_underflow.shape))
    found: dict[int, str] = {}
    for i in np.flatnonzero(objective_overflow):
        found[int(i)] = "the objective c . y overflows float64 over the box"
    for i, j in zip(*np.nonzero(rows_overflow)):
        found.setdefault(int(i), f"row {j}'s activity a_j . y overflows float64 over the box")
    for i, j in zip(*np.nonzero(rows_underflow)):
        found.setdefault(
            int(i), f"row {j}'s coefficients span more orders of magnitude than float64 holds"
        )
    for i in np.flatnonzero(costs_unresolved):
        found.setdefault(
            int(i),
            "the costs span more orders of magnitude than float64 resolves: a unit step of "
            "the smallest one changes c . y by less than its rounding",
        )
    return found


def restore(
    solutions: list[Solution],
    conditioned: Conditioned,
    backend: str,
    on_error: str,
    indices: Sequence[int] | None = None,
) -> list[Solution]:
    """The backend's answers to ``conditioned.problem`` as answers to the original batch.

    Points and statuses carry over (the scaling is exact); objectives are multiplied back by
    the cost scale (a power of two: exact), so a backend's wrong objective stays visible to
    the verification. An instance in ``conditioned.extreme`` raises ``SolverError`` with
    ``on_error="raise"`` and becomes ``Status.ERROR`` (no point) with ``"flag"``; messages
    name it by ``indices[i]`` (its index in the caller's batch; default ``i``).
    """
    out = []
    for i, s in enumerate(solutions):
        why = conditioned.extreme.get(i)
        if why is not None:
            index = i if indices is None else indices[i]
            what = f"backend '{backend}' cannot certify instance {index}: {why}"
            if on_error == "raise":
                raise SolverError(what)
            out.append(Solution(None, Status.ERROR, solve_time=s.solve_time, message=what))
        else:
            objective = float(s.objective * conditioned.cost_scale[i])
            out.append(dataclasses.replace(s, objective=objective))
    return out
