"""The LP-relaxation (CVXPY) baseline: greedy feasible rounding and the cvxpylayers model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from demos.lp_baseline import round_feasible


def test_rounding_keeps_a_feasible_nearest_point():
    A, b = np.array([[1.0, 1.0]]), np.array([1.5])
    assert np.array_equal(round_feasible(np.array([[0.2, 0.9]]), A, b, 0, 1), [[0, 1]])


def test_rounding_repairs_violations_with_the_fewest_greedy_steps():
    # Nearest point (1, 1) violates y1 + y2 <= 1; the repair drops the less certain coordinate.
    A, b = np.array([[1.0, 1.0]]), np.array([1.0])
    assert np.array_equal(round_feasible(np.array([[0.9, 0.6]]), A, b, 0, 1), [[1, 0]])
    # Dense box: a sum constraint far from the rounded point needs several steps.
    A, b = np.array([[1.0, 1.0, 1.0]]), np.array([-4.0])
    y = round_feasible(np.array([[2.2, 0.1, -1.0]]), A, b, -5, 5)
    assert (A @ y[0] <= b).all() and np.array_equal(y, np.rint(y))


def test_rounding_returns_feasible_points_whenever_greedy_can_reach_them():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(3, 6))
    b = A @ np.array([1, 0, 1, 0, 0, 1.0]) + 0.1  # that corner is feasible
    corners = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    y = round_feasible(rng.random((50, 6)), A, b, 0, 1)
    assert set(np.unique(y)) <= {0.0, 1.0}
    feasible = np.all(y @ A.T <= b + 1e-9, axis=1)
    assert feasible.mean() > 0.9
    assert np.any(np.all(corners @ A.T <= b, axis=1))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # numpy 2 notices inside diffcp
def test_lp_baseline_solves_the_relaxation_and_backpropagates_to_constraints():
    pytest.importorskip("cvxpylayers")
    from demos.lp_baseline import LPRelaxationBaseline

    model = LPRelaxationBaseline(6, 2, 0.0, 1.0, generator=torch.Generator().manual_seed(0))
    c = torch.nn.functional.normalize(torch.randn(4, 6, generator=torch.Generator().manual_seed(1)))
    y = model(c)
    assert y.shape == (4, 6)
    assert y.min() >= -1e-4 and y.max() <= 1 + 1e-4
    y.sum().backward()
    assert model.constraints.origins.grad is not None
    pred = model.predict(c)
    assert torch.equal(pred, torch.round(pred))
