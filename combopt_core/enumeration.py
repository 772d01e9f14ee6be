"""Exact answers by enumeration: one feasible set, many costs.

When a batch shares ``A, b`` (and ``A_eq, b_eq``; every learned-constraint model does) and
the box is small,
its feasible set is the same for every instance: list it once, then answer every cost by
one matrix product. Exact by exhaustion, and independent of any solver.

Points are visited in lexicographic order of ``y`` (``y[0]`` most significant, each
variable from ``lb`` up to ``ub``). A point is feasible when
``a_j . y <= b_j + FEAS_TOL * max(1, |b_j|)`` for every row ``j`` of ``A`` and
``|a_j . y - b_j| <= FEAS_TOL * max(1, |b_j|)`` for every row of ``A_eq`` (the library's
feasibility rule). Among the points whose cost is within ``OBJ_TOL * max(1, |optimum|)`` of
the least cost, the lexicographically smallest is returned: the brute-force backend's tie
rule, so both give the same point.

Cost: ``O(P (m + m_eq))`` for the feasible set of a box with ``P`` integer points (each row's values
are one outer sum of the values on two halves of the variables: the box's points are never
all built; with numba, one compiled loop that leaves a point at its first violated row),
then ``O(B k n)`` for ``k`` feasible points and ``B`` costs, in blocks of at
most ``BLOCK_ELEMENTS``.
"""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from .kernels import kernel_for
from .result import Proof, Solution, Status
from .spec import ILPProblem
from .verify import FEASIBILITY_TOL

FEAS_TOL = FEASIBILITY_TOL  # the library's one feasibility tolerance
OBJ_TOL = 1e-9
#: Largest box ``enumeration="auto"`` enumerates (integer points).
AUTO_MAX_POINTS = 2**20
#: Largest ``B * k`` (costs times feasible points) ``"auto"`` answers by enumeration.
AUTO_MAX_PRODUCT = 2**25
#: Largest ``B * k`` block of objective values worked on at once (32 MiB of float64).
BLOCK_ELEMENTS = 1 << 22
ENUMERATION_MODES = ("auto", "always", "never")
IMPLEMENTATIONS = ("auto", "numpy", "numba")  # of ``feasible_points``
#: Smallest box (integer points) whose feasibility ``implementation="auto"`` tests compiled.
AUTO_KERNEL_POINTS = 2**14


def count_points(lb: np.ndarray, ub: np.ndarray) -> int:
    """Number of integer points in the box (exact Python integer)."""
    count = 1
    for lo, hi in zip(lb, ub):
        count *= int(hi) - int(lo) + 1
    return count


