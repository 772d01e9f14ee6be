"""A fixed, known ILP with learned costs: matching ``p`` keypoints to ``p`` keypoints.

The constraints are known and fixed (every row and every column of the ``p x p`` assignment
matrix sums to one, written as pairs of inequalities ``A y <= b``); only the cost of each pair
is predicted, by a linear model of the pair's features. The ILP layer returns the optimal
matching and passes the gradient to the costs alone: ``A`` and ``b`` are plain tensors that
do not require gradients. The known constraints guarantee valid matchings from the first step.

Run from the repository root::

    python examples/fixed_ilp_learned_costs.py
    python examples/fixed_ilp_learned_costs.py --epochs 2 --train 200   # a quick look
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from combopt_core import solve
from combopt_torch import ILPLayer


def assignment_constraints(p: int) -> tuple[np.ndarray, np.ndarray]:
    """``A y <= b`` for ``sum_j y_ij = 1`` (rows) and ``sum_i y_ij = 1`` (columns).

    ``y`` is the ``p x p`` matrix flattened row-major (``n = p^2``); each equality becomes
    ``s <= 1`` and ``-s <= -1``, so ``A`` has ``4p`` rows.
    """
    eye = np.eye(p)
    rows = np.kron(eye, np.ones((1, p)))  # sum over j of y_ij
    cols = np.kron(np.ones((1, p)), eye)  # sum over i of y_ij
    sums = np.vstack([rows, cols])
    return np.vstack([sums, -sums]), np.concatenate([np.ones(2 * p), -np.ones(2 * p)])


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=int, default=5, help="keypoints per side (n = p^2)")
    parser.add_argument("--dim", type=int, default=8, help="features per pair")
    parser.add_argument("--noise", type=float, default=0.5, help="cost noise the model cannot see")
    parser.add_argument("--train", type=int, default=800)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=5e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", default=None, help="backend name (default: HiGHS)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    n = args.p**2
    A_np, b_np = assignment_constraints(args.p)
    w_true = rng.normal(size=args.dim)

    def make_data(count: int):
        features = rng.normal(size=(count, n, args.dim))
        cost = features @ w_true + args.noise * rng.normal(size=(count, n))
        y = solve(cost, A_np, b_np, 0, 1, solver=args.solver).y
        return torch.tensor(features), torch.tensor(y)

    f_train, y_train = make_data(args.train)
    f_test, y_test = make_data(args.test)
    A, b = torch.tensor(A_np), torch.tensor(b_np)  # fixed: no gradient needed

    weights = torch.zeros(args.dim, dtype=torch.float64)
    weights.normal_(generator=torch.Generator().manual_seed(args.seed))
    weights.requires_grad_()
    layer = ILPLayer(lb=0, ub=1, solver=args.solver)
    optimizer = torch.optim.Adam([weights], lr=args.lr)

    def evaluate() -> float:
        with torch.no_grad():
            y = layer(f_test @ weights, A, b)
        return (y == y_test).all(dim=1).double().mean().item()

    before = evaluate()
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(args.train)
        total = 0.0
        for start in range(0, args.train, args.batch):
            idx = order[start : start + args.batch]
            c = f_train[idx] @ weights
            c = c / c.norm(dim=1, keepdim=True)  # the paper normalizes cost vectors
            loss = ((layer(c, A, b) - y_train[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch:3d}  train loss {total / args.train:.4f}")
    after = evaluate()

    cosine = torch.nn.functional.cosine_similarity(
        weights.detach(), torch.tensor(w_true), dim=0
    ).item()
    print(
        f"test exact match: {after:.1%} after training ({before:.1%} before); "
        f"cosine(learned, true cost weights) = {cosine:.3f}"
    )
    return {"before": before, "after": after, "cosine": cosine}


if __name__ == "__main__":
    main()
