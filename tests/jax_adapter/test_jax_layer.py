"""The JAX adapter against the core and against the PyTorch adapter.

Both adapters wrap the same framework-free core, so on the same inputs they must return the
same solutions and the same gradients (up to float32 rounding, JAX's default precision).
"""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from combopt_core import Status, combopt_gradients, make_problem, solve
from combopt_core.errors import ProblemValidationError
from combopt_jax import ILPLayer

RTOL, ATOL = 1e-5, 1e-5


def random_batch(seed: int, B: int = 6, n: int = 8, m: int = 3, shared: bool = True, dense=False):
    """Unit-normal constraints whose region contains the box centre, costs in [-1, 1]."""
    rng = np.random.default_rng(seed)
    lb, ub = (-2.0, 2.0) if dense else (0.0, 1.0)
    centre = (lb + ub) / 2
    shape = (m, n) if shared else (B, m, n)
    A = rng.normal(size=shape)
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    b = A @ np.full(n, centre) + rng.uniform(0.2, 1.0, size=shape[:-1])
    c = rng.uniform(-1, 1, size=(B, n))
    dy = rng.normal(size=(B, n))
    return c, A, b, lb, ub, dy


def jax_vjp(layer: ILPLayer, c, A, b, dy):
    y, pullback = jax.vjp(layer, jnp.asarray(c), jnp.asarray(A), jnp.asarray(b))
    return (np.asarray(y), *(np.asarray(g) for g in pullback(jnp.asarray(dy, dtype=y.dtype))))


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("dense", [False, True])
@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_solution_and_gradients_match_the_core(shared, dense, tau):
    c, A, b, lb, ub, dy = random_batch(1 + shared + 2 * dense, shared=shared, dense=dense)
    layer = ILPLayer(lb, ub, tau=tau)
    y, dc, dA, db = jax_vjp(layer, c, A, b, dy)

    ref = solve(c, A, b, lb, ub)
    np.testing.assert_array_equal(y, ref.y)
    problem = make_problem(c, A, b, lb, ub)
    g = combopt_gradients(dy, ref.y, problem.A, problem.b, problem.lb, problem.ub, tau=tau)
    assert dA.shape == A.shape and db.shape == b.shape and dc.shape == c.shape
    # JAX runs in float32 by default: A and b are rounded to float32 before the host sees
    # them, hence the looser tolerance on the constraint gradients.
    np.testing.assert_allclose(dc, g.dc, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dA, g.dA, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(db, g.db, rtol=1e-4, atol=1e-4)
    assert np.abs(g.dA).sum() > 0, "the instance should exercise the constraint gradient"


@pytest.mark.parametrize("shared", [True, False])
def test_gradients_match_the_torch_adapter(shared):
    torch = pytest.importorskip("torch")
    from combopt_torch import ILPLayer as TorchILPLayer

    c, A, b, lb, ub, dy = random_batch(7, shared=shared, dense=True)
    # Same float32 inputs for both frameworks.
    c, A, b, dy = (x.astype(np.float32) for x in (c, A, b, dy))
    y_j, dc_j, dA_j, db_j = jax_vjp(ILPLayer(lb, ub), c, A, b, dy)

    tc, tA, tb = (torch.tensor(x, requires_grad=True) for x in (c, A, b))
    y_t = TorchILPLayer(lb, ub)(tc, tA, tb)
    y_t.backward(torch.tensor(dy))
    np.testing.assert_array_equal(y_j, y_t.detach().numpy())
    np.testing.assert_allclose(dc_j, tc.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(dA_j, tA.grad.numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(db_j, tb.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_jit_and_grad_of_a_loss_equal_the_eager_result():
    c, A, b, lb, ub, _ = random_batch(3)
    layer = ILPLayer(lb, ub)
    y_true = jnp.asarray(solve(-c, A, b, lb, ub).y, dtype=jnp.float32)

    def loss(c_, A_, b_):
        return jnp.mean((layer(c_, A_, b_) - y_true) ** 2)

    args = tuple(jnp.asarray(x, dtype=jnp.float32) for x in (c, A, b))
    eager = jax.grad(loss, argnums=(0, 1, 2))(*args)
    jitted = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))(*args)
    for e, j in zip(eager, jitted):
        np.testing.assert_allclose(np.asarray(e), np.asarray(j), rtol=1e-6, atol=1e-7)
    assert float(jnp.abs(eager[0]).sum()) > 0


def test_vmap_over_an_extra_axis_equals_the_batched_call():
    c, A, b, lb, ub, _ = random_batch(4)
    layer = ILPLayer(lb, ub)
    batched = np.asarray(layer(c, A, b))
    mapped = np.asarray(jax.vmap(lambda ci: layer(ci, A, b))(jnp.asarray(c)))
    np.testing.assert_array_equal(mapped, batched)


def test_single_instance_keeps_the_shape_of_c():
    c, A, b, lb, ub, _ = random_batch(5, B=1)
    y, info = ILPLayer(lb, ub)(c[0], A, b, return_info=True)
    assert y.shape == c[0].shape
    assert info.status.shape == (1,) and int(info.status[0]) == Status.OPTIMAL


def test_infeasible_instance_is_flagged_and_pushes_the_violated_constraint_out():
    n = 4
    A = np.array([[1.0, 1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]])
    b = np.array([1.0, -3.0])  # sum(y) <= 1 and sum(y) >= 3: empty
    c = np.array([[-1.0, -2.0, 0.5, 1.0], [1.0, 1.0, 1.0, 1.0]])
    A_batch = np.stack([A, np.array([[1.0, 1, 1, 1], [0, 0, 0, 0.0]])])
    b_batch = np.stack([b, np.array([1.0, 0.0])])
    layer = ILPLayer(0, 1)
    y, info = layer(c, A_batch, b_batch, return_info=True)
    assert np.asarray(info.infeasible).tolist() == [True, False]
    np.testing.assert_array_equal(np.asarray(y)[0], np.zeros(n))  # the fallback point
    assert np.isnan(np.asarray(info.objective)[0])

    # Every target of an empty region is infeasible: no cost gradient, and each violated
    # constraint is pushed out (db < 0, so gradient descent raises b). With these magnitudes
    # the targets have 1, 2, 3, 4 ones: the first two violate "sum(y) >= 3", the last two
    # "sum(y) <= 1", so both constraints move.
    dy = np.array([[-4.0, -3.0, -2.0, -1.0], [0.0] * n])
    _, dc, dA, db = jax_vjp(layer, c, A_batch, b_batch, dy)
    assert np.all(dc[0] == 0)
    assert np.all(db[0] < 0), db[0]
    assert np.all(dA[1] == 0) and np.all(db[1] == 0) and np.all(dc[1] == 0)


def test_shape_errors_name_the_argument():
    layer = ILPLayer()
    with pytest.raises(ProblemValidationError, match="A: shared constraints need shape"):
        layer(jnp.ones((2, 3)), jnp.ones((1, 4)), jnp.ones(1))
    with pytest.raises(ProblemValidationError, match="b:"):
        layer(jnp.ones((2, 3)), jnp.ones((1, 3)), jnp.ones(2))


def test_nan_is_rejected_with_the_argument_named():
    layer = ILPLayer()
    with pytest.raises(ProblemValidationError, match="b: contains NaN"):
        layer(jnp.ones((1, 3)), jnp.ones((1, 3)), jnp.array([jnp.nan]))


def test_negative_tau_and_unknown_solver_are_rejected():
    with pytest.raises(ValueError, match="tau"):
        ILPLayer(tau=-1.0)
    from combopt_core import BackendNotFoundError

    with pytest.raises(BackendNotFoundError, match="no-such-solver"):
        ILPLayer(solver="no-such-solver")


def test_backward_implementation_is_validated_and_used(monkeypatch):
    with pytest.raises(ValueError, match=r"^backward: must be one of"):
        ILPLayer(backward="fortran")
    monkeypatch.setenv("COMBOPT_BACKWARD", "fortran")  # only consulted when backward is None
    c, A, b, lb, ub, dy = random_batch(1, shared=True, dense=False)
    _, dc, _, _ = jax_vjp(ILPLayer(lb, ub, backward="numpy"), c, A, b, dy)
    assert np.all(np.isfinite(np.asarray(dc)))
    # the host callback's ValueError reaches the caller wrapped by JAX, message kept
    with pytest.raises((ValueError, jax.errors.JaxRuntimeError), match="COMBOPT_BACKWARD"):
        jax_vjp(ILPLayer(lb, ub), c, A, b, dy)


@pytest.mark.parametrize("shared", [True, False])
def test_equality_rows_match_the_core_and_the_torch_adapter(shared):
    """Equality rows met by ``y`` and gradients in all five inputs, as the core's rule gives
    and as the PyTorch layer returns."""
    torch = pytest.importorskip("torch")
    from combopt_torch import ILPLayer as TorchILPLayer

    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(3)
        B, n = 5, 6
        A = rng.integers(-2, 3, size=(2, n)).astype(float)
        b = A @ rng.integers(-1, 2, size=n) + 1.0
        A_eq = rng.integers(-1, 2, size=(2, n)).astype(float)
        A_eq[~A_eq.any(axis=1), 0] = 1.0
        b_eq = A_eq @ rng.integers(-1, 2, size=n)
        if not shared:
            A_eq, b_eq = np.repeat(A_eq[None], B, 0), np.repeat(b_eq[None], B, 0)
        c, dy = rng.normal(size=(B, n)), rng.normal(size=(B, n))
        layer = ILPLayer(-1, 1, solver="highs")
        inputs = [jnp.asarray(x) for x in (c, A, b, A_eq, b_eq)]
        y, vjp = jax.vjp(lambda *x: layer(x[0], x[1], x[2], A_eq=x[3], b_eq=x[4]), *inputs)
        grads = vjp(jnp.asarray(dy))
        lhs = np.einsum("bmn,bn->bm", np.broadcast_to(A_eq, (B, 2, n)), np.asarray(y))
        np.testing.assert_allclose(lhs, np.broadcast_to(b_eq, lhs.shape))
        # per-instance equalities make the problem per instance: A's gradient is summed back
        p = make_problem(c, A, b, -1, 1, A_eq, b_eq)
        want = combopt_gradients(
            dy, np.asarray(y), p.A, p.b, p.lb, p.ub, 0.5, A_eq=p.A_eq, b_eq=p.b_eq
        )
        values = (want.dc, want.dA, want.db, want.dA_eq, want.db_eq)
        for g, w, x in zip(grads, values, (c, A, b, A_eq, b_eq)):
            np.testing.assert_allclose(np.asarray(g), w.sum(0) if w.ndim > x.ndim else w)
        ts = [torch.tensor(x, requires_grad=True) for x in (c, A, b, A_eq, b_eq)]
        TorchILPLayer(-1, 1, solver="highs")(*ts[:3], A_eq=ts[3], b_eq=ts[4]).backward(
            torch.tensor(dy)
        )
        for g, t in zip(grads, ts):
            np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), atol=1e-12)
    finally:
        jax.config.update("jax_enable_x64", False)
