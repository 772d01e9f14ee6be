"""ILP-Loss terms and their gradients against plain references of the formulas."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_core.negatives import NegativeSampler
from combopt_torch.ilploss import ILPLoss, ilp_loss_terms, signed_distances

from .reference import reference_terms


def _case(seed, learn_cost, n=4, m=3, batch=3, lb=0, ub=1):
    rng = np.random.default_rng(seed)
    y = rng.integers(lb, ub + 1, (batch, n)).astype(float)
    A = rng.normal(size=(m, n))
    b = A @ np.full(n, (lb + ub) / 2) + rng.uniform(-0.3, 0.3, m)
    c = rng.normal(size=(batch, n))
    neg = NegativeSampler(hops=(2,), per_hop=4).sample(y, lb, ub, rng, A, b)
    return A, b, c, y, neg


@pytest.mark.parametrize("temperature", [0.0, 0.05, 1.0])
@pytest.mark.parametrize("learn_cost", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_terms_and_gradients_match_the_plain_reference(seed, learn_cost, temperature):
    A, b, c, y, neg = _case(seed, learn_cost)
    values, grads = reference_terms(A, b, c, y, neg, 0.05, 0.1, temperature, learn_cost)
    A_t = torch.tensor(A, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    c_t = torch.tensor(c, requires_grad=learn_cost)
    terms = ilp_loss_terms(
        A_t, b_t, c_t, torch.tensor(y), torch.tensor(neg), 0.05, 0.1, temperature
    )
    assert values["neg"] > 0 and values["var"] > 0  # the case exercises the terms
    for name, value in terms.items():
        np.testing.assert_allclose(float(value.detach()), values[name], rtol=1e-10, atol=1e-12)
        inputs = [A_t, b_t] + ([c_t] if learn_cost else [])
        got = torch.autograd.grad(value, inputs, allow_unused=True, retain_graph=True)
        for g, ref in zip(got, grads[name]):
            g = np.zeros_like(ref) if g is None else g.numpy()
            np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-12)


def test_per_sample_constraints_equal_shared_ones_repeated():
    A, b, c, y, neg = _case(3, False)
    args = (torch.tensor(c), torch.tensor(y), torch.tensor(neg))
    shared = ilp_loss_terms(torch.tensor(A), torch.tensor(b), *args)
    A_b = torch.tensor(A).expand(3, -1, -1)
    per = ilp_loss_terms(A_b, torch.tensor(b).expand(3, -1), *args)
    for name in shared:
        assert torch.allclose(shared[name], per[name])


def test_signed_distance_is_positive_on_the_feasible_side():
    A = torch.tensor([[[2.0, 0.0]]])  # 2 y_0 <= 2, i.e. y_0 <= 1
    b = torch.tensor([[2.0]])
    d = signed_distances(A, b, torch.tensor([[[0.0, 5.0], [3.0, 0.0]]]))
    assert torch.allclose(d[0, :, 0], torch.tensor([1.0, -2.0]))


def test_costlier_negatives_do_not_count_with_known_costs():
    A, b = torch.tensor([[1.0, 1.0]]), torch.tensor([5.0])  # cuts nothing off
    c, y = torch.tensor([[1.0, 1.0]]), torch.tensor([[0.0, 0.0]])
    costlier = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    assert float(ilp_loss_terms(A, b, c, y, costlier)["neg"]) == 0.0
    c_learned = c.clone().requires_grad_()  # the cost row cuts them off: nothing to push
    assert float(ilp_loss_terms(A, b, c_learned, y, costlier, temperature=0)["neg"]) == 0.0
    cheaper = torch.tensor([[[1.0, 0.0]]])
    assert float(ilp_loss_terms(A, b, -c, y, cheaper)["neg"]) > 0.0


def test_the_loss_is_seeded():
    A, b = torch.randn(3, 6, generator=torch.Generator().manual_seed(0)), torch.zeros(3)
    c = torch.randn(5, 6, generator=torch.Generator().manual_seed(1))
    y = (c > 0).double()  # the box maximiser: every negative is cheaper and counts
    losses = [float(ILPLoss(seed=s)(A, b, c, y).detach()) for s in (4, 4, 5)]
    assert losses[0] == losses[1] != losses[2]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"pos_margin": -1.0}, "pos_margin, neg_margin"),
        ({"temperature": -0.1}, "temperature"),
    ],
)
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ILPLoss(**kwargs)


def test_bad_shapes_are_named():
    A, b, c, y, neg = (torch.tensor(x) for x in _case(0, False))
    with pytest.raises(ValueError, match="A: expected"):
        ilp_loss_terms(A[:, :2], b, c, y, neg)
    with pytest.raises(ValueError, match="b: expected"):
        ilp_loss_terms(A, b[:2], c, y, neg)
    with pytest.raises(ValueError, match="negatives: expected"):
        ilp_loss_terms(A, b, c, y, neg[0])
    with pytest.raises(ValueError, match="c, y"):
        ilp_loss_terms(A, b, c, y[:2], neg)
