"""The cost rules against plain references: enumeration, closed forms, finite differences.

Every rule's gradient is checked against its paper's formula computed here from enumerated
optima (blackbox, SPO+, identity, the perturbed Jacobian), against finite differences of the
loss it is the gradient of (the Fenchel-Young loss and the perturbed objective with fixed
noise, SPO+), and, for the perturbed Jacobian, against the closed form of a one-variable
problem. Every rule runs on every installed backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_core import list_backends  # noqa: E402
from combopt_core import cost_rules as rules  # noqa: E402
from combopt_torch import (  # noqa: E402
    BlackboxILP,
    FenchelYoungLoss,
    IdentityILP,
    PerturbedILP,
    SPOPlusLoss,
)

from .reference import argmin, small_problem  # noqa: E402

BACKENDS = [s.name for s in list_backends() if s.available]
LB, UB = 0, 2  # integer, not only binary


def t(x) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)


def leaf(x) -> torch.Tensor:
    return t(x).requires_grad_()


def noise(seed: int, shape) -> np.ndarray:
    """The noise ``PerturbedILP`` draws from ``torch.Generator().manual_seed(seed)``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=torch.float64).numpy()


def perturbed_reference(c, A, b, sigma, Z):
    """``(y_s (S, B, n), objectives (S, B))`` by enumeration at ``c + sigma Z_s``."""
    ys = np.stack([argmin(c + sigma * z, A, b, LB, UB) for z in Z])
    return ys, np.einsum("sbn,sbn->sb", c[None] + sigma * Z, ys)


@pytest.fixture
def problem():
    return small_problem(np.random.default_rng(7), batch=3, n=3, m=2, shared=False)


@pytest.mark.parametrize("backend", BACKENDS)
def test_blackbox_is_the_interpolation_gradient_on_every_backend(backend, problem):
    c, A, b = problem
    dy = np.random.default_rng(1).normal(size=c.shape)
    lam = 2.0
    layer = BlackboxILP(lam, LB, UB, solver=backend)
    c_t = leaf(c)
    y = layer(c_t, t(A), t(b))
    y.backward(t(dy))
    y_ref = argmin(c, A, b, LB, UB)
    y_shift = argmin(c + lam * dy, A, b, LB, UB)
    np.testing.assert_array_equal(y.detach().numpy(), y_ref)
    np.testing.assert_allclose(c_t.grad.numpy(), (y_shift - y_ref) / lam, atol=1e-12)
    assert np.any(c_t.grad.numpy() != 0), "the check must see a non-zero gradient"


def test_blackbox_is_the_gradient_of_its_interpolation_by_finite_differences(problem):
    # For a loss with gradient dy at y(c), Vlastelica et al.'s interpolation is
    # f(c) = (min_y (c + lambda dy).y - min_y c.y) / lambda, dy held fixed.
    c, A, b = problem
    dy = np.random.default_rng(13).normal(size=c.shape)
    lam = 1.5
    c_t = leaf(c)
    BlackboxILP(lam, LB, UB, solver="bruteforce")(c_t, t(A), t(b)).backward(t(dy))

    def f(costs: np.ndarray) -> float:
        low = lambda w: np.sum(w * argmin(w, A, b, LB, UB))  # noqa: E731
        return (low(costs + lam * dy) - low(costs)) / lam

    h, fd = 1e-6, np.zeros_like(c)
    for idx in np.ndindex(c.shape):
        e = np.zeros_like(c)
        e[idx] = h
        fd[idx] = (f(c + e) - f(c - e)) / (2 * h)
    np.testing.assert_allclose(c_t.grad.numpy(), fd, atol=1e-6)
    assert np.any(fd != 0)


@pytest.mark.parametrize(
    "make",
    [lambda: BlackboxILP(5.0, LB, UB, "bruteforce"), lambda: IdentityILP(LB, UB, "bruteforce")],
    ids=["blackbox", "identity"],
)
def test_descending_the_rule_moves_y_to_the_target(make):
    # Squared error to a target optimum: a few gradient steps on c reach it (signs matter).
    c0, A, b = small_problem(np.random.default_rng(14), batch=4, n=3, m=2, shared=True)
    target = argmin(np.random.default_rng(15).normal(size=c0.shape), A, b, LB, UB)
    layer, c_t = make(), leaf(c0)
    before = np.mean(argmin(c0, A, b, LB, UB) == target)
    for _ in range(30):
        loss = ((layer(c_t, t(A), t(b)) - t(target)) ** 2).sum()
        c_t.grad = None
        loss.backward()
        with torch.no_grad():
            c_t -= 0.5 * c_t.grad
    after = np.mean(argmin(c_t.detach().numpy(), A, b, LB, UB) == target)
    assert before < 1 and after == 1, (before, after)


