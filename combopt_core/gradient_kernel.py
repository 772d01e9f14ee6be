"""The CombOptNet backward as a fused, multi-threaded compiled kernel (numba).

Computes exactly what the NumPy reference ``combopt_core.gradient.combopt_gradients`` does
(same rule, same conventions, the feasible-side limit on the lattice included: see that
module's docstring), but reads each instance's
constraint matrix a few times instead of streaming ~15 ``(B, m, n)`` temporaries through
memory. Per instance, with its coordinates already sorted by ``|dy|`` decreasing, and per
constraint row ``a_j``:

1. one contiguous pass: ``a_j.y - b_j`` and ``||a_j||``;
2. one pass in sorted order: the slack of every target ``y'_k`` (a running sum), which
   targets violate the row (they are then infeasible), and the row's weighted sums of
   violated ``lambda_k`` and ``lambda_k * slack``;
3. if the row is violated by a target with ``lambda_k > 0``, one reverse pass in sorted order
   writing ``sum_k w_jk Delta_k / ||a_j||`` into the row of ``dA``;
4. after all rows (feasibility of a target needs every row), the cost gradient, the soft
   minimum over rows, and one contiguous pass per row adding the ``y`` and ``a_j`` terms.

Instances run in parallel (``numba.prange``) when the problem has at least
``PARALLEL_MIN_ELEMENTS`` entries of ``B m n``, else in the calling thread. For a per-instance ``A`` each instance owns its
slice of ``dA``; for a shared ``A`` the batch is cut into one contiguous chunk per thread,
each accumulating into its own ``(m, n)`` partial buffer, summed at the end: no two threads
ever write the same memory, and the result is deterministic for a given thread count
(``numba.get_num_threads()``, set by ``NUMBA_NUM_THREADS`` or ``numba.set_num_threads``).

This module imports numba at import time; ``combopt_core.gradient`` imports it only when the
compiled path is chosen, so the core keeps working with numpy and pluggy alone. Compiled
code is cached on disk (``cache=True``): the first call on a machine compiles (seconds), later
processes load it.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

# The workqueue threading layer aborts on concurrent launches from several Python threads;
# concurrent backwards would oversubscribe the cores anyway, so they take turns.
_LAUNCH_LOCK = threading.Lock()
#: Smallest ``B * m * n`` run on several threads. Waking numba's thread pool costs from tens
#: of microseconds on an idle machine to ~10 ms on a loaded one (measured here), while the
#: kernel does about 2^20 entries in 10 ms on one core: below that, the calling thread does it.
PARALLEL_MIN_ELEMENTS = 1 << 20


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _residual_and_norm(a, b, y, residual, norm):
    """``a_j.y - b_j`` and ``||a_j||`` per row; the sums may be reordered (SIMD)."""
    m, n = a.shape
    for j in range(m):
        dot = 0.0
        sq = 0.0
        for col in range(n):
            v = a[j, col]
            dot += v * y[col]
            sq += v * v
        residual[j] = dot - b[j]
        norm[j] = np.sqrt(sq)


@numba.njit(cache=True, nogil=True)
def _instance(a, b, y, order, sigma, lam, tau, feasibility_tol, out, dc, db, viol, feasible):
    """Gradient of one instance, ADDED into ``out (m, n)``; written into ``dc (n,)``, ``db (m,)``.

    ``order``/``sigma``/``lam`` are the sorted coordinates, their signs and Prop. 1's
    weights; ``viol (n,)`` and ``feasible (n,)`` are scratch buffers.
    """
    m, n = a.shape
    residual = np.empty(m)
    norm = np.empty(m)
    total_w = np.zeros(m)
    weighted_slack = np.zeros(m)
    _residual_and_norm(a, b, y, residual, norm)  # pass 1

    # Only the first ``moves`` targets differ from y (sigma is 0 from there on, and so are
    # lambda and every term of those targets): the passes in sorted order stop there.
    moves = 0
    while moves < n and sigma[moves] != 0:
        moves += 1
    feasible[:] = True
    for j in range(m):
        tol = feasibility_tol * max(1.0, abs(b[j]))
        valid = norm[j] > 0
        prefix = 0.0
        tw = 0.0
        ws = 0.0
        for k in range(moves):  # pass 2: slacks of the targets, in sorted order
            prefix += sigma[k] * a[j, order[k]]
            slack = residual[j] - prefix
            v = slack > tol
            viol[k] = v
            if v:
                feasible[k] = False
                if valid:
                    tw += lam[k]
                    ws += lam[k] * slack
        total_w[j] = tw
        weighted_slack[j] = ws
        if valid and tw > 0:  # pass 3: sum_k w_jk Delta_k, a reverse cumulative sum
            inv = 1.0 / norm[j]
            acc = 0.0
            for k in range(moves - 1, -1, -1):
                if viol[k]:
                    acc += lam[k]
                out[j, order[k]] -= sigma[k] * acc * inv

    # Cost mismatch: dc = sum_k lambda_k [feasible_k] Delta_k (reverse cumulative sum).
    for k in range(moves, n):
        dc[order[k]] = 0.0
    acc = 0.0
    for k in range(moves - 1, -1, -1):
        if feasible[k]:
            acc += lam[k]
        dc[order[k]] = -sigma[k] * acc
    weight_feasible = acc

    # Soft minimum over the valid rows of dist_j(y), weighted by the feasible targets. A row
    # tight at y (|a_j.y - b_j| <= tol) is at distance 0, differentiated from the feasible
    # side: ``gap`` holds |a_j.y - b_j| (0 when tight), ``sgn`` the side (-1 unless violated).
    p = np.zeros(m)
    gap = np.empty(m)
    sgn = np.empty(m)
    for j in range(m):
        tol = feasibility_tol * max(1.0, abs(b[j]))
        gap[j] = 0.0 if abs(residual[j]) <= tol else abs(residual[j])
        sgn[j] = 1.0 if residual[j] > tol else -1.0
    if weight_feasible > 0:
        lowest = np.inf
        first = -1
        for j in range(m):
            if norm[j] > 0:
                d = gap[j] / norm[j]
                if d < lowest:
                    lowest = d
                    first = j
        if first >= 0:
            if tau == 0:
                p[first] = weight_feasible
            else:
                total = 0.0
                for j in range(m):
                    if norm[j] > 0:
                        p[j] = np.exp(-(gap[j] / norm[j] - lowest) / tau)
                        total += p[j]
                for j in range(m):
                    p[j] *= weight_feasible / total

    for j in range(m):  # pass 4: the y and a_j terms of both branches
        if norm[j] > 0:
            inv = 1.0 / norm[j]
            coef_y = (p[j] * sgn[j] + total_w[j]) * inv
            coef_a = -(p[j] * gap[j] + weighted_slack[j]) * inv**3
        else:
            coef_y = 0.0
            coef_a = 0.0
        db[j] = -coef_y
        if coef_y != 0.0 or coef_a != 0.0:
            for col in range(n):
                out[j, col] += coef_y * y[col] + coef_a * a[j, col]


@numba.njit(cache=True, nogil=True)
def _chunk(A, b, y, order, sigma, lam, tau, feasibility_tol, shared, chunks, t, dA, dc, db):
    """Instances ``t B / chunks`` to ``(t + 1) B / chunks``, one after the other.

    ``A (1 or B, m, n)``, ``b (1 or B, m)``; ``dA`` is ``(B, m, n)`` (per-instance, zeroed
    here instance by instance) or ``(chunks, m, n)`` partial sums (shared, zero on entry; this
    chunk adds into ``dA[t]``).
    """
    B, n = y.shape
    viol = np.empty(n, dtype=np.bool_)
    feasible = np.empty(n, dtype=np.bool_)
    for i in range(t * B // chunks, (t + 1) * B // chunks):
        src = 0 if shared else i
        dst = t if shared else i
        if not shared:  # first touch of the output here: its page faults are spread too
            dA[dst][:, :] = 0.0
        _instance(
            A[src], b[src], y[i], order[i], sigma[i], lam[i], tau, feasibility_tol,
            dA[dst], dc[i], db[i], viol, feasible,
        )  # fmt: skip


@numba.njit(cache=True, parallel=True, nogil=True)
def _batch_parallel(A, b, y, order, sigma, lam, tau, feasibility_tol, shared, chunks, dA, dc, db):
    """Every chunk, on numba's thread pool."""
    for t in numba.prange(chunks):
        t = np.int64(t)  # the parallel index may be unsigned: keep the arithmetic signed
        _chunk(A, b, y, order, sigma, lam, tau, feasibility_tol, shared, chunks, t, dA, dc, db)


