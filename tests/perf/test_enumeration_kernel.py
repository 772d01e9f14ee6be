"""The compiled feasibility loop of enumeration lists exactly the NumPy path's points.

Both paths compare the same float64 sums of the two halves' activities with the same
thresholds, so they must agree point for point, including on points that lie exactly on a
row (``b`` set to a box point's activity) or within the tolerance of an equality row.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from combopt_core import enumeration, kernels
from combopt_core.enumeration import FEAS_TOL, feasible_points

pytest.importorskip("numba")


def all_box_points(lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    ranges = [np.arange(lo, hi + 1.0) for lo, hi in zip(lb, ub)]
    return np.array(list(itertools.product(*ranges)), dtype=np.float64).reshape(-1, len(lb))


def on_a_point(rng: np.random.Generator, A: np.ndarray, lb: np.ndarray, ub: np.ndarray):
    """``b`` with each row's value exactly at a random box point's activity."""
    y = rng.integers(lb.astype(int), ub.astype(int) + 1).astype(np.float64)
    return A @ y


CASES = {
    "binary n=16 m=4": (np.zeros(16), np.ones(16), 4, 0),
    "binary n=14 m=8": (np.zeros(14), np.ones(14), 8, 0),
    "wide n=6 m=3": (np.full(6, -2.0), np.full(6, 2.0), 3, 0),
    "fixed coordinate": (np.array([0, 0, 1, -1, 0.0]), np.array([1, 3, 1, 2, 2.0]), 2, 0),
    "equalities": (np.zeros(12), np.ones(12), 2, 2),
    "no rows": (np.zeros(15), np.ones(15), 0, 0),
    "one variable": (np.array([-3.0]), np.array([4.0]), 2, 0),
}


@pytest.mark.parametrize("case", CASES)
def test_numba_and_numpy_list_the_same_points(case):
    lb, ub, m, m_eq = CASES[case]
    rng = np.random.default_rng(len(case))
    n = len(lb)
    A = rng.normal(size=(m, n))
    b = on_a_point(rng, A, lb, ub)  # some points lie exactly on every row
    b[::2] += rng.normal(size=b[::2].shape)
    A_eq = rng.integers(-1, 2, size=(m_eq, n)).astype(np.float64) if m_eq else None
    b_eq = on_a_point(rng, A_eq, lb, ub) if m_eq else None
    if m_eq:
        b_eq[0] += 0.5 * FEAS_TOL  # inside the equality's tolerance
    numpy_points = feasible_points(A, b, lb, ub, A_eq, b_eq, implementation="numpy")
    numba_points = feasible_points(A, b, lb, ub, A_eq, b_eq, implementation="numba")
    np.testing.assert_array_equal(numba_points, numpy_points)
    # and both are the plain definition, on boxes small enough to list
    grid = all_box_points(lb, ub)
    keep = np.all(grid @ A.T <= b + FEAS_TOL * np.maximum(1, np.abs(b)), axis=1)
    if m_eq:
        keep &= np.all(np.abs(grid @ A_eq.T - b_eq) <= FEAS_TOL * np.maximum(1, np.abs(b_eq)), 1)
    assert 0 < keep.sum() < len(grid) or m == 0
    np.testing.assert_array_equal(numpy_points, grid[keep])


def test_an_empty_feasible_set_has_no_points_on_either_path():
    lb, ub = np.zeros(16), np.ones(16)
    A, b = np.ones((1, 16)), np.array([-1.0])
    for implementation in ("numpy", "numba"):
        assert feasible_points(A, b, lb, ub, implementation=implementation).shape == (0, 16)


def test_auto_compiles_only_boxes_of_at_least_the_threshold(monkeypatch):
    calls = []

    class Spy:
        @staticmethod
        def feasible_mask(left, right, *rest):
            calls.append(left.shape[0] * right.shape[0])
            rest[-1][:] = True

    monkeypatch.setattr(kernels, "load_kernel", lambda module: Spy)
    A, b = np.ones((1, 12)), np.array([3.0])
    small = feasible_points(A, b, np.zeros(12), np.ones(12))  # 2^12 points
    assert calls == [] and 2**12 < enumeration.AUTO_KERNEL_POINTS
    assert len(small) == sum(1 for y in itertools.product((0, 1), repeat=12) if sum(y) <= 3)
    feasible_points(np.ones((1, 14)), b, np.zeros(14), np.ones(14))  # 2^14 points
    assert calls == [2**14]


def test_bad_implementation_and_missing_numba_are_named(monkeypatch):
    A, b, lb, ub = np.ones((1, 3)), np.array([1.0]), np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="implementation.*'cuda'"):
        feasible_points(A, b, lb, ub, implementation="cuda")
    monkeypatch.setattr(kernels, "load_kernel", lambda module: None)
    with pytest.raises(ImportError, match=r"combopt\[fast\]"):
        feasible_points(A, b, lb, ub, implementation="numba")
    assert len(feasible_points(np.ones((1, 14)), b, np.zeros(14), np.ones(14))) == 15  # NumPy
