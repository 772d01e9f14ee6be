"""Learn the constraints of an unknown ILP from solved instances.

A hidden ILP ``min c.y  s.t.  A* y <= b*,  y in {0, 1}^n`` produced the optimal solutions
``y*`` of many cost vectors ``c``. We see only ``(c, y*)`` pairs. A ``CombOptNet`` layer with
learnable constraints (the paper's parametrization: unit normals, radii, learnable origins)
is trained so that its own solutions match ``y*``; its accuracy is compared with the box-only
baseline (``y = [c < 0]``, the answer when no constraint is known).

Run from the repository root::

    python examples/learn_constraints.py                 # n = 16, m = 1, about a minute
    python examples/learn_constraints.py --epochs 2 --train 200   # a quick look
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from combopt_core import solve
from combopt_torch import CombOptNet


def hidden_ilp(n: int, m: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random constraints as in the paper (A.1): unit normals through the central half of the
    box, pushed out by 0.2, signs chosen so that the box's zero corner stays feasible."""
    A = rng.uniform(-0.5, 0.5, size=(m, n))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    origins = rng.uniform(0.25, 0.75, size=(m, n))
    b = (A * origins).sum(axis=1) + 0.2
    flip = b < 0  # make y = 0 feasible: a.0 <= b needs b >= 0
    A[flip], b[flip] = -A[flip], -b[flip]
    return A, b


def make_data(A, b, count: int, rng: np.random.Generator, solver: str | None):
    """``count`` normalized cost vectors and their optimal solutions under ``A y <= b``."""
    c = rng.uniform(-1, 1, size=(count, A.shape[1]))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    y = solve(c, A, b, 0, 1, solver=solver).y
    return torch.tensor(c), torch.tensor(y)


def exact_match(y: torch.Tensor, y_true: torch.Tensor) -> float:
    return (y == y_true).all(dim=1).double().mean().item()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16, help="variables (default 16)")
    parser.add_argument("--m", type=int, default=1, help="hidden constraints (default 1)")
    parser.add_argument("--learned", type=int, default=None, help="learned constraints (2m)")
    parser.add_argument("--train", type=int, default=800, help="training instances")
    parser.add_argument("--test", type=int, default=500, help="test instances")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", default=None, help="backend name (default: HiGHS)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    A_true, b_true = hidden_ilp(args.n, args.m, rng)
    c_train, y_train = make_data(A_true, b_true, args.train, rng, args.solver)
    c_test, y_test = make_data(A_true, b_true, args.test, rng, args.solver)

    model = CombOptNet(
        num_vars=args.n,
        num_constraints=args.learned or 2 * args.m,
        lb=0,
        ub=1,
        solver=args.solver,
        tau=0.5,
        generator=torch.Generator().manual_seed(args.seed),
    ).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)

    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(args.train)
        total = 0.0
        for start in range(0, args.train, args.batch):
            idx = order[start : start + args.batch]
            y = model(c_train[idx])
            # MSE between solutions normalized to [-0.5, 0.5] (the paper's loss).
            loss = ((y - y_train[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch:3d}  train loss {total / args.train:.4f}")

    with torch.no_grad():
        y_pred, info = model(c_test, return_info=True)
    results = {
        "learned": exact_match(y_pred, y_test),
        "box_only": exact_match((c_test < 0).double(), y_test),
        "infeasible": info.infeasible.double().mean().item(),
    }
    print(
        f"test exact match: learned constraints {results['learned']:.1%}, "
        f"box only {results['box_only']:.1%} "
        f"({results['infeasible']:.1%} of learned ILPs infeasible)"
    )
    return results


if __name__ == "__main__":
    main()