@pytest.mark.parametrize("backend", BACKENDS)
def test_identity_returns_minus_dy_on_every_backend(backend, problem):
    c, A, b = problem
    dy = np.random.default_rng(2).normal(size=c.shape)
    c_t = leaf(c)
    y = IdentityILP(LB, UB, solver=backend)(c_t, t(A), t(b))
    y.backward(t(dy))
    np.testing.assert_array_equal(y.detach().numpy(), argmin(c, A, b, LB, UB))
    np.testing.assert_array_equal(c_t.grad.numpy(), -dy)


@pytest.mark.parametrize("backend", BACKENDS)
def test_perturbed_mean_and_jacobian_match_the_samples_on_every_backend(backend, problem):
    c, A, b = problem
    sigma, S, seed = 0.7, 6, 3
    dy = np.random.default_rng(3).normal(size=c.shape)
    gen = torch.Generator().manual_seed(seed)
    layer = PerturbedILP(sigma, S, LB, UB, solver=backend, generator=gen)
    c_t = leaf(c)
    y = layer(c_t, t(A), t(b))
    y.backward(t(dy))
    Z = noise(seed, (S, *c.shape))
    ys, _ = perturbed_reference(c, A, b, sigma, Z)
    np.testing.assert_allclose(y.detach().numpy(), ys.mean(axis=0), atol=1e-12)
    # J = mean_s y_s Z_s^T / sigma written as a matrix per instance; dc = J^T dy.
    for i in range(c.shape[0]):
        J = sum(np.outer(ys[s, i], Z[s, i]) for s in range(S)) / (S * sigma)
        np.testing.assert_allclose(c_t.grad.numpy()[i], J.T @ dy[i], atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_fenchel_young_matches_finite_differences_of_its_loss_on_every_backend(backend, problem):
    c, A, b = problem
    sigma, S, seed = 0.5, 5, 4
    y_true = argmin(np.random.default_rng(4).normal(size=c.shape), A, b, LB, UB)
    gen = torch.Generator().manual_seed(seed)
    loss_fn = FenchelYoungLoss(sigma, S, LB, UB, solver=backend, generator=gen, reduction="sum")
    c_t = leaf(c)
    loss = loss_fn(c_t, t(y_true), t(A), t(b))
    loss.backward()
    Z = noise(seed, (S, *c.shape))

    def reference_loss(costs: np.ndarray) -> float:  # the same noise at every evaluation
        _, objectives = perturbed_reference(costs, A, b, sigma, Z)
        return float(np.sum(np.einsum("bn,bn->b", costs, y_true) - objectives.mean(axis=0)))

    assert loss.item() == pytest.approx(reference_loss(c), abs=1e-10)
    h, fd = 1e-6, np.zeros_like(c)
    for idx in np.ndindex(c.shape):
        e = np.zeros_like(c)
        e[idx] = h
        fd[idx] = (reference_loss(c + e) - reference_loss(c - e)) / (2 * h)
    np.testing.assert_allclose(c_t.grad.numpy(), fd, atol=1e-6)
    assert np.any(fd != 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_spo_plus_matches_its_closed_form_and_finite_differences_on_every_backend(
    backend, problem
):
    c_true, A, b = problem
    c_hat = c_true + np.random.default_rng(5).normal(size=c_true.shape)
    c_t = leaf(c_hat)
    loss = SPOPlusLoss(LB, UB, solver=backend, reduction="none")(c_t, t(c_true), t(A), t(b))
    loss.sum().backward()

    def reference(ch: np.ndarray) -> np.ndarray:
        y_star = argmin(c_true, A, b, LB, UB)
        y_spo = argmin(2 * ch - c_true, A, b, LB, UB)
        dot = lambda u, v: np.sum(u * v, axis=1)  # noqa: E731
        return -dot(2 * ch - c_true, y_spo) + 2 * dot(ch, y_star) - dot(c_true, y_star)

    y_star = argmin(c_true, A, b, LB, UB)
    y_spo = argmin(2 * c_hat - c_true, A, b, LB, UB)
    np.testing.assert_allclose(loss.detach().numpy(), reference(c_hat), atol=1e-10)
    np.testing.assert_allclose(c_t.grad.numpy(), 2 * (y_star - y_spo), atol=1e-12)
    h, fd = 1e-6, np.zeros_like(c_hat)
    for idx in np.ndindex(c_hat.shape):
        e = np.zeros_like(c_hat)
        e[idx] = h
        fd[idx] = (reference(c_hat + e).sum() - reference(c_hat - e).sum()) / (2 * h)
    np.testing.assert_allclose(c_t.grad.numpy(), fd, atol=1e-6)
    assert np.any(fd != 0)


def test_spo_plus_is_nonnegative_zero_at_the_truth_and_bounds_the_regret(problem):
    c_true, A, b = problem
    loss_fn = SPOPlusLoss(LB, UB, solver="bruteforce", reduction="none")
    at_truth = loss_fn(t(c_true), t(c_true), t(A), t(b))
    np.testing.assert_allclose(at_truth.numpy(), 0.0, atol=1e-12)
    rng = np.random.default_rng(6)
    y_star = argmin(c_true, A, b, LB, UB)
    for _ in range(5):
        c_hat = c_true + 2 * rng.normal(size=c_true.shape)
        loss = loss_fn(t(c_hat), t(c_true), t(A), t(b)).numpy()
        regret = np.sum(c_true * (argmin(c_hat, A, b, LB, UB) - y_star), axis=1)
        assert np.all(loss >= regret - 1e-12), (loss, regret)
    given = loss_fn(t(c_hat), t(c_true), t(A), t(b), y_true=t(y_star))
    np.testing.assert_allclose(given.numpy(), loss, atol=1e-12)


def test_perturbed_jacobian_estimate_matches_the_one_variable_closed_form():
    # min c y over y in {0, 1}: E[y(c + sigma Z)] = Phi(-c / sigma), d/dc = -phi(c / sigma) / sigma.
    c, sigma, S = 0.4, 0.8, 20000
    layer = PerturbedILP(
        sigma, S, 0, 1, solver="bruteforce", generator=torch.Generator().manual_seed(0)
    )
    c_t = leaf([[c]])
    y = layer(c_t, torch.zeros(0, 1, dtype=torch.float64), torch.zeros(0, dtype=torch.float64))
    y.sum().backward()
    u = c / sigma
    mean = 0.5 * math.erfc(u / math.sqrt(2))
    slope = -math.exp(-u * u / 2) / math.sqrt(2 * math.pi) / sigma
    # Monte-Carlo standard errors are below 0.5 / sqrt(S) and 1 / (sigma sqrt(S)): 5 of them.
    assert y.item() == pytest.approx(mean, abs=5 * 0.5 / math.sqrt(S))
    assert c_t.grad.item() == pytest.approx(slope, abs=5 / (sigma * math.sqrt(S)))


def test_perturbed_output_is_the_gradient_of_the_perturbed_objective():
    # F(c) = mean_s min_y (c + sigma Z_s).y with fixed Z: dF/dc = mean_s y_s, the layer's output.
    c, A, b = small_problem(np.random.default_rng(8), batch=2, n=3, m=2, shared=True)
    sigma, S, seed = 0.6, 4, 9
    gen = torch.Generator().manual_seed(seed)
    y = PerturbedILP(sigma, S, LB, UB, solver="bruteforce", generator=gen)(t(c), t(A), t(b))
    Z = noise(seed, (S, *c.shape))

    def F(costs: np.ndarray) -> np.ndarray:
        return perturbed_reference(costs, A, b, sigma, Z)[1].mean(axis=0)

    h, fd = 1e-6, np.zeros_like(c)
    for idx in np.ndindex(c.shape):
        e = np.zeros_like(c)
        e[idx] = h
        fd[idx] = (F(c + e) - F(c - e))[idx[0]] / (2 * h)
    np.testing.assert_allclose(y.numpy(), fd, atol=1e-6)


def test_shared_and_per_instance_constraints_agree_for_the_perturbed_rule():
    c, A, b = small_problem(np.random.default_rng(10), batch=3, n=3, m=2, shared=True)
    out = []
    for A_, b_ in ((A, b), (np.stack([A] * 3), np.stack([b] * 3))):
        gen = torch.Generator().manual_seed(11)
        c_t = leaf(c)
        y = PerturbedILP(0.5, 4, LB, UB, solver="bruteforce", generator=gen)(c_t, t(A_), t(b_))
        y.sum().backward()
        out.append((y.detach().numpy(), c_t.grad.numpy()))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


def test_an_infeasible_instance_gets_zero_gradient_and_zero_loss():
    c = t([[-1.0, -2.0], [-1.0, 0.5]]).requires_grad_()
    A = t([[[1.0, 1.0]], [[1.0, 1.0]]])
    b = t([[1.0], [-1.0]])  # the second instance has no point in the box {0, 1}^2
    y_true = t([[0.0, 1.0], [0.0, 0.0]])
    cases = [
        lambda: BlackboxILP(1.0, solver="bruteforce")(c, A, b).sum(),
        lambda: IdentityILP(solver="bruteforce")(c, A, b).sum(),
        lambda: PerturbedILP(0.5, 3, solver="bruteforce")(c, A, b).sum(),
        lambda: FenchelYoungLoss(0.5, 3, solver="bruteforce", reduction="sum")(c, y_true, A, b),
        lambda: SPOPlusLoss(solver="bruteforce", reduction="sum")(c, t([[-1.0, 1.0]] * 2), A, b),
    ]
    for run in cases:
        c.grad = None
        run().backward()
        assert torch.all(c.grad[1] == 0), c.grad
    losses = SPOPlusLoss(solver="bruteforce", reduction="none")(c, t([[-1.0, 1.0]] * 2), A, b)
    assert losses[1].item() == 0.0 and losses[0].item() > 0


def test_a_one_dimensional_cost_keeps_its_shape():
    A, b = t([[1.0, 1.0, 1.0]]), t([2.0])
    c = leaf([-1.0, 0.5, -2.0])
    y = BlackboxILP(1.0, solver="highs")(c, A, b)
    assert y.shape == (3,) and y.tolist() == [1.0, 0.0, 1.0]
    y.sum().backward()
    assert c.grad.shape == (3,)


def test_a_cost_rule_layer_pickles_with_a_solver_chosen_by_name():
    import pickle

    layer = pickle.loads(pickle.dumps(BlackboxILP(3.0, solver="highs", workers=1)))
    assert layer.lambda_ == 3.0 and layer.solver.name == "highs"
    y = layer(t([[-1.0, 1.0]]), t([[1.0, 1.0]]), t([1.0]))
    assert y.tolist() == [[1.0, 0.0]]


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "1", True])
def test_bad_lambda_and_sigma_name_the_argument(value):
    with pytest.raises(ValueError, match="lambda_"):
        BlackboxILP(value)
    with pytest.raises(ValueError, match="sigma"):
        PerturbedILP(value, 4)
    with pytest.raises(ValueError, match="sigma"):
        FenchelYoungLoss(value, 4)


