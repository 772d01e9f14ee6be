"""The vectorised gradient rule against the plain reference, and the paper's properties."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import combopt_gradients
from combopt_core.gradient import project_dy
from reference_gradient import reference_backward

BOXES = {"binary": (0.0, 1.0), "dense": (-5.0, 5.0)}


def random_case(rng, box, B=6, m=4, n=9, shared=False):
    """Random integer points y in the box and random constraints through the box.

    Constraints pass near ``y`` so that targets fall on both sides of them.
    """
    lo, hi = BOXES[box]
    lb, ub = np.full(n, lo), np.full(n, hi)
    y = rng.integers(int(lo), int(hi) + 1, size=(B, n)).astype(float)
    shape = (m, n) if shared else (B, m, n)
    A = rng.normal(size=shape)
    anchor = y[0] if shared else y
    offset = rng.normal(scale=0.8, size=(m,) if shared else (B, m))
    b = np.einsum("...mn,...n->...m", A, anchor) + offset
    dy = rng.normal(size=(B, n))
    dy[rng.random((B, n)) < 0.2] = 0.0
    return dy, y, A, b, lb, ub


def reference_batch(dy, y, A, b, lb, ub, tau):
    shared = A.ndim == 2
    parts = [
        reference_backward(dy[i], y[i], A if shared else A[i], b if shared else b[i], lb, ub, tau)
        for i in range(len(y))
    ]
    dc = np.stack([p[0] for p in parts])
    dA = np.stack([p[1] for p in parts])
    db = np.stack([p[2] for p in parts])
    if shared:
        return dc, dA.sum(0), db.sum(0)
    return dc, dA, db


@pytest.mark.parametrize("box", sorted(BOXES))
@pytest.mark.parametrize("tau", [0.0, 0.1, 0.5, 2.0])
@pytest.mark.parametrize("shared", [False, True])
def test_matches_plain_reference(box, tau, shared):
    rng = np.random.default_rng(hash((box, tau, shared)) % 2**32)
    for _ in range(5):
        dy, y, A, b, lb, ub = random_case(rng, box, shared=shared)
        got = combopt_gradients(dy, y, A, b, lb, ub, tau=tau)
        want = reference_batch(dy, y, A, b, lb, ub, tau)
        np.testing.assert_allclose(got.dc, want[0], atol=1e-10)
        np.testing.assert_allclose(got.dA, want[1], atol=1e-10)
        np.testing.assert_allclose(got.db, want[2], atol=1e-10)


def test_reference_cases_cover_both_target_branches():
    """The random cases above really exercise feasible and infeasible targets."""
    rng = np.random.default_rng(0)
    kinds = set()
    for box in BOXES:
        dy, y, A, b, lb, ub = random_case(rng, box)
        for i in range(len(y)):
            order = np.argsort(-np.abs(dy[i]), kind="stable")
            delta = np.zeros_like(y[i])
            for j in order[: np.count_nonzero(dy[i])]:
                delta[j] -= np.sign(dy[i, j])
                t = y[i] + delta
                if np.all((t >= lb) & (t <= ub)):
                    kinds.add(bool(np.all(A[i] @ t <= b[i])))
    assert kinds == {True, False}


def test_dc_is_minus_dy_when_every_target_is_feasible():
    rng = np.random.default_rng(1)
    B, m, n = 5, 3, 12
    lb, ub = np.full(n, -5.0), np.full(n, 5.0)
    y = rng.integers(-4, 5, size=(B, n)).astype(float)  # interior: every step stays inside
    A = rng.normal(size=(B, m, n))
    b = np.einsum("bmn,bn->bm", A, y) + 100.0  # far away: every target is feasible
    dy = rng.normal(size=(B, n))
    g = combopt_gradients(dy, y, A, b, lb, ub, tau=0.5)
    np.testing.assert_allclose(g.dc, -dy, atol=1e-12)


def test_box_only_gives_dc_minus_projected_dy_and_no_constraint_gradient():
    rng = np.random.default_rng(2)
    B, n = 4, 10
    lb, ub = np.zeros(n), np.ones(n)
    y = rng.integers(0, 2, size=(B, n)).astype(float)
    dy = rng.normal(size=(B, n))
    g = combopt_gradients(dy, y, np.zeros((0, n)), np.zeros(0), lb, ub, tau=0.5)
    np.testing.assert_allclose(g.dc, -project_dy(dy, y, lb, ub), atol=1e-12)
    assert g.dA.shape == (0, n) and g.db.shape == (0,)


def test_projection_drops_steps_that_leave_the_box():
    y = np.array([[0.0, 1.0, 0.0, 1.0]])
    dy = np.array([[0.5, -0.5, -0.5, 0.5]])  # first two point outside [0, 1]
    out = project_dy(dy, y, np.zeros(4), np.ones(4))
    np.testing.assert_array_equal(out, [[0.0, 0.0, -0.5, 0.5]])


@pytest.mark.parametrize("box", sorted(BOXES))
def test_zero_dy_gives_zero_gradients(box):
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(3), box)
    g = combopt_gradients(np.zeros_like(dy), y, A, b, lb, ub)
    for part in (g.dc, g.dA, g.db):
        assert not np.any(part)


@pytest.mark.parametrize("scale", [0.01, 3.0, 250.0])
def test_positive_homogeneity(scale):
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(4), "dense")
    g1 = combopt_gradients(dy, y, A, b, lb, ub)
    g2 = combopt_gradients(scale * dy, y, A, b, lb, ub)
    for p1, p2 in zip((g1.dc, g1.dA, g1.db), (g2.dc, g2.dA, g2.db)):
        np.testing.assert_allclose(p2, scale * p1, rtol=1e-9, atol=1e-12)


def test_shared_constraints_sum_the_per_instance_gradients():
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(5), "binary", shared=True)
    B = len(y)
    shared = combopt_gradients(dy, y, A, b, lb, ub)
    per = combopt_gradients(dy, y, np.repeat(A[None], B, 0), np.repeat(b[None], B, 0), lb, ub)
    np.testing.assert_allclose(shared.dA, per.dA.sum(0), atol=1e-12)
    np.testing.assert_allclose(shared.db, per.db.sum(0), atol=1e-12)
    np.testing.assert_allclose(shared.dc, per.dc, atol=1e-12)


def test_infeasible_ilp_pushes_violated_constraints_out():
    """Empty region: y is the fallback point, every target violates something; the update
    -db (gradient descent) must loosen the violated constraints (raise b)."""
    n = 6
    A = np.ones((1, 1, n))
    b = np.array([[-1.0]])  # sum(y) <= -1 has no point in [0, 1]^n
    y = np.zeros((1, n))
    dy = -np.ones((1, n))  # the loss wants y to move up
    g = combopt_gradients(dy, y, A, b, np.zeros(n), np.ones(n))
    assert g.db[0, 0] < 0  # descent raises b: the constraint moves outward
    assert not np.any(g.dc)  # no feasible target, no cost signal


def test_feasible_target_pulls_nearest_constraint_in():
    """A feasible target means y should become infeasible: descent moves the nearest
    constraint towards y (its distance to y shrinks)."""
    n = 3
    A = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    y = np.array([[1.0, 1.0, 0.0]])
    b = np.array([[1.5, 3.0]])  # constraint 0 is nearer to y
    dy = np.array([[0.0, 0.0, -1.0]])  # target y3 = 1 is feasible and cheaper per the loss
    g = combopt_gradients(dy, y, A, b, np.zeros(n), np.ones(n), tau=0.0)
    step = 1e-3
    b_new = b - step * g.db
    A_new = A - step * g.dA
    dist = lambda A_, b_: np.abs(A_[0] @ y[0] - b_[0]) / np.linalg.norm(A_[0], axis=1)  # noqa: E731
    assert dist(A_new, b_new)[0] < dist(A, b)[0]
    assert dist(A_new, b_new)[1] == pytest.approx(dist(A, b)[1])


def test_negative_tau_is_rejected():
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(6), "binary")
    with pytest.raises(ValueError, match="tau"):
        combopt_gradients(dy, y, A, b, lb, ub, tau=-1.0)
