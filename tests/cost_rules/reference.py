"""Plain references for the cost-rule tests: enumeration of every integer point of the box.

Shares no code with ``combopt_core``: ``argmin`` checks every point of ``{lb..ub}^n`` against
``A y <= b`` and keeps the cheapest. Costs in the tests are random floats, so optima are
unique (ties would let backends differ legitimately).
"""

from __future__ import annotations

import itertools

import numpy as np


def box_points(n: int, lb: int, ub: int) -> np.ndarray:
    return np.array(list(itertools.product(range(lb, ub + 1), repeat=n)), dtype=float)


def argmin(c: np.ndarray, A: np.ndarray, b: np.ndarray, lb: int, ub: int) -> np.ndarray:
    """``(B, n)`` optima of ``min c[i].y s.t. A[i] y <= b[i]`` (``A`` shared or per instance)."""
    points = box_points(c.shape[1], lb, ub)
    out = []
    for i, ci in enumerate(c):
        Ai, bi = (A, b) if A.ndim == 2 else (A[i], b[i])
        feasible = points[np.all(points @ Ai.T <= bi + 1e-9, axis=1)]
        out.append(feasible[np.argmin(feasible @ ci)])
    return np.array(out)


def small_problem(rng: np.random.Generator, batch: int, n: int, m: int, shared: bool):
    """Random ``c``, and ``A y <= b`` that the box's centre-ish point 0..1 satisfies."""
    c = rng.normal(size=(batch, n))
    shape = (m, n) if shared else (batch, m, n)
    A = rng.normal(size=shape)
    b = np.abs(rng.normal(size=shape[:-1])) + 0.5  # y = 0 is feasible
    return c, A, b
