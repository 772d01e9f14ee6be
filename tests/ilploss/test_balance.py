"""The balancers against plain references: coefficient-of-variation weights, fixed weights."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_torch.ilploss import CoVBalancer, FixedWeights


def _reference_cov_weights(history, eps=1e-6):
    """Weights after the steps ``history (t, k)``, from the docstring's definition."""
    history = np.asarray(history, dtype=np.float64)
    t = np.arange(1, len(history) + 1)[:, None]
    ratios = (history + eps) / (np.cumsum(history, 0) / t + eps)  # each step vs its mean so far
    cov = np.sqrt(ratios.var(0) + eps) / ratios.mean(0)
    return cov / cov.sum()


def test_cov_weights_and_loss_match_the_plain_reference():
    rng = np.random.default_rng(0)
    history = np.abs(rng.normal(size=(12, 3))) * [1.0, 0.1, 3.0]
    history[:, 1] *= np.linspace(1, 0.1, 12)  # one term keeps falling: it gains weight
    balancer = CoVBalancer(("pos", "neg", "var"))
    for t, row in enumerate(history, start=1):
        terms = {name: torch.tensor(v, requires_grad=True) for name, v in zip(balancer.names, row)}
        loss = balancer(terms)
        weights = _reference_cov_weights(history[:t])
        np.testing.assert_allclose(balancer.weights.numpy(), weights, rtol=1e-12)
        np.testing.assert_allclose(float(loss.detach()), weights @ row, rtol=1e-12)
        loss.backward()
        np.testing.assert_allclose([float(terms[n].grad) for n in balancer.names], weights)
    assert int(balancer.step) == 12 and np.argmax(balancer.weights.numpy()) == 1


def test_combine_takes_the_terms_in_any_order():
    rng = np.random.default_rng(1)
    history = np.abs(rng.normal(size=(5, 3)))
    by_name, stacked = CoVBalancer(("pos", "neg", "var")), CoVBalancer(("pos", "neg", "var"))
    for row in history:
        a = by_name(dict(zip(("pos", "neg", "var"), torch.tensor(row))))
        b = stacked.combine(torch.tensor(row[[2, 0, 1]]), ("var", "pos", "neg"))
        assert float(a) == pytest.approx(float(b), rel=1e-12)
    assert torch.equal(by_name.weights, stacked.weights)
    with pytest.raises(ValueError, match="terms: expected"):
        stacked.combine(torch.ones(2), ("pos", "neg"))


def test_fixed_weights_combine_equals_forward():
    values = torch.tensor([0.5, 2.0, 4.0], requires_grad=True)
    fixed = FixedWeights({"neg": 2.0, "pos": 1.0})  # var left out: weight 0
    direct = fixed(dict(zip(("pos", "neg", "var"), values.unbind())))
    combined = fixed.combine(values, ("pos", "neg", "var"))
    assert float(direct) == float(combined) == 4.5
    (grad,) = torch.autograd.grad(combined, values)
    assert grad.tolist() == [1.0, 2.0, 0.0]
    with pytest.raises(ValueError, match="no term named"):
        fixed.combine(values[:1], ("pos",))
