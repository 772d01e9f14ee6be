"""``--method ilploss`` in the keypoint demo: costs and constraints learned solver-free."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from demos.keypoints.synthetic import SyntheticKeypoints, make_splits
from demos.keypoints.train import KeypointCombOptNet, Protocol, evaluate, train


def test_ilploss_learns_matchings_and_solves_only_to_validate(monkeypatch):
    world = SyntheticKeypoints()
    tr, va, te = make_splits(world, 3, (400, 32, 64), seed=0)
    protocol = Protocol(
        epochs=2, iterations=40, lr=1e-3, constraint_lr=1e-2, workers=1, method="ilploss"
    )
    model = KeypointCombOptNet(3, 32, protocol, hidden=32, seed=0)
    before = evaluate(model, te)["combopt"]
    calls = []
    forward = type(model.ilp).forward
    monkeypatch.setattr(
        type(model.ilp),
        "forward",
        lambda self, c, *a, **k: calls.append(len(c)) or forward(self, c, *a, **k),
    )
    fit = train(model, tr, va, protocol)
    assert sum(calls) == 2 * len(va)  # one validation per epoch; training solved nothing
    after = evaluate(model, te)["combopt"]
    assert fit["history"][0]["train_infeasible"] == 0.0
    assert after["accuracy"] > before["accuracy"] + 0.2
    assert after["valid_permutations"] > before["valid_permutations"] + 0.1


def test_an_unknown_method_is_named():
    with pytest.raises(ValueError, match="method"):
        Protocol(method="sgd")
