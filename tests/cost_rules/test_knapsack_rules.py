"""The knapsack demo's cost-rule methods: prices learned, the true weights as the constraint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from demos.knapsack.data import generate  # noqa: E402
from demos.knapsack.evaluation import score  # noqa: E402
from demos.knapsack.models import METHODS, with_true_weights  # noqa: E402
from demos.knapsack.training import TrainConfig, predict, train  # noqa: E402


def decodable(d) -> torch.Tensor:
    """Item features that state the price and the weight plainly, ``(N, 10, 2)``."""
    return torch.from_numpy(np.stack([d.prices / 45.0, d.weights / 35.0], -1)).float()


def test_with_true_weights_appends_the_weight_as_the_last_feature():
    d = generate(num_instances=20, num_train=10, seed=3)
    x = with_true_weights(decodable(d), d.weights)
    assert x.shape == (20, 10, 3)
    np.testing.assert_array_equal(x[..., -1].numpy(), d.weights)


@pytest.mark.parametrize("rule", ["blackbox", "identity", "perturbed"])
def test_a_cost_rule_learns_the_prices_and_its_selections_are_feasible(rule):
    d = generate(num_instances=300, num_train=200, seed=7)
    x = with_true_weights(decodable(d), d.weights)
    labels = torch.from_numpy(d.labels)
    torch.manual_seed(0)
    model = METHODS[rule](x.shape[-1], hidden=32, solver="bruteforce", tau=0.5)

    def scores():
        test = slice(200, 300)
        chosen = predict(model, x[test])
        return score(chosen, d.weights[test], d.prices[test], d.labels[test], d.optimum[test])

    before = scores()
    config = TrainConfig(lr=1e-2, epochs=3, seed=0, progress=False)
    result = train(model, x[:150], labels[:150], x[150:200], d.labels[150:200], config)
    model.load_state_dict(result.best_state)
    after = scores()
    assert after["exact_match"] >= before["exact_match"] + 0.2, (before, after)
    assert after["infeasible"] == 0.0  # the constraint is the true one


def test_cost_rule_models_refuse_an_unknown_rule():
    from demos.knapsack.models import KnapsackCostRule

    with pytest.raises(ValueError, match="rule"):
        KnapsackCostRule(3, "spo+")
