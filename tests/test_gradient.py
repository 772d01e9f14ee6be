"""The gradient rule against the plain reference, and the paper's properties.

Every test taking the ``implementation`` fixture runs on the NumPy reference code and on the
compiled kernel (``combopt_core.gradient_kernel``).
"""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from reference_gradient import reference_backward, reference_backward_eq

from combopt_core import combopt_gradients
from combopt_core.gradient import project_dy

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
def test_matches_plain_reference(box, tau, shared, implementation):
    rng = np.random.default_rng(hash((box, tau, shared)) % 2**32)
    for _ in range(5):
        dy, y, A, b, lb, ub = random_case(rng, box, shared=shared)
        got = combopt_gradients(dy, y, A, b, lb, ub, tau=tau, implementation=implementation)
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


def test_dc_is_minus_dy_when_every_target_is_feasible(implementation):
    rng = np.random.default_rng(1)
    B, m, n = 5, 3, 12
    lb, ub = np.full(n, -5.0), np.full(n, 5.0)
    y = rng.integers(-4, 5, size=(B, n)).astype(float)  # interior: every step stays inside
    A = rng.normal(size=(B, m, n))
    b = np.einsum("bmn,bn->bm", A, y) + 100.0  # far away: every target is feasible
    dy = rng.normal(size=(B, n))
    g = combopt_gradients(dy, y, A, b, lb, ub, tau=0.5, implementation=implementation)
    np.testing.assert_allclose(g.dc, -dy, atol=1e-12)


def test_box_only_gives_dc_minus_projected_dy_and_no_constraint_gradient(implementation):
    rng = np.random.default_rng(2)
    B, n = 4, 10
    lb, ub = np.zeros(n), np.ones(n)
    y = rng.integers(0, 2, size=(B, n)).astype(float)
    dy = rng.normal(size=(B, n))
    g = combopt_gradients(
        dy, y, np.zeros((0, n)), np.zeros(0), lb, ub, tau=0.5, implementation=implementation
    )
    np.testing.assert_allclose(g.dc, -project_dy(dy, y, lb, ub), atol=1e-12)
    assert g.dA.shape == (0, n) and g.db.shape == (0,)


def test_projection_drops_steps_that_leave_the_box():
    y = np.array([[0.0, 1.0, 0.0, 1.0]])
    dy = np.array([[0.5, -0.5, -0.5, 0.5]])  # first two point outside [0, 1]
    out = project_dy(dy, y, np.zeros(4), np.ones(4))
    np.testing.assert_array_equal(out, [[0.0, 0.0, -0.5, 0.5]])


@pytest.mark.parametrize("box", sorted(BOXES))
def test_zero_dy_gives_zero_gradients(box, implementation):
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(3), box)
    g = combopt_gradients(np.zeros_like(dy), y, A, b, lb, ub, implementation=implementation)
    for part in (g.dc, g.dA, g.db):
        assert not np.any(part)


@pytest.mark.parametrize("scale", [0.01, 3.0, 250.0])
def test_positive_homogeneity(scale, implementation):
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(4), "dense")
    g1 = combopt_gradients(dy, y, A, b, lb, ub, implementation=implementation)
    g2 = combopt_gradients(scale * dy, y, A, b, lb, ub, implementation=implementation)
    for p1, p2 in zip((g1.dc, g1.dA, g1.db), (g2.dc, g2.dA, g2.db)):
        np.testing.assert_allclose(p2, scale * p1, rtol=1e-9, atol=1e-12)


def test_shared_constraints_sum_the_per_instance_gradients(implementation):
    dy, y, A, b, lb, ub = random_case(np.random.default_rng(5), "binary", shared=True)
    B = len(y)
    shared = combopt_gradients(dy, y, A, b, lb, ub, implementation=implementation)
    per = combopt_gradients(
        dy,
        y,
        np.repeat(A[None], B, 0),
        np.repeat(b[None], B, 0),
        lb,
        ub,
        implementation=implementation,
    )
    np.testing.assert_allclose(shared.dA, per.dA.sum(0), atol=1e-12)
    np.testing.assert_allclose(shared.db, per.db.sum(0), atol=1e-12)
    np.testing.assert_allclose(shared.dc, per.dc, atol=1e-12)


