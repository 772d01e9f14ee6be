"""The feasibility test of ``combopt_core.enumeration`` as one compiled loop (numba).

``feasible_mask`` decides, for every pair ``(i, k)`` of a left and a right half-point, what
``enumeration.feasible_points`` decides with one ``(P_L, P_R)`` NumPy temporary per row: the
same float64 sums ``left_i + right_k`` of the same per-half activities, compared with the
same thresholds, so both paths list the same points. The loop stops at the first violated
row of a pair (most points of a learned system fail one of the first rows) and allocates
nothing: on a binary box of 2^16 points with 4 rows it takes a fraction of the NumPy pass.

This module imports numba at import time; ``combopt_core.enumeration`` imports it only when
the compiled path is chosen. Compiled code is cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True)
def feasible_mask(left, right, upper, left_eq, right_eq, target, tol, out):
    """Fill ``out (P_L, P_R)`` with whether pair ``(i, k)`` satisfies every row.

    ``left (P_L, m)`` and ``right (P_R, m)``: each half-point's activity on every ``<=`` row
    (``a_j[:h] . y_L`` and ``a_j[h:] . y_R``), ``upper (m,)`` the rows' thresholds;
    ``left_eq``, ``right_eq``, ``target``, ``tol`` likewise for the equality rows, which
    hold when ``|activity - target| <= tol``.
    """
    rows, rows_eq = upper.shape[0], target.shape[0]
    for i in range(left.shape[0]):
        for k in range(right.shape[0]):
            ok = True
            for j in range(rows):
                if not left[i, j] + right[k, j] <= upper[j]:
                    ok = False
                    break
            if ok:
                for j in range(rows_eq):
                    if not abs(left_eq[i, j] + right_eq[k, j] - target[j]) <= tol[j]:
                        ok = False
                        break
            out[i, k] = ok
