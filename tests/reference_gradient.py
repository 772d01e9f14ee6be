"""An independent, plainly written reference of the CombOptNet backward for ONE instance.

Written from the paper's equations (4)-(9), (11), Proposition 1 and appendix B.1 with
explicit loops over targets and constraints, and finite differences replaced by the closed
form derivative of each piece. It shares no code with ``combopt_core.gradient``.

On the lattice (a slack within the tolerance) it encodes the one-sided limit from the
feasible side, the gradient at ``b + eps`` as ``eps -> 0+``: a row tight at ``y`` has
distance 0 and derivative ``(-y / ||a||, 1 / ||a||)``; a row tight at a target is satisfied.
"""

from __future__ import annotations

import math

import numpy as np


def _dist(a: np.ndarray, b: float, p: np.ndarray) -> float:
    return abs(float(a @ p) - b) / float(np.linalg.norm(a))


def _ddist(a: np.ndarray, b: float, p: np.ndarray) -> tuple[np.ndarray, float]:
    """Derivative of |a.p - b| / ||a|| w.r.t. a and b (sign(0) = 0)."""
    s = float(a @ p) - b
    na = float(np.linalg.norm(a))
    sg = float(np.sign(s))
    return sg * p / na - abs(s) * a / na**3, -sg / na


def _tight(a: np.ndarray, b: float, p: np.ndarray, tol: float) -> bool:
    """Whether p lies on the row a.p <= b, to the relative tolerance."""
    return abs(float(a @ p) - b) <= tol * max(1.0, abs(b))


def _dist_feasible_side(a: np.ndarray, b: float, y: np.ndarray, tol: float) -> float:
    """dist(y) on the lattice: 0 on a tight row (the limit from b + eps, eps -> 0+)."""
    return 0.0 if _tight(a, b, y, tol) else _dist(a, b, y)


def _ddist_feasible_side(
    a: np.ndarray, b: float, y: np.ndarray, tol: float
) -> tuple[np.ndarray, float]:
    """Derivative of dist(y) w.r.t. a and b; on a tight row the one-sided limit from the
    feasible side: with b + eps, a.y - b - eps = -eps < 0, so sign -1 and |s| -> 0."""
    if not _tight(a, b, y, tol):
        return _ddist(a, b, y)
    na = float(np.linalg.norm(a))
    return -y / na, 1.0 / na


def _targets(dy, y, lb, ub):
    """The Delta-basis decomposition of ``dy`` at ``y``: ``(lambda_k, Delta_k, y + Delta_k)``
    for every k with ``lambda_k > 0`` whose target differs from ``y`` and lies in the box."""
    n = len(y)
    dy = np.array(dy, dtype=float)
    # Appendix B.1: drop directions whose unit step leaves the box.
    for j in range(n):
        step = y[j] - np.sign(dy[j])
        if step < lb[j] or step > ub[j]:
            dy[j] = 0.0
    # Eq. (8): coordinates by |dy| decreasing (stable order on ties).
    order = sorted(range(n), key=lambda j: -abs(dy[j]))
    for k in range(n):
        # Proposition 1.
        nxt = abs(dy[order[k + 1]]) if k + 1 < n else 0.0
        lam = abs(dy[order[k]]) - nxt
        if lam == 0.0:
            continue
        # Eq. (9), pointing along -dy: Delta_k = -sum_{i<=k} sign(dy_{k_i}) e_{k_i}.
        delta = np.zeros(n)
        for i in range(k + 1):
            delta[order[i]] = -np.sign(dy[order[i]])
        target = y + delta
        if np.all(target == y) or np.any(target < lb) or np.any(target > ub):
            continue
        yield lam, delta, target


