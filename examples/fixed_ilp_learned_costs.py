"""A fixed, known ILP with learned costs: matching ``p`` keypoints to ``p`` keypoints.

The constraints are known and fixed (every row and every column of the ``p x p`` assignment
matrix sums to one, written as pairs of inequalities ``A y <= b``); only the cost of each pair
is predicted, by a linear model of the pair's features. The ILP layer returns the optimal
matching and passes the gradient to the costs alone: ``A`` and ``b`` are plain tensors that
do not require gradients. The known constraints guarantee valid matchings from the first step.

``--method`` picks the cost gradient: ``combopt`` (``ILPLayer``, the paper's rule), or one of
the field's rules for fixed constraints in ``combopt_torch.cost``: ``blackbox`` (``--lambda``),
``perturbed-fy`` (the Fenchel-Young loss, ``--sigma``, ``--samples``), ``spo+`` (trained on the
true costs) or ``identity``. ``combopt``, ``blackbox`` and ``identity`` minimise the squared
error of the matching; every method but ``spo+`` sees ``c / ||c||``. ``--val`` holds out that
many training instances and reports their scores too, to choose hyperparameters on.
Scores: exact match of the matching, and the normalised regret
``sum (c*.y_hat - c*.y*) / sum |c*.y*|`` over the split of deciding with the learned costs,
``c*`` the true ones (PyEPO's normalisation).

Run from the repository root::

    python examples/fixed_ilp_learned_costs.py
    python examples/fixed_ilp_learned_costs.py --epochs 2 --train 200   # a quick look
    python examples/fixed_ilp_learned_costs.py --method spo+
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from combopt_core import solve
from combopt_core.cost_rules import normalized_regret
from combopt_torch import BlackboxILP, FenchelYoungLoss, IdentityILP, ILPLayer, SPOPlusLoss

METHODS = ("combopt", "blackbox", "perturbed-fy", "spo+", "identity")


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


def make_loss(args: argparse.Namespace, A: torch.Tensor, b: torch.Tensor):
    """``loss(c, c_true, y_true) -> scalar`` of ``args.method`` for predicted costs ``c (B, n)``."""
    box = {"lb": 0, "ub": 1, "solver": args.solver, "workers": args.workers}
    if args.method == "spo+":
        spo = SPOPlusLoss(**box)
        return lambda c, c_true, y_true: spo(c, c_true, A, b, y_true=y_true)
    if args.method == "perturbed-fy":
        fy = FenchelYoungLoss(args.sigma, args.samples, generator=args.generator, **box)
        return lambda c, c_true, y_true: fy(unit(c), y_true, A, b)
    layer = {
        "combopt": lambda: ILPLayer(**box),
        "blackbox": lambda: BlackboxILP(args.lambda_, **box),
        "identity": lambda: IdentityILP(**box),
    }[args.method]()
    return lambda c, c_true, y_true: ((layer(unit(c), A, b) - y_true) ** 2).mean()


def unit(c: torch.Tensor) -> torch.Tensor:
    return c / c.norm(dim=1, keepdim=True)  # the paper normalizes cost vectors


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
    parser.add_argument("--workers", type=int, default=None, help="parallel solves per batch")
    parser.add_argument("--method", choices=METHODS, default="combopt", help="cost gradient")
    parser.add_argument("--lambda", dest="lambda_", type=float, default=20.0, help="blackbox")
    parser.add_argument("--sigma", type=float, default=0.1, help="perturbed-fy noise scale")
    parser.add_argument("--samples", type=int, default=4, help="perturbed-fy samples")
    parser.add_argument("--val", type=int, default=0, help="training instances held out")
    args = parser.parse_args(argv)
    if not 0 <= args.val < args.train:
        parser.error(f"--val: must lie in [0, --train = {args.train}), got {args.val}")

    rng = np.random.default_rng(args.seed)
    torch.manual_seed(args.seed)
    n = args.p**2
    A_np, b_np = assignment_constraints(args.p)
    w_true = rng.normal(size=args.dim)

    def make_data(count: int):
        features = rng.normal(size=(count, n, args.dim))
        cost = features @ w_true + args.noise * rng.normal(size=(count, n))
        y = solve(cost, A_np, b_np, 0, 1, solver=args.solver).y
        return torch.tensor(features), torch.tensor(cost), torch.tensor(y)

    data = make_data(args.train)
    test = make_data(args.test)
    keep = args.train - args.val  # the validation instances come from the training draw
    train, val = [x[:keep] for x in data], [x[keep:] for x in data]
    A, b = torch.tensor(A_np), torch.tensor(b_np)  # fixed: no gradient needed

    weights = torch.zeros(args.dim, dtype=torch.float64)
    weights.normal_(generator=torch.Generator().manual_seed(args.seed))
    weights.requires_grad_()
    args.generator = torch.Generator().manual_seed(args.seed)  # perturbed-fy's noise
    loss_fn = make_loss(args, A, b)
    optimizer = torch.optim.Adam([weights], lr=args.lr)

    def evaluate(split) -> tuple[float, float]:
        """Exact match and normalised regret of the matchings the learned costs pick."""
        features, cost, y_best = split
        with torch.no_grad():
            c = (features @ weights).numpy()
        y = solve(c, A_np, b_np, 0, 1, solver=args.solver, workers=args.workers).y
        exact = float(np.all(y == y_best.numpy(), axis=1).mean())
        return exact, normalized_regret(cost.numpy(), y, y_best.numpy())

    before, _ = evaluate(test)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(keep)
        total = 0.0
        for start in range(0, keep, args.batch):
            idx = order[start : start + args.batch]
            loss = loss_fn(train[0][idx] @ weights, train[1][idx], train[2][idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch:3d}  train loss {total / keep:.4f}")
    after, regret = evaluate(test)
    val_exact, val_regret = evaluate(val) if args.val else (float("nan"), float("nan"))

    cosine = torch.nn.functional.cosine_similarity(
        weights.detach(), torch.tensor(w_true), dim=0
    ).item()
    print(
        f"{args.method}: test exact match {after:.1%} after training ({before:.1%} before), "
        f"regret {regret:.4f}; cosine(learned, true cost weights) = {cosine:.3f}"
    )
    return {
        "before": before,
        "after": after,
        "regret": regret,
        "cosine": cosine,
        "val_exact": val_exact,
        "val_regret": val_regret,
    }


if __name__ == "__main__":
    main()
