"""Turning real-valued constraints ``A y <= b`` into CP-SAT's integer constraints, soundly.

CP-SAT only accepts integer coefficients. Row ``i`` is scaled by a power of two
``s_i = 2**k_i`` chosen so that its largest coefficient lies in ``[2**(bits-1), 2**bits)``
(``bits = 24`` by default); scaling by a power of two is exact in floating point, so ``s_i b_i``
is exact. The coefficients are rounded, ``a'_ij = rint(s_i A_ij)``, and the rounding moves
the activity of any box point by at most ``E_i = sum_j |a'_ij - s_i A_ij| * max(|lb_j|, |ub_j|)``.
Two integer right-hand sides follow:

* ``relaxed = floor(s_i b_i + E_i)``: every point feasible for the float row satisfies the
  integer row, so the integer model is a *relaxation*. Its optimum is a lower bound, and if
  that point satisfies the float constraints it is a certified optimum of the float problem.
* ``tight = floor(s_i b_i - E_i)``: every point of the integer row satisfies the float row,
  so the integer model is a *restriction*; its optimum is feasible (an upper bound).

When ``A`` is exactly representable after scaling (integers, or few binary digits) ``E_i = 0``
and both equal ``floor(s_i b_i)``. The two can only disagree about points whose slack in the
float row is within ``E_i / s_i`` (about ``n * max|y| * 2**-bits`` relative to the row's
largest coefficient). ``k_i`` is lowered when needed so that every row's activity stays below
``2**51``: integer sums are then exact in float64 and far from the 64-bit overflow that CP-SAT
rejects models for. Rows that cannot keep 10 significant bits that way, and bounds beyond
``2**51``, are refused with a ``SolverError``. The float sums that produce the right-hand sides
are widened by two ulps so their own rounding cannot break either guarantee.

The objective is made integral the same way (``scale_objective``, largest cost near ``2**40``),
so CP-SAT optimises an integer objective exactly instead of its own coarser float scaling
(``mip_wanted_precision = 1e-6``, ``absolute_gap_limit = 1e-4`` by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from combopt_core import SolverError

DEFAULT_BITS = 24
DEFAULT_OBJECTIVE_BITS = 40
ACTIVITY_LIMIT_LOG2 = 51  # integer activities stay exact in float64 and far from int64 overflow
MIN_BITS = 10


@dataclass(frozen=True)
class ScaledRows:
    """Integer rows ``coef @ y <= rhs`` equivalent (see module doc) to the float rows kept.

    Attributes:
        coef: ``(k, n)`` int64 coefficients of the rows kept.
        relaxed, tight: ``(k,)`` int64 right-hand sides (relaxation and restriction).
        rows: ``(k,)`` indices of the original rows kept (all-zero and redundant rows go).
        trivially_infeasible: an all-zero row with ``b_i < -feas_tol * max(1, |b_i|)`` makes
            the problem infeasible.
    """

    coef: np.ndarray
    relaxed: np.ndarray
    tight: np.ndarray
    rows: np.ndarray
    trivially_infeasible: bool

    @property
    def exact(self) -> bool:
        """Whether the relaxation and the restriction coincide (no rounding happened)."""
        return bool(np.array_equal(self.relaxed, self.tight))


def scale_rows(
    A: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    bits: int = DEFAULT_BITS,
    feas_tol: float = 0.0,
) -> ScaledRows:
    """Scale and round ``A y <= b`` over the box ``[lb, ub]`` (see the module docstring).

    ``feas_tol``: the relaxation also keeps points with ``A_i y <= b_i + feas_tol *
    max(1, |b_i|)``, the float feasibility test the result is checked with.

    Raises:
        SolverError: when a row cannot be represented within 64-bit activities.
    """
    reach = np.maximum(np.abs(lb), np.abs(ub))  # max |y_j| over the box
    if reach.size and reach.max() >= 2.0**ACTIVITY_LIMIT_LOG2:
        raise SolverError(
            f"cpsat: variable bounds up to {reach.max():.3g} exceed CP-SAT's 64-bit range"
        )
    maxabs = np.abs(A).max(axis=1, initial=0.0)
    zero = maxabs == 0.0
    # 0 <= b_i holds to the same tolerance as every other row
    trivially_infeasible = bool(np.any(b[zero] < -feas_tol * np.maximum(1.0, np.abs(b[zero]))))
    keep = np.flatnonzero(~zero)
    _, exponent = np.frexp(maxabs[keep])  # maxabs in [2**(e-1), 2**e)
    k = bits - exponent
    # Largest scaled activity sum_j |s A_ij| reach_j must stay below 2**ACTIVITY_LIMIT_LOG2.
    size = np.abs(A[keep]) @ (reach + 1.0)  # > 0 for every kept row
    room = ACTIVITY_LIMIT_LOG2 - np.ceil(np.log2(size))
    k = np.minimum(k, room).astype(np.int64)
    lost = bits - (k + exponent)
    if np.any(bits - lost < MIN_BITS):
        i = int(keep[np.argmax(lost)])
        raise SolverError(
            f"cpsat: constraint row {i} of A cannot be scaled to integers without 64-bit "
            f"overflow (largest |A| {maxabs[i]:.3g}, variable reach up to {reach.max():.3g}); "
            "use a floating-point backend (highs, gurobi, scip)"
        )
    scaled = np.ldexp(A[keep], k[:, None])
    coef = np.rint(scaled)
    error = np.abs(coef - scaled) @ reach
    error = error * (1 + 1e-12) + np.where(error > 0, 1e-9, 0.0)  # float rounding of the sum
    low = np.minimum(coef * lb, coef * ub).sum(axis=1)
    high = np.maximum(coef * lb, coef * ub).sum(axis=1)
    with np.errstate(over="ignore"):  # a huge b for a tiny row: clipped to the activity range
        tol = np.ldexp(feas_tol * np.maximum(1.0, np.abs(b[keep])), k)
        slack = np.minimum(tol, 2.0**ACTIVITY_LIMIT_LOG2)
        # Exact inside the clip range, which is wide enough to keep every decision below.
        sb = np.clip(np.ldexp(b[keep], k), low - error - slack - 2, high + error + 2)
    # s*b is exact; adding error and slack rounds by at most half an ulp: widen by two ulps.
    up, down = sb + error + slack, sb - error
    relaxed = np.floor(up + np.where(error + slack > 0, 2 * np.spacing(np.abs(up)), 0.0))
    tight = np.floor(down - np.where(error > 0, 2 * np.spacing(np.abs(down)), 0.0))
    redundant = tight >= high  # every box point satisfies the row in both models
    relaxed = np.clip(relaxed, low - 1, high)
    tight = np.clip(tight, low - 1, high)
    kept = ~redundant
    return ScaledRows(
        coef=coef[kept].astype(np.int64),
        relaxed=relaxed[kept].astype(np.int64),
        tight=tight[kept].astype(np.int64),
        rows=keep[kept],
        trivially_infeasible=trivially_infeasible,
    )


@dataclass(frozen=True)
class ScaledObjective:
    """Integer costs ``coef ~ c * 2**exponent``: ``|c . y - coef . y / 2**exponent| <= error``
    on every box point.

    An optimum of the integer objective is therefore within ``2 * error`` of the float
    optimum; with the default 40 bits ``error`` is about ``n * max|y| * max|c| * 2**-41``.
    For a batch of costs ``(B, n)``, ``coef`` is ``(B, n)`` and ``exponent`` and ``error``
    are ``(B,)`` arrays, one scaling per row.
    """

    coef: np.ndarray
    exponent: int | np.ndarray
    error: float | np.ndarray


def scale_objective(
    c: np.ndarray, lb: np.ndarray, ub: np.ndarray, bits: int = DEFAULT_OBJECTIVE_BITS
) -> ScaledObjective:
    """Round ``c`` to integers after a power-of-two scaling (largest cost near ``2**bits``),
    lowering the scale so that ``|coef . y| < 2**52`` on the box (exact in float64 too).

    ``c``: ``(n,)`` costs, or ``(B, n)``, each row scaled on its own (one pass for a batch).
    An all-zero row gets exponent 0.
    """
    costs = np.atleast_2d(c)
    reach = np.maximum(np.abs(lb), np.abs(ub))
    maxabs = np.abs(costs).max(axis=1, initial=0.0)
    exponent = np.frexp(maxabs)[1]
    with np.errstate(divide="ignore"):  # log2(0) = -inf for an all-zero row, masked below
        room = 51 - np.ceil(np.log2(np.abs(costs) @ (reach + 1.0)))
    k = np.where(maxabs == 0.0, 0, np.minimum(bits - exponent, room)).astype(np.int64)
    scaled = np.ldexp(costs, k[:, None])
    coef = np.rint(scaled)
    error = np.ldexp(np.abs(coef - scaled) @ reach, -k)
    if np.ndim(c) == 1:
        return ScaledObjective(coef[0].astype(np.int64), int(k[0]), float(error[0]))
    return ScaledObjective(coef.astype(np.int64), k, error)