@pytest.mark.parametrize("value", [0, -3, 2.5, True, None])
def test_bad_n_samples_names_the_argument(value):
    with pytest.raises(ValueError, match="n_samples"):
        PerturbedILP(1.0, value)
    with pytest.raises(ValueError, match="n_samples"):
        FenchelYoungLoss(1.0, value)


def test_bad_call_arguments_name_the_argument():
    c, A, b = t([[-1.0, 1.0]]), t([[1.0, 1.0]]), t([1.0])
    with pytest.raises(ValueError, match="c_true"):
        SPOPlusLoss()(c, None, A, b)
    with pytest.raises(ValueError, match="c_true"):
        SPOPlusLoss()(c, t([[1.0, 2.0, 3.0]]), A, b)
    with pytest.raises(ValueError, match="y_true"):
        SPOPlusLoss()(c, c, A, b, y_true=t([1.0]))
    with pytest.raises(ValueError, match="y_true"):
        FenchelYoungLoss(1.0, 2)(c, t([1.0, 0.0, 0.0]), A, b)
    with pytest.raises(ValueError, match="reduction"):
        SPOPlusLoss(reduction="avg")
    with pytest.raises(TypeError, match="generator"):
        PerturbedILP(1.0, 2, generator=0)
    learned = {"A": (A.clone().requires_grad_(), b), "b": (A, b.clone().requires_grad_())}
    for name, (A_, b_) in learned.items():
        with pytest.raises(ValueError, match=f"{name}: cost rules learn c only"):
            IdentityILP()(c, A_, b_)
    with torch.no_grad():  # evaluation with learned constraints is fine: nothing to lose
        IdentityILP()(c, A.clone().requires_grad_(), b)


