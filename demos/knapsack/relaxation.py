"""The knapsack LP relaxation and the paper's greedy rounding (numpy, batched).

Problem: ``max price.y  s.t.  weight.y <= capacity,  0 <= y <= 1`` with positive prices and
weights. Its optimum has Dantzig's closed form: take items in decreasing ``price / weight``
order while they fit, then the fraction of the next item that fills the capacity (ties in
the ratio go to the lower item index).

Greedy rounding (paper appendix A.1, CVXPY baseline): visit the items in decreasing order of
their relaxed value ``y_i`` (ties to the lower index) and add each one that still fits into
the remaining capacity. The result is always feasible for the weights it is given.
"""

from __future__ import annotations

import numpy as np

from .data import as_item_arrays


def _check(weights: np.ndarray, other: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    weights, other = as_item_arrays(weights, other, name)
    if np.any(weights <= 0):
        raise ValueError("weights: must be positive")
    return weights, other


def lp_relaxation(weights: np.ndarray, prices: np.ndarray, capacity: float) -> np.ndarray:
    """``(N, n)`` optimal fractional selection of ``N`` knapsack LPs (closed form)."""
    weights, prices = _check(weights, prices, "prices")
    order = np.argsort(-prices / weights, axis=1, kind="stable")
    w_sorted = np.take_along_axis(weights, order, axis=1)
    before = np.cumsum(w_sorted, axis=1) - w_sorted  # weight of the better items
    frac_sorted = np.clip((capacity - before) / w_sorted, 0.0, 1.0)
    # Items of non-positive price never help the maximisation.
    frac_sorted = np.where(np.take_along_axis(prices, order, axis=1) > 0, frac_sorted, 0.0)
    y = np.empty_like(frac_sorted)
    np.put_along_axis(y, order, frac_sorted, axis=1)
    return y


def greedy_round(relaxed: np.ndarray, weights: np.ndarray, capacity: float) -> np.ndarray:
    """``(N, n)`` 0/1 selection: items by decreasing ``relaxed`` value, each added if it fits."""
    weights, relaxed = _check(weights, relaxed, "relaxed")
    order = np.argsort(-relaxed, axis=1, kind="stable")
    y = np.zeros(weights.shape, dtype=np.uint8)
    room = np.full(weights.shape[0], float(capacity))
    rows = np.arange(weights.shape[0])
    for k in range(weights.shape[1]):
        item = order[:, k]
        w = weights[rows, item]
        fits = w <= room + 1e-12
        y[rows[fits], item[fits]] = 1
        room = np.where(fits, room - w, room)
    return y
