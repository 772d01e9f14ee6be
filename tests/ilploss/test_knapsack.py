"""``--method ilploss`` in the KNAPSACK demo: costs and the capacity row learned solver-free."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from demos.knapsack.data import generate
from demos.knapsack.evaluation import score
from demos.knapsack.models import KnapsackILPLoss
from demos.knapsack.training import TrainConfig, predict, train


def _one_hot_features(d) -> torch.Tensor:
    """Features that encode each item's weight and price one-hot (decodable by the MLP)."""
    w, p = d.weights.astype(int), d.prices.astype(int)
    x = np.zeros((*w.shape, 21 + 36), dtype=np.float32)
    np.put_along_axis(x, (w - 15)[..., None], 1.0, axis=-1)
    np.put_along_axis(x, (21 + p - 10)[..., None], 1.0, axis=-1)
    return torch.from_numpy(x)


def test_ilploss_learns_knapsack_without_solving_in_training(monkeypatch):
    d = generate(num_instances=600, num_train=400, seed=7)
    x, labels = _one_hot_features(d), torch.from_numpy(d.labels)
    torch.manual_seed(0)
    model = KnapsackILPLoss(x.shape[-1], hidden=64, solver="bruteforce")

    def measure():
        return score(
            predict(model, x[400:]), d.weights[400:], d.prices[400:], d.labels[400:],
            d.optimum[400:],
        )["exact_match"]  # fmt: skip

    before = measure()
    solves = []
    ilp_forward = type(model.ilp).forward
    monkeypatch.setattr(
        type(model.ilp),
        "forward",
        lambda self, *a, **k: solves.append(1) or ilp_forward(self, *a, **k),
    )
    config = TrainConfig(lr=1e-2, epochs=10, seed=0, progress=False)
    result = train(model, x[:300], labels[:300], None, None, config)
    assert solves == []  # no validation split given: training alone solved nothing
    model.load_state_dict(result.best_state)
    assert measure() >= before + 0.2