@numba.njit(cache=True, nogil=True)
def _batch_serial(A, b, y, order, sigma, lam, tau, feasibility_tol, shared, chunks, dA, dc, db):
    """Every chunk, in the calling thread (no thread-pool wake-up: for small problems)."""
    for t in range(chunks):
        _chunk(A, b, y, order, sigma, lam, tau, feasibility_tol, shared, chunks, t, dA, dc, db)


def kernel_gradients(
    y: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    order: np.ndarray,
    sigma: np.ndarray,
    lam: np.ndarray,
    tau: float,
    feasibility_tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(dc, dA, db)`` from the sorted basis; shapes and sums as ``combopt_gradients``.

    Args:
        y: ``(B, n)`` solutions; ``A``: ``(B, m, n)`` or shared ``(m, n)``; ``b`` likewise.
        order, sigma, lam: ``(B, n)`` coordinates by ``|dy|`` decreasing (after the box
            projection), ``sign(dy)`` and Prop. 1's ``lambda`` in that order.
    """
    shared = A.ndim == 2
    B = y.shape[0]
    m, n = A.shape[-2:]
    A3 = np.ascontiguousarray(A[None] if shared else A, dtype=np.float64)
    b2 = np.ascontiguousarray(b[None] if shared else b, dtype=np.float64)
    parallel = B * m * n >= PARALLEL_MIN_ELEMENTS and numba.get_num_threads() > 1
    if shared:
        chunks = min(B, numba.get_num_threads()) if parallel else 1
    else:
        chunks = B
    dA = np.zeros((max(chunks, 1), m, n)) if shared else np.empty((B, m, n))
    dc = np.empty((B, n))
    db = np.empty((B, m))
    if B:
        with _LAUNCH_LOCK:
            (_batch_parallel if parallel else _batch_serial)(
                A3, b2, np.ascontiguousarray(y, dtype=np.float64),
                np.ascontiguousarray(order, dtype=np.int64),
                np.ascontiguousarray(sigma, dtype=np.float64),
                np.ascontiguousarray(lam, dtype=np.float64),
                float(tau), float(feasibility_tol), shared, chunks, dA, dc, db,
            )  # fmt: skip
    if shared:
        return dc, dA.sum(axis=0), db.sum(axis=0)
    return dc, dA, db