def test_infeasible_ilp_pushes_violated_constraints_out(implementation):
    """Empty region: y is the fallback point, every target violates something; the update
    -db (gradient descent) must loosen the violated constraints (raise b)."""
    n = 6
    A = np.ones((1, 1, n))
    b = np.array([[-1.0]])  # sum(y) <= -1 has no point in [0, 1]^n
    y = np.zeros((1, n))
    dy = -np.ones((1, n))  # the loss wants y to move up
    g = combopt_gradients(dy, y, A, b, np.zeros(n), np.ones(n), implementation=implementation)
    assert g.db[0, 0] < 0  # descent raises b: the constraint moves outward
    assert not np.any(g.dc)  # no feasible target, no cost signal


def test_feasible_target_pulls_nearest_constraint_in(implementation):
    """A feasible target means y should become infeasible: descent moves the nearest
    constraint towards y (its distance to y shrinks)."""
    n = 3
    A = np.array([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]])
    y = np.array([[1.0, 1.0, 0.0]])
    b = np.array([[1.5, 3.0]])  # constraint 0 is nearer to y
    dy = np.array([[0.0, 0.0, -1.0]])  # target y3 = 1 is feasible and cheaper per the loss
    g = combopt_gradients(
        dy, y, A, b, np.zeros(n), np.ones(n), tau=0.0, implementation=implementation
    )
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


def _assert_same(got, want, atol=1e-10):
    for part, g, w in zip(("dc", "dA", "db"), (got.dc, got.dA, got.db), want):
        np.testing.assert_allclose(g, w, atol=atol, err_msg=part)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("box", sorted(BOXES))
def test_zero_rows_always_satisfied_get_no_gradient(box, shared, implementation):
    """``a_j = 0, b_j >= 0``: the row is out of every distance; the others are unchanged."""
    rng = np.random.default_rng(7)
    dy, y, A, b, lb, ub = random_case(rng, box, m=5, shared=shared)
    A[..., 2, :] = 0.0
    b[..., 2] = np.abs(b[..., 2])
    got = combopt_gradients(dy, y, A, b, lb, ub, tau=0.5, implementation=implementation)
    keep = [0, 1, 3, 4]
    want = reference_batch(dy, y, A[..., keep, :], b[..., keep], lb, ub, 0.5)
    np.testing.assert_allclose(got.dc, want[0], atol=1e-10)
    np.testing.assert_allclose(np.delete(got.dA, 2, axis=-2), want[1], atol=1e-10)
    np.testing.assert_allclose(np.delete(got.db, 2, axis=-1), want[2], atol=1e-10)
    assert not np.any(got.dA[..., 2, :]) and not np.any(got.db[..., 2])


@pytest.mark.parametrize("shared", [False, True])
def test_zero_row_never_satisfied_makes_every_target_infeasible(shared, implementation):
    """``a_j = 0, b_j < 0``: the ILP is infeasible; no cost signal, the row gets no gradient,
    the other rows are pushed out exactly as if a row violated by every point were there."""
    rng = np.random.default_rng(8)
    dy, y, A, b, lb, ub = random_case(rng, "dense", m=4, shared=shared)
    A[..., 0, :] = 0.0
    b[..., 0] = -1.0
    got = combopt_gradients(dy, y, A, b, lb, ub, tau=0.5, implementation=implementation)
    A_far, b_far = A.copy(), b.copy()
    A_far[..., 0, 0] = 1.0
    b_far[..., 0] = -100.0  # violated by every point of [-5, 5]^n
    want = reference_batch(dy, y, A_far, b_far, lb, ub, 0.5)
    assert not np.any(got.dc) and not np.any(want[0])
    np.testing.assert_allclose(got.dA[..., 1:, :], want[1][..., 1:, :], atol=1e-10)
    np.testing.assert_allclose(got.db[..., 1:], want[2][..., 1:], atol=1e-10)
    assert not np.any(got.dA[..., 0, :]) and not np.any(got.db[..., 0])