def reference_backward(dy, y, A, b, lb, ub, tau, tol=1e-9):
    """Return (dc, dA, db) for one instance: dy, y (n,), A (m, n), b (m,), lb/ub (n,)."""
    n = len(y)
    m = len(b)
    dc = np.zeros(n)
    dA = np.zeros((m, n))
    db = np.zeros(m)
    for lam, delta, target in _targets(dy, y, lb, ub):
        violated = [j for j in range(m) if A[j] @ target - b[j] > tol * max(1.0, abs(b[j]))]
        if not violated:
            # Eq. (7): cost mismatch c.(y' - y) has derivative (y' - y) in c.
            dc += lam * delta
            # Eq. (5) feasible case with eq. (11): softmin_j dist_j(y).
            if m == 0:
                continue
            dists = [_dist_feasible_side(A[j], b[j], y, tol) for j in range(m)]
            if tau == 0:
                weights = [0.0] * m
                weights[int(np.argmin(dists))] = 1.0
            else:
                lo = min(dists)
                exps = [math.exp(-(d - lo) / tau) for d in dists]
                weights = [e / sum(exps) for e in exps]
            for j in range(m):
                ga, gb = _ddist_feasible_side(A[j], b[j], y, tol)
                dA[j] += lam * weights[j] * ga
                db[j] += lam * weights[j] * gb
        else:
            # Eq. (5) infeasible case: sum over violated constraints of dist_j(y'). A row
            # tight at the target is satisfied there (the b + eps side): not in the sum.
            for j in violated:
                ga, gb = _ddist(A[j], b[j], target)
                dA[j] += lam * ga
                db[j] += lam * gb
    return dc, dA, db


def reference_backward_eq(dy, y, A, b, A_eq, b_eq, lb, ub, tau, tol=1e-9):
    """Return (dc, dA, db, dA_eq, db_eq) for one instance with equality rows A_eq y == b_eq.

    Written out for equality rows, not by stacking: each equality ``a.y == beta`` is two
    half-rows, ``side = +1`` (``a.y <= beta``) and ``side = -1`` (``-a.y <= -beta``), listed
    after the ``<=`` rows, plus halves first (the order decides ties at ``tau = 0``). Both
    halves have the distance ``|a.p - beta| / ||a||``, the same function of ``(a, beta)``,
    so off the lattice their derivatives in ``(a, beta)`` are ``_ddist``'s. A half is violated
    at ``p`` when ``side * (a.p - beta) > tol * max(1, |beta|)``. Tight at ``y``, each takes
    the limit from its own feasible side: ``side * (-y / ||a||, 1 / ||a||)`` in ``(a, beta)``.
    """
    n, m, m_eq = len(y), len(b), len(b_eq)
    # (kind, index, side): kind 0 a row of A, kind 1 a half of an equality.
    rows = [(0, j, 1.0) for j in range(m)]
    rows += [(1, j, 1.0) for j in range(m_eq)] + [(1, j, -1.0) for j in range(m_eq)]

    def data(row):
        kind, j, _ = row
        return (A[j], b[j]) if kind == 0 else (A_eq[j], b_eq[j])

    def violated_at(row, p):
        a, beta = data(row)
        return row[2] * (float(a @ p) - beta) > tol * max(1.0, abs(beta))

    def dist_y(row):
        a, beta = data(row)
        return 0.0 if _tight(a, beta, y, tol) else _dist(a, beta, y)

    def ddist_y(row):
        a, beta = data(row)
        if not _tight(a, beta, y, tol):
            return _ddist(a, beta, y)
        na = float(np.linalg.norm(a))
        return row[2] * (-y / na), row[2] * (1.0 / na)

    dc = np.zeros(n)
    grads = {0: (np.zeros((m, n)), np.zeros(m)), 1: (np.zeros((m_eq, n)), np.zeros(m_eq))}

    def add(row, weight, ga, gb):
        dA_, db_ = grads[row[0]]
        dA_[row[1]] += weight * ga
        db_[row[1]] += weight * gb

    for lam, delta, target in _targets(dy, y, lb, ub):
        violated = [row for row in rows if violated_at(row, target)]
        if not violated:
            dc += lam * delta
            if not rows:
                continue
            dists = [dist_y(row) for row in rows]
            if tau == 0:
                weights = [0.0] * len(rows)
                weights[int(np.argmin(dists))] = 1.0
            else:
                lo = min(dists)
                exps = [math.exp(-(d - lo) / tau) for d in dists]
                weights = [e / sum(exps) for e in exps]
            for row, w in zip(rows, weights):
                add(row, lam * w, *ddist_y(row))
        else:
            for row in violated:
                a, beta = data(row)
                add(row, lam, *_ddist(a, beta, target))
    return dc, grads[0][0], grads[0][1], grads[1][0], grads[1][1]