def test_core_math_agrees_with_its_written_formulas():
    rng = np.random.default_rng(12)
    c, c_true, y, y2 = (rng.normal(size=(2, 3)) for _ in range(4))
    np.testing.assert_allclose(rules.blackbox_costs(c, y, 2.0), c + 2.0 * y)
    np.testing.assert_allclose(rules.blackbox_gradient(y, y2, 2.0), (y2 - y) / 2.0)
    np.testing.assert_allclose(rules.spo_plus_costs(c, c_true), 2 * c - c_true)
    spo = rules.spo_plus_loss(c, c_true, y, y2)
    expected = -np.sum((2 * c - c_true) * y2, 1) + 2 * np.sum(c * y, 1) - np.sum(c_true * y, 1)
    np.testing.assert_allclose(spo, expected)
    # Regrets (0 - -2) and (1 - 0), optimal values -2 and 0: (2 + 1) / (2 + 0).
    c_true = np.array([[-2.0, 1.0], [0.0, 1.0]])
    y_hat = np.array([[0.0, 0.0], [0.0, 1.0]])
    y_best = np.array([[1.0, 0.0], [0.0, 0.0]])
    assert rules.normalized_regret(c_true, y_hat, y_best) == 1.5
    assert rules.normalized_regret(c_true, y_best, y_best) == 0.0
    with pytest.raises(ValueError, match="y_true"):
        rules.normalized_regret(c_true[1:], y_hat[1:], y_best[1:])