@pytest.mark.parametrize("shared", [False, True])
def test_box_only_per_instance_and_shared(shared, implementation):
    """``m = 0`` with either layout of ``A``."""
    rng = np.random.default_rng(9)
    B, n = 3, 7
    y = rng.integers(-5, 6, size=(B, n)).astype(float)
    dy = rng.normal(size=(B, n))
    lb, ub = np.full(n, -5.0), np.full(n, 5.0)
    A = np.zeros((0, n) if shared else (B, 0, n))
    b = np.zeros((0,) if shared else (B, 0))
    g = combopt_gradients(dy, y, A, b, lb, ub, implementation=implementation)
    np.testing.assert_allclose(g.dc, -project_dy(dy, y, lb, ub), atol=1e-12)
    assert g.dA.shape == A.shape and g.db.shape == b.shape


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_infeasible_batch_matches_reference(shared, tau, implementation):
    """Several instances with an empty region (``sum y <= -1`` in the binary box) mixed with
    feasible ones: only the push-out branch acts on the empty ones."""
    rng = np.random.default_rng(10)
    dy, y, A, b, lb, ub = random_case(rng, "binary", B=5, m=3, n=8, shared=shared)
    if shared:
        A[0], b[0] = 1.0, -1.0
    else:
        A[::2, 0], b[::2, 0] = 1.0, -1.0
    got = combopt_gradients(dy, y, A, b, lb, ub, tau=tau, implementation=implementation)
    want = reference_batch(dy, y, A, b, lb, ub, tau)
    _assert_same(got, want)
    assert not np.any(got.dc[0])


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("tau", [0.0, 0.5])
@pytest.mark.parametrize("box", sorted(BOXES))
def test_larger_batches_match_the_numpy_reference(box, tau, shared, implementation):
    """A batch large enough for several threads and shared-A partial buffers, with ties in
    ``|dy|`` (integer gradients) and integer constraints (ties in the hard minimum)."""
    rng = np.random.default_rng(hash((box, tau, shared)) % 2**32)
    B, m, n = 37, 11, 60
    lo, hi = BOXES[box]
    y = rng.integers(int(lo), int(hi) + 1, size=(B, n)).astype(float)
    A = rng.integers(-3, 4, size=(m, n) if shared else (B, m, n)).astype(float)
    b = np.einsum("...mn,...n->...m", A, y[0] if shared else y) + rng.integers(-2, 3, A.shape[:-1])
    dy = rng.integers(-3, 4, size=(B, n)).astype(float)
    lb, ub = np.full(n, lo), np.full(n, hi)
    got = combopt_gradients(dy, y, A, b, lb, ub, tau=tau, implementation=implementation)
    want = combopt_gradients(dy, y, A, b, lb, ub, tau=tau, implementation="numpy")
    _assert_same(got, (want.dc, want.dA, want.db), atol=1e-9)
    if implementation == "numpy":  # and the NumPy code against the plain loops, on a slice
        ref = reference_batch(
            dy[:4], y[:4], A if shared else A[:4], b if shared else b[:4], lb, ub, tau
        )
        part = combopt_gradients(
            dy[:4], y[:4], A if shared else A[:4], b if shared else b[:4], lb, ub, tau=tau
        )
        _assert_same(part, ref, atol=1e-9)


# Choosing the implementation.


