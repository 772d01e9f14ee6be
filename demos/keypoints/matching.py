"""Decoders from ``p x p`` costs to matchings, and the metrics.

Costs follow the ILP's convention: low cost = good match; ``cost[i, j]`` scores source ``i``
against target ``j``. Matchings are 0/1 arrays ``(B, p, p)``.

Metrics:
- ``keypoint_accuracy``: the share of source keypoints whose output row is exactly the
  one-hot of its true match. A row with no or several selected targets counts as wrong, so
  an output that is not a permutation cannot gain accuracy by selecting more pairs. For a
  permutation output this is the usual matching accuracy (recall) of BB-GM.
- ``is_permutation``: whether the output is a valid permutation matrix.
- ``feasible_permutations``: the share of all ``p!`` permutation matrices that satisfy
  learned constraints ``A y <= b``; below 1, the layer cannot output the cut-off ones.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment


def _as_costs(costs: np.ndarray) -> np.ndarray:
    costs = np.asarray(costs, dtype=np.float64)
    if costs.ndim != 3 or costs.shape[1] != costs.shape[2]:
        raise ValueError(f"costs: expected shape (B, p, p), got {costs.shape}")
    return costs


def argmax_matching(costs: np.ndarray) -> np.ndarray:
    """Each source row independently picks its cheapest target (no constraints)."""
    costs = _as_costs(costs)
    out = np.zeros_like(costs)
    np.put_along_axis(out, costs.argmin(axis=2)[:, :, None], 1.0, axis=2)
    return out


def hungarian_matching(costs: np.ndarray) -> np.ndarray:
    """The minimum-cost permutation (the known assignment constraints), per instance."""
    costs = _as_costs(costs)
    out = np.zeros_like(costs)
    for k, c in enumerate(costs):
        rows, cols = linear_sum_assignment(c)
        out[k, rows, cols] = 1.0
    return out


def is_permutation(y: np.ndarray) -> np.ndarray:
    """``(B,)`` bool: every row and every column of ``y (B, p, p)`` sums to one, 0/1 entries."""
    y = np.asarray(y)
    binary = np.all((y == 0) | (y == 1), axis=(1, 2))
    return binary & np.all(y.sum(axis=1) == 1, axis=1) & np.all(y.sum(axis=2) == 1, axis=1)


def keypoint_accuracy(y: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """``(B,)`` share of source keypoints whose row of ``y`` is exactly ``e_{perm[i]}``."""
    y = np.asarray(y)
    perms = np.asarray(perms)
    if y.ndim != 3 or perms.shape != y.shape[:2]:
        raise ValueError(f"y, perms: expected (B, p, p) and (B, p), got {y.shape}, {perms.shape}")
    target = np.zeros_like(y)
    np.put_along_axis(target, perms[:, :, None], 1.0, axis=2)
    return np.all(y == target, axis=2).mean(axis=1)


def feasible_permutations(A: np.ndarray, b: np.ndarray, tol: float = 1e-9) -> float:
    """Share of the ``p!`` permutation matrices ``y`` (row-major ``(p^2,)``) with ``A y <= b``."""
    A, b = np.asarray(A, dtype=np.float64), np.asarray(b, dtype=np.float64)
    p = round(np.sqrt(A.shape[1]))
    if A.ndim != 2 or p * p != A.shape[1] or b.shape != (A.shape[0],):
        raise ValueError(f"A, b: expected (m, p^2) and (m,), got {A.shape}, {b.shape}")
    perms = np.array(list(itertools.permutations(range(p))))
    ys = np.zeros((len(perms), p, p))
    ys[np.arange(len(perms))[:, None], np.arange(p), perms] = 1.0
    return float(np.all(ys.reshape(len(perms), -1) @ A.T <= b + tol, axis=1).mean())
