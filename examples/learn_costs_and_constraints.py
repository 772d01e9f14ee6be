"""Learn the whole ILP, costs and an input-dependent constraint, from item features.

A knapsack in the spirit of the paper's Sec. 4.3: each instance has ``n`` items; each item is
described only by a feature vector (a noisy linear encoding of its price and weight, a stand-in
for a sentence embedding). The label is the optimal selection
``max p.y  s.t.  w.y <= capacity,  y in {0, 1}^n``. A per-item network predicts a price and a
weight from the features; the ILP layer turns them into a selection, as
``min c.y  s.t.  A y <= b`` with ``c = -price``, ``A = weight`` (one row per instance) and
``b = capacity``. Both heads learn through the layer's gradients for ``c`` and ``A``.

Run from the repository root::

    python examples/learn_costs_and_constraints.py
    python examples/learn_costs_and_constraints.py --epochs 2 --train 200   # a quick look
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from combopt_core import solve
from combopt_torch import ILPLayer

PRICE_RANGE = (10.0, 45.0)
WEIGHT_RANGE = (15.0, 35.0)
CAPACITY = 100.0
SCALE = 0.01  # the paper scales prices, weights and capacity by 0.01


def make_data(count: int, n: int, dim: int, encoder: np.ndarray, rng, noise: float, solver):
    """Features ``(count, n, dim)`` and optimal selections ``(count, n)``."""
    price = rng.uniform(*PRICE_RANGE, size=(count, n))
    weight = rng.uniform(*WEIGHT_RANGE, size=(count, n))
    unit = np.stack(
        [
            (price - PRICE_RANGE[0]) / np.ptp(PRICE_RANGE),
            (weight - WEIGHT_RANGE[0]) / np.ptp(WEIGHT_RANGE),
        ],
        axis=-1,
    )
    features = unit @ encoder + noise * rng.normal(size=(count, n, dim))
    y = solve(-price, weight[:, None, :], np.full((count, 1), CAPACITY), 0, 1, solver=solver).y
    return torch.tensor(features), torch.tensor(y)


class ItemNet(nn.Module):
    """Per item: features -> (price, weight) in their known ranges, scaled by ``SCALE``."""

    def __init__(self, dim: int, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.sigmoid(self.net(features))
        price = PRICE_RANGE[0] + np.ptp(PRICE_RANGE) * out[..., 0]
        weight = WEIGHT_RANGE[0] + np.ptp(WEIGHT_RANGE) * out[..., 1]
        return SCALE * price, SCALE * weight


def predict(net: ItemNet, layer: ILPLayer, features: torch.Tensor) -> torch.Tensor:
    price, weight = net(features)
    b = torch.full((features.shape[0], 1), SCALE * CAPACITY, dtype=price.dtype)
    return layer(-price, weight.unsqueeze(1), b)  # c = -price, A = (B, 1, n), b = (B, 1)


def exact_match(y: torch.Tensor, y_true: torch.Tensor) -> float:
    return (y == y_true).all(dim=1).double().mean().item()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10, help="items per instance")
    parser.add_argument("--dim", type=int, default=16, help="feature dimension")
    parser.add_argument("--noise", type=float, default=0.02, help="feature noise")
    parser.add_argument("--train", type=int, default=1000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", default=None, help="backend name (default: HiGHS)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    encoder = rng.normal(size=(2, args.dim))
    f_train, y_train, f_test, y_test = (
        tensor
        for count in (args.train, args.test)
        for tensor in make_data(count, args.items, args.dim, encoder, rng, args.noise, args.solver)
    )

    net = ItemNet(args.dim).double()
    layer = ILPLayer(lb=0, ub=1, solver=args.solver, tau=0.5)
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr)
    with torch.no_grad():
        before = exact_match(predict(net, layer, f_test), y_test)

    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(args.train)
        total = 0.0
        for start in range(0, args.train, args.batch):
            idx = order[start : start + args.batch]
            loss = ((predict(net, layer, f_train[idx]) - y_train[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch:3d}  train loss {total / args.train:.4f}")

    with torch.no_grad():
        after = exact_match(predict(net, layer, f_test), y_test)
    print(f"test exact match: {after:.1%} after training ({before:.1%} before)")
    return {"before": before, "after": after}


if __name__ == "__main__":
    main()