def _spy_kernel(monkeypatch):
    """Stand in for the compiled module (numba not needed); records the batch sizes it got."""
    from combopt_core import gradient

    calls = []

    def kernel_gradients(y, A, b, *rest):
        calls.append(len(y))
        return np.zeros_like(y), np.zeros(A.shape), np.zeros(b.shape)

    fake = types.SimpleNamespace(kernel_gradients=kernel_gradients)
    monkeypatch.setitem(sys.modules, "combopt_core.gradient_kernel", fake)
    monkeypatch.setattr(gradient, "kernel_available", lambda: True)
    return calls


def test_auto_uses_the_kernel_only_above_the_threshold(monkeypatch):
    from combopt_core import gradient

    calls = _spy_kernel(monkeypatch)
    monkeypatch.delenv(gradient.IMPLEMENTATION_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # as in a process without it
    args = random_case(np.random.default_rng(11), "binary", B=4, m=3, n=5)
    monkeypatch.setattr(gradient, "AUTO_MIN_ELEMENTS", 4 * 3 * 5 + 1)
    combopt_gradients(*args)
    assert calls == []
    monkeypatch.setattr(gradient, "AUTO_MIN_ELEMENTS", 4 * 3 * 5)
    combopt_gradients(*args)
    assert calls == [4]
    combopt_gradients(*args, implementation="numpy")
    assert calls == [4]


def test_auto_uses_the_kernel_below_the_threshold_once_numba_is_imported(monkeypatch):
    from combopt_core import gradient

    calls = _spy_kernel(monkeypatch)
    monkeypatch.delenv(gradient.IMPLEMENTATION_ENV, raising=False)
    monkeypatch.setitem(sys.modules, "numba", types.ModuleType("numba"))
    args = random_case(np.random.default_rng(11), "binary", B=4, m=3, n=5)
    assert 4 * 3 * 5 < gradient.AUTO_MIN_ELEMENTS
    combopt_gradients(*args)
    assert calls == [4]


def test_environment_variable_sets_the_default(monkeypatch):
    from combopt_core import gradient

    calls = _spy_kernel(monkeypatch)
    args = random_case(np.random.default_rng(12), "binary", B=2, m=2, n=3)
    monkeypatch.setenv(gradient.IMPLEMENTATION_ENV, "numba")
    combopt_gradients(*args)
    assert calls == [2]
    combopt_gradients(*args, implementation="numpy")  # the argument wins
    assert calls == [2]
    monkeypatch.setenv(gradient.IMPLEMENTATION_ENV, "fortran")
    with pytest.raises(ValueError, match="COMBOPT_BACKWARD.*fortran"):
        combopt_gradients(*args)


def test_unknown_implementation_is_rejected():
    args = random_case(np.random.default_rng(13), "binary")
    with pytest.raises(ValueError, match="implementation.*'cuda'"):
        combopt_gradients(*args, implementation="cuda")


def test_numba_without_numba_says_how_to_install(monkeypatch):
    from combopt_core import kernels

    monkeypatch.setattr(kernels, "load_kernel", lambda module: None)
    args = random_case(np.random.default_rng(14), "binary")
    with pytest.raises(ImportError, match=r"combopt\[fast\]"):
        combopt_gradients(*args, implementation="numba")


def test_core_works_without_numba_and_small_problems_never_import_it():
    """A fresh interpreter where numba cannot be imported: ``auto`` falls back to NumPy on a
    large problem; with numba importable, a small problem still does not import it."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "block = sys.argv[1] == 'block'\n"
        "if block: sys.modules['numba'] = None\n"
        "import numpy as np\n"
        "from combopt_core import combopt_gradients, gradient\n"
        "B, m, n = (64, 64, 64) if block else (2, 3, 4)\n"
        "rng = np.random.default_rng(0)\n"
        "y = rng.integers(0, 2, (B, n)).astype(float)\n"
        "g = combopt_gradients(rng.normal(size=(B, n)), y, rng.normal(size=(m, n)),\n"
        "                      np.ones(m), np.zeros(n), np.ones(n), implementation='auto')\n"
        "assert (B * m * n >= gradient.AUTO_MIN_ELEMENTS) == block\n"
        "print(g.dA.shape, 'numba' in sys.modules and sys.modules['numba'] is not None)\n"
    )
    for mode, want in (("block", "(64, 64) False"), ("small", "(3, 4) False")):
        out = subprocess.run(
            [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == want, out.stderr


@pytest.mark.parametrize("shared", [False, True])
def test_targets_exactly_on_a_constraint_are_feasible(shared, implementation):
    """With ``feasibility_tol = 0`` and integer data (exact slacks), ``a_j.y'_k = b_j`` is
    feasible: the test is ``slack > tol``, not ``>=``."""
    rng = np.random.default_rng(15)
    B, m, n = 6, 3, 8
    y = rng.integers(0, 2, size=(B, n)).astype(float)
    A = rng.integers(-1, 2, size=(m, n) if shared else (B, m, n)).astype(float)
    b = np.einsum("...mn,...n->...m", A, y[0] if shared else y)  # y on every constraint
    dy = rng.integers(-2, 3, size=(B, n)).astype(float)
    lb, ub = np.zeros(n), np.ones(n)
    got = combopt_gradients(
        dy, y, A, b, lb, ub, tau=0.0, feasibility_tol=0.0, implementation=implementation
    )
    want = reference_batch(dy, y, A, b, lb, ub, 0.0)  # tol * max(1, |b|) with tol 1e-9
    _assert_same(got, want, atol=1e-10)


# On the lattice: slacks exactly 0 take the one-sided limit from the feasible side.


def test_issue_example_takes_the_limit_from_the_feasible_side(implementation):
    """``y1 + y2 <= 1`` is tight at ``y = (1, 0)``: the gradient is the ``b = 1 + eps`` one."""
    A, c, dy = np.array([[1.0, 1.0]]), np.array([-1.0, -0.5]), np.array([[1.0, 0.0]])
    lb, ub = np.zeros(2), np.ones(2)
    y = np.array([[1.0, 0.0]])  # argmin of c.y over {y in {0,1}^2 : y1 + y2 <= 1}
    assert c @ y[0] == min(c @ p for p in ([0, 0], [1, 0], [0, 1]))
    tight, slack = (
        combopt_gradients(dy, y, A, np.array([b]), lb, ub, tau=0.0, implementation=implementation)
        for b in (1.0, 1.001)
    )
    root = 1 / np.sqrt(2)
    np.testing.assert_allclose(tight.dA, [[-root, 0.0]], atol=1e-12)
    np.testing.assert_allclose(tight.db, [root], atol=1e-12)
    np.testing.assert_allclose(tight.dA, slack.dA, atol=1e-3)
    np.testing.assert_allclose(tight.db, slack.db, atol=1e-3)
    np.testing.assert_allclose(tight.dc, [[-1.0, 0.0]], atol=1e-12)


def _lattice_case(rng, family, lo, hi, B, m=4, n=5):
    """Integer ILPs whose optimum ``y`` (by enumeration) lies on constraints.

    ``knapsack``: rows of nonnegative integer weights, integer capacities; ``equality``: one
    or two equalities ``a.y = beta`` written as the pair ``a.y <= beta``, ``-a.y <= -beta``
    (the optimum lies on both rows), plus integer ``<=`` rows. Instances without a feasible
    point are redrawn.
    """
    points = np.array(np.meshgrid(*[np.arange(lo, hi + 1)] * n, indexing="ij")).reshape(n, -1).T
    ys, As, bs = [], [], []
    while len(ys) < B:
        if family == "knapsack":
            A = rng.integers(0, 6, size=(m, n)).astype(float)
            A[A.sum(axis=1) == 0, 0] = 1.0
            b = np.floor(rng.uniform(0.3, 0.7, m) * np.abs(A).sum(axis=1) * max(abs(lo), hi))
        else:
            pairs = int(rng.integers(1, 3))
            E = rng.integers(-2, 3, size=(pairs, n)).astype(float)
            E[~E.any(axis=1), 0] = 1.0
            beta = E @ rng.integers(lo, hi + 1, size=n)
            R = rng.integers(-3, 4, size=(m - 2 * pairs, n)).astype(float)
            R[~R.any(axis=1), 0] = 1.0
            r = R @ rng.integers(lo, hi + 1, size=n) + rng.integers(0, 3, size=len(R))
            A = np.concatenate([E, -E, R])
            b = np.concatenate([beta, -beta, r])
        c = rng.normal(size=n) - (0.5 if family == "knapsack" else 0.0)
        ok = np.all(points @ A.T <= b, axis=1)
        if not ok.any():
            continue
        feasible = points[ok]
        ys.append(feasible[np.argmin(feasible @ c)].astype(float))
        As.append(A)
        bs.append(b)
    dy = rng.normal(size=(B, n))
    ties = rng.random(B) < 0.3  # integer dy: ties in |dy| too
    dy[ties] = rng.integers(-2, 3, size=(int(ties.sum()), n))
    lb, ub = np.full(n, float(lo)), np.full(n, float(hi))
    return dy, np.array(ys), np.array(As), np.array(bs), lb, ub


LATTICE_CASES = [
    (family, box, tau)
    for family in ("knapsack", "equality")
    for box in ((0, 1), (-2, 2))
    for tau in (0.0, 0.5)
]


@pytest.mark.parametrize("family,box,tau", LATTICE_CASES, ids=lambda v: str(v))
def test_integer_data_matches_the_lattice_reference(family, box, tau, implementation):
    """150 integer ILPs per case (1,200 over the eight cases): 0 disagreements with the plain
    reference, and the cases really put ``y`` on rows that then get a gradient."""
    rng = np.random.default_rng(100 + LATTICE_CASES.index((family, box, tau)))
    B = 150
    dy, y, A, b, lb, ub = _lattice_case(rng, family, *box, B=B)
    got = combopt_gradients(dy, y, A, b, lb, ub, tau=tau, implementation=implementation)
    want = reference_batch(dy, y, A, b, lb, ub, tau)
    bad = [
        i
        for i in range(B)
        if not all(
            np.allclose(g[i], w[i], atol=1e-10) for g, w in zip((got.dc, got.dA, got.db), want)
        )
    ]
    assert bad == [], f"{len(bad)} of {B} disagree, first {bad[:5]}"
    tight = np.isclose(np.einsum("bmn,bn->bm", A, y), b, rtol=0, atol=1e-9)
    assert tight.any(axis=1).mean() > 0.3
    assert np.any(tight & (got.db != 0))  # tight rows learn, as the limit says


@pytest.mark.parametrize("family", ["knapsack", "equality"])
def test_lattice_gradient_is_the_limit_from_b_plus_eps(family, implementation):
    """The gradient at integer ``b`` is the limit of the gradient at ``b + eps`` (same ``y``),
    ``eps -> 0+``: differences shrink like ``eps`` (soft minimum, ``tau > 0``, continuous)."""
    rng = np.random.default_rng(16)
    dy, y, A, b, lb, ub = _lattice_case(rng, family, -2, 2, B=60)
    at = combopt_gradients(dy, y, A, b, lb, ub, tau=0.5, implementation=implementation)
    for eps in (1e-4, 1e-6):
        near = combopt_gradients(dy, y, A, b + eps, lb, ub, tau=0.5, implementation=implementation)
        _assert_same(at, (near.dc, near.dA, near.db), atol=50 * eps)


def test_row_tight_at_an_infeasible_target_is_satisfied_there(implementation):
    """Target ``(1, 1)`` violates row 0 (``y1 <= 0`` after the move) and lies on row 1
    (``y1 + y2 <= 2``): only row 0 is pushed out; row 1 gets nothing, as at ``b_1 + eps``."""
    A = np.array([[1.0, 0.0], [1.0, 1.0]])
    b = np.array([0.0, 2.0])
    y = np.array([[0.0, 1.0]])  # feasible; row 0 tight, row 1 slack by 1
    dy = np.array([[-1.0, 0.0]])  # the only target: y1 = 1, i.e. (1, 1)
    lb, ub = np.zeros(2), np.ones(2)
    g = combopt_gradients(dy, y, A, b, lb, ub, tau=0.0, implementation=implementation)
    near = combopt_gradients(
        dy, y, A, b + [0.0, 1e-7], lb, ub, tau=0.0, implementation=implementation
    )
    assert not np.any(g.dA[1]) and g.db[1] == 0.0
    assert g.db[0] < 0  # descent raises b_0: the violated row moves out
    np.testing.assert_allclose(g.dA, near.dA, atol=1e-12)
    np.testing.assert_allclose(g.db, near.db, atol=1e-12)
    np.testing.assert_allclose(g.dA, reference_batch(dy, y, A, b, lb, ub, 0.0)[1], atol=1e-12)


def _equality_case(rng, lo, hi, B, shared, n=5, m=2, m_eq=2):
    """Integer ILPs with equality rows ``E y == beta`` and ``<=`` rows, ``y`` their optimum by
    enumeration (on the lattice: ``y`` lies on every equality), or, for an instance with no
    feasible point, the fallback point (every target then violates something)."""
    points = np.array(np.meshgrid(*[np.arange(lo, hi + 1)] * n, indexing="ij")).reshape(n, -1).T

    def rows():
        E = rng.integers(-2, 3, size=(m_eq, n)).astype(float)
        E[~E.any(axis=1), 0] = 1.0
        beta = E @ rng.integers(lo, hi + 1, size=n) + (rng.random(m_eq) < 0.1)
        R = rng.integers(-3, 4, size=(m, n)).astype(float)
        R[~R.any(axis=1), 0] = 1.0
        r = R @ rng.integers(lo, hi + 1, size=n) + rng.integers(0, 3, size=m)
        return R, r, E, beta

    common = rows()
    while shared and not np.any(  # a shared set with no feasible point would test one branch
        np.all(points @ common[0].T <= common[1], axis=1)
        & np.all(points @ common[2].T == common[3], axis=1)
    ):
        common = rows()
    ys, parts = [], []
    for _ in range(B):
        R, r, E, beta = common if shared else rows()
        c = rng.normal(size=n)
        ok = np.all(points @ R.T <= r, axis=1) & np.all(points @ E.T == beta, axis=1)
        ys.append(
            points[ok][np.argmin(points[ok] @ c)] if ok.any() else np.clip(np.zeros(n), lo, hi)
        )
        parts.append((R, r, E, beta))
    dy = rng.normal(size=(B, n))
    ties = rng.random(B) < 0.3
    dy[ties] = rng.integers(-2, 3, size=(int(ties.sum()), n))
    stack = [np.array(x) for x in zip(*parts)]
    if shared:
        stack = list(common)
    lb, ub = np.full(n, float(lo)), np.full(n, float(hi))
    return dy, np.array(ys, dtype=float), *stack, lb, ub


EQUALITY_CASES = [
    (box, tau, shared)
    for box in ((0, 1), (-2, 2))
    for tau in (0.0, 0.5)
    for shared in (False, True)
]


@pytest.mark.parametrize("box,tau,shared", EQUALITY_CASES, ids=lambda v: str(v))
def test_equality_rows_match_the_plain_reference(box, tau, shared, implementation):
    """100 integer ILPs with equality rows per case (800 over the eight cases): 0
    disagreements with the reference written out for equality rows, on the lattice (``y``
    on every equality) and for infeasible instances."""
    rng = np.random.default_rng(200 + EQUALITY_CASES.index((box, tau, shared)))
    B = 100
    dy, y, A, b, A_eq, b_eq, lb, ub = _equality_case(rng, *box, B=B, shared=shared)
    got = combopt_gradients(
        dy, y, A, b, lb, ub, tau=tau, implementation=implementation, A_eq=A_eq, b_eq=b_eq
    )
    pick = (lambda x, i: x) if shared else (lambda x, i: x[i])
    want = [
        reference_backward_eq(
            dy[i], y[i], pick(A, i), pick(b, i), pick(A_eq, i), pick(b_eq, i), lb, ub, tau
        )
        for i in range(B)
    ]
    if shared:  # the reference per instance, summed as the shared gradient is
        totals = [np.sum([w[k] for w in want], axis=0) for k in range(1, 5)]
        dc = np.stack([w[0] for w in want])
        np.testing.assert_allclose(got.dc, dc, atol=1e-10)
        for g, w in zip((got.dA, got.db, got.dA_eq, got.db_eq), totals):
            np.testing.assert_allclose(g, w, atol=1e-9)
    else:
        bad = [
            i
            for i in range(B)
            if not all(
                np.allclose(g[i], w, atol=1e-10)
                for g, w in zip((got.dc, got.dA, got.db, got.dA_eq, got.db_eq), want[i])
            )
        ]
        assert bad == [], f"{len(bad)} of {B} disagree, first {bad[:5]}"
    lhs = np.einsum("bmn,bn->bm", np.broadcast_to(A_eq, (B, *A_eq.shape[-2:])), y)
    on_rows = np.isclose(lhs, b_eq, rtol=0, atol=1e-9)
    assert on_rows.all(axis=1).mean() > 0.3  # the lattice case is really exercised
    assert np.abs(got.db_eq).max() > 0  # and equality rows learn


def test_equality_gradient_is_the_folded_gradient_of_both_halves(implementation):
    """``dA_eq = dA_+ - dA_-``: the rule on ``[A; A_eq; -A_eq]``, folded back."""
    rng = np.random.default_rng(5)
    dy, y, A, b, A_eq, b_eq, lb, ub = _equality_case(rng, -2, 2, B=20, shared=False)
    got = combopt_gradients(
        dy, y, A, b, lb, ub, implementation=implementation, A_eq=A_eq, b_eq=b_eq
    )
    halves = combopt_gradients(
        dy,
        y,
        np.concatenate([A, A_eq, -A_eq], axis=1),
        np.concatenate([b, b_eq, -b_eq], axis=1),
        lb,
        ub,
        implementation=implementation,
    )
    m, m_eq = A.shape[1], A_eq.shape[1]
    np.testing.assert_allclose(got.dA, halves.dA[:, :m])
    np.testing.assert_allclose(got.dA_eq, halves.dA[:, m : m + m_eq] - halves.dA[:, m + m_eq :])
    np.testing.assert_allclose(got.db_eq, halves.db[:, m : m + m_eq] - halves.db[:, m + m_eq :])
    assert combopt_gradients(dy, y, A, b, lb, ub).dA_eq is None


def test_equality_rows_with_a_different_layout_are_rejected():
    dy, y = np.zeros((2, 3)), np.zeros((2, 3))
    A, b, lb, ub = np.zeros((1, 3)), np.zeros(1), np.zeros(3), np.ones(3)
    with pytest.raises(ValueError, match="^A_eq: expected the layout of A"):
        combopt_gradients(dy, y, A, b, lb, ub, A_eq=np.zeros((2, 1, 3)), b_eq=np.zeros((2, 1)))
    with pytest.raises(ValueError, match="^b_eq: expected shape"):
        combopt_gradients(dy, y, A, b, lb, ub, A_eq=np.zeros((1, 3)), b_eq=np.zeros(2))
    with pytest.raises(ValueError, match="^A_eq, b_eq: pass both"):
        combopt_gradients(dy, y, A, b, lb, ub, A_eq=np.zeros((1, 3)))