def box_points(lb: np.ndarray, ub: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The box's points at lexicographic positions ``indices``, ``(len(indices), n)``."""
    sizes = tuple(int(s) for s in ub - lb + 1)
    if not sizes:  # the box of no variables has one point, the empty one
        return np.zeros((len(indices), 0))
    digits = np.unravel_index(np.asarray(indices, dtype=np.int64), sizes)  # y[0] slowest
    return np.stack(digits, axis=1).astype(np.float64) + lb


def split_box(lb: np.ndarray, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box's points as two halves: ``(L (P_L, h), R (P_R, n - h))``, each in lexicographic
    order, with ``h`` chosen so that ``P_L`` and ``P_R`` are about ``sqrt(P)``.

    Point ``i`` of the box (lexicographic) is ``(L[i // P_R], R[i % P_R])``: every sum over
    the box is one outer sum of a half's values with the other's (meet in the middle).
    The halves of the last few boxes are kept (read-only): a training loop asks for the same
    box at every step.
    """
    return _split_box(tuple(lb.tolist()), tuple(ub.tolist()))


@lru_cache(maxsize=8)
def _split_box(lb_key: tuple[float, ...], ub_key: tuple[float, ...]) -> tuple[np.ndarray, ...]:
    lb, ub = np.array(lb_key, dtype=np.float64), np.array(ub_key, dtype=np.float64)
    sizes = (ub - lb + 1).astype(float)
    half = np.log(sizes).sum() / 2
    h = int(np.searchsorted(np.cumsum(np.log(sizes)), half, side="right"))
    h = min(max(h, 1), lb.shape[0] - 1) if lb.shape[0] > 1 else lb.shape[0]
    left = box_points(lb[:h], ub[:h], np.arange(count_points(lb[:h], ub[:h])))
    right = box_points(lb[h:], ub[h:], np.arange(count_points(lb[h:], ub[h:])))
    left.flags.writeable = right.flags.writeable = False
    return left, right


def feasible_points(
    A: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    A_eq: np.ndarray | None = None,
    b_eq: np.ndarray | None = None,
    implementation: str = "auto",
) -> np.ndarray:
    """Every integer point of the box with ``A y <= b`` and ``A_eq y == b_eq``, ``(k, n)``,
    lexicographic order.

    Feasible is ``a_j . y <= b_j + FEAS_TOL * max(1, |b_j|)`` for every row ``j`` of ``A``
    and ``|a_j . y - b_j| <= FEAS_TOL * max(1, |b_j|)`` for every row of ``A_eq``, where
    ``a_j . y`` is the sum of its two halves' activities (``split_box``).
    ``implementation``: ``"numpy"``, ``"numba"`` (one compiled loop,
    ``combopt_core.enumeration_kernel``; ``pip install 'combopt[fast]'``) or ``"auto"``
    (numba, when installed, for boxes of at least ``AUTO_KERNEL_POINTS`` points). Both
    compare the same sums with the same thresholds and list the same points.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"implementation: expected one of {IMPLEMENTATIONS}, got {implementation!r}"
        )
    n = lb.shape[0]
    A_eq = np.zeros((0, n)) if A_eq is None else A_eq
    b_eq = np.zeros(0) if b_eq is None else b_eq
    left, right = split_box(lb, ub)
    h = left.shape[1]
    upper = b + FEAS_TOL * np.maximum(1.0, np.abs(b))
    tol = FEAS_TOL * np.maximum(1.0, np.abs(b_eq))
    halves = (left @ A[:, :h].T, right @ A[:, h:].T, left @ A_eq[:, :h].T, right @ A_eq[:, h:].T)
    kernel = None
    if implementation == "numba" or left.shape[0] * right.shape[0] >= AUTO_KERNEL_POINTS:
        kernel = kernel_for("enumeration_kernel", implementation, "the compiled enumeration")
    if kernel is not None:
        feasible = np.empty((left.shape[0], right.shape[0]), dtype=np.bool_)
        left_A, right_A, left_eq, right_eq = (np.ascontiguousarray(v) for v in halves)
        kernel.feasible_mask(left_A, right_A, upper, left_eq, right_eq, b_eq, tol, feasible)
    else:
        feasible = np.ones((left.shape[0], right.shape[0]), dtype=bool)
        left_A, right_A, left_eq, right_eq = halves
        for j in range(A.shape[0]):
            feasible &= left_A[:, j, None] + right_A[None, :, j] <= upper[j]
        for j in range(A_eq.shape[0]):
            feasible &= np.abs(left_eq[:, j, None] + right_eq[None, :, j] - b_eq[j]) <= tol[j]
    i, k = np.divmod(np.flatnonzero(feasible), right.shape[0])  # lexicographic order
    return np.concatenate([left[i], right[k]], axis=1)


def least_cost(costs: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per cost row, the index of its optimal point among ``points`` and the optimum.

    ``costs (B, n)``, ``points (k, n)`` with ``k >= 1``; ties within ``OBJ_TOL`` go to the
    first point. Returns ``(index (B,), objective (B,))``; blocks keep memory bounded.
    """
    B = costs.shape[0]
    index = np.empty(B, dtype=np.intp)
    best = np.empty(B)
    rows = max(1, BLOCK_ELEMENTS // max(1, points.shape[0]))
    for s in range(0, B, rows):
        index[s : s + rows], best[s : s + rows] = _first_least(costs[s : s + rows] @ points.T)
    return index, best


def _first_least(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``values (B, k)``: the first position within ``OBJ_TOL`` of the row's
    minimum, and its value."""
    low = values.min(axis=1)
    near = values <= (low + OBJ_TOL * np.maximum(1.0, np.abs(low)))[:, None]
    first = np.argmax(near, axis=1)
    return first, values[np.arange(len(first)), first]


def check_enumeration(mode: str) -> str:
    """Validate the ``enumeration`` option (``"auto"``, ``"always"`` or ``"never"``)."""
    if mode not in ENUMERATION_MODES:
        raise ValueError(f"enumeration: expected one of {ENUMERATION_MODES}, got {mode!r}")
    return mode


def worth_enumerating(problem: ILPProblem, mode: str, batch_size: int) -> bool:
    """Whether ``batch_size`` instances of ``problem`` are answered by enumeration.

    Only a shared constraint set qualifies. ``"always"`` enumerates any shared set (it may
    be slow or run out of memory on a large box); ``"auto"`` only boxes of at most
    ``AUTO_MAX_POINTS`` points whose ``batch_size * P`` is at most ``AUTO_MAX_PRODUCT``
    (where a matrix product of that size costs less than the solves it replaces).
    """
    if mode == "never" or not problem.shared or batch_size == 0:
        return False
    if mode == "always":
        return True
    points = count_points(problem.lb, problem.ub)
    return points <= AUTO_MAX_POINTS and batch_size * points <= AUTO_MAX_PRODUCT


def solve_by_enumeration(problem: ILPProblem, rows: np.ndarray) -> list[Solution]:
    """Exact answers for the instances ``rows`` of a shared-constraint ``problem``.

    Every answer is ``OPTIMAL`` (or ``INFEASIBLE`` when no box point is feasible) with
    ``proof = Proof.ENUMERATION``; ``solve_time`` is this call's time shared evenly.
    """
    start = time.perf_counter()
    points = feasible_points(
        problem.A, problem.b, problem.lb, problem.ub, problem.A_eq, problem.b_eq
    )
    if points.shape[0] == 0:
        share = (time.perf_counter() - start) / max(1, len(rows))
        return [
            Solution(
                None,
                Status.INFEASIBLE,
                solve_time=share,
                message="infeasible (enumerated)",
                proof=Proof.ENUMERATION,
            )
            for _ in rows
        ]
    index, objective = least_cost(problem.c[rows], points)
    share = (time.perf_counter() - start) / max(1, len(rows))
    return [
        Solution(points[k].copy(), Status.OPTIMAL, float(obj), share, proof=Proof.ENUMERATION)
        for k, obj in zip(index, objective)
    ]
