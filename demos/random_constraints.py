"""Random Constraints (paper Sec. 4.1): learn a hidden ILP's constraints from ``(c, y*)``.

``python -m demos random-constraints --quick`` trains CombOptNet for a few epochs on the
paper's own binary m = 1 dataset (seed 0) and prints test accuracy beside the box-only
baseline. Without ``--quick`` it runs the grid ``--variant x --m x --seeds x --methods``
and writes a CSV, a markdown table with the paper's numbers and a plot under ``--out``.

The generator follows the paper's appendix A.1 for new sizes and seeds (``--generate``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from combopt_core import get_solver, solve

from .datasets import RC_VARIANTS, ConstraintDataset, load_random_constraints
from .experiment import add_common_arguments, resolve_defaults, run_grid

BOXES = {"binary": (0.0, 1.0), "dense": (-5.0, 5.0)}

# Exact-match test accuracy (%), mean over dataset seeds, read from the paper's Fig. 7
# (CombOptNet with m learned constraints) and the README of the shipped data.
PAPER = {
    **{("binary", "combopt", m): v for m, v in zip((1, 2, 4, 8), (97.8, 94.2, 77.4, 46.5))},
    **{("dense", "combopt", m): v for m, v in zip((1, 2, 4, 8), (87.3, 70.2, 29.6, 2.3))},
}


def generate(
    variant: str,
    m: int,
    seed: int,
    num_vars: int = 16,
    num_train: int = 1600,
    num_test: int = 1000,
    radius: float = 0.2,
    solver: str | None = None,
) -> ConstraintDataset:
    """A Random Constraints dataset drawn as in the paper's appendix A.1 (seeded).

    Constraint ``k`` reads ``a_k . (y - o_k) + r <= 0`` (so ``b_k = a_k . o_k - r``) with a
    unit normal ``a_k`` (``U[-0.5, 0.5]^n`` normalised), an origin ``o_k`` uniform in the
    central half of the box and ``r = radius``. To guarantee a feasible ILP, one corner of
    the box is drawn and every normal whose constraint cuts that corner off is flipped;
    a constraint that cuts it off either way (``|a_k . (v - o_k)| < r``) is redrawn. Costs are
    uniform in ``[-1, 1]^n``; labels ``y*`` come from the ILP solver ``solver``.

    The paper's own datasets (``demos/data``) were made by the authors' code and are not
    reproduced bit for bit by this function: it draws new instances of the same family.
    """
    if variant not in BOXES:
        raise ValueError(f"variant: expected one of {tuple(BOXES)}, got {variant!r}")
    if m < 1 or num_vars < 1 or num_train < 1 or num_test < 1:
        raise ValueError(
            f"m, num_vars, num_train, num_test: must be positive, got {m}, {num_vars}, "
            f"{num_train}, {num_test}"
        )
    lb, ub = BOXES[variant]
    rng = np.random.default_rng([seed, m, 0 if variant == "binary" else 1])
    corner = np.where(rng.random(num_vars) < 0.5, lb, ub)
    centre, half = (lb + ub) / 2, (ub - lb) / 2
    normals, origins = np.empty((m, num_vars)), np.empty((m, num_vars))
    for k in range(m):
        while True:
            a = rng.uniform(-0.5, 0.5, num_vars)
            a /= np.linalg.norm(a)
            o = centre + rng.uniform(-0.5, 0.5, num_vars) * half
            side = a @ (corner - o)
            if abs(side) > radius:
                normals[k], origins[k] = (a if side < 0 else -a), o
                break
    A = normals
    b = np.einsum("kn,kn->k", normals, origins) - radius
    c = rng.uniform(-1.0, 1.0, (num_train + num_test, num_vars))
    y = solve(c, A, b, lb, ub, solver=get_solver(solver)).y
    return ConstraintDataset(
        name=f"generated_{variant}_m{m}_seed{seed}",
        c_train=c[:num_train], y_train=y[:num_train],
        c_test=c[num_train:], y_test=y[num_train:],
        A=A, b=b, lb=lb, ub=ub,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos random-constraints",
        description="Learn the constraints of Random Constraints ILPs (CombOptNet, Sec. 4.1).",
    )
    parser.add_argument("--variant", nargs="+", choices=RC_VARIANTS, default=["binary"],
                        help="box [0,1]^16 (binary) or [-5,5]^16 (dense) (default: binary)")
    parser.add_argument("--generate", action="store_true",
                        help="draw fresh datasets with the appendix A.1 generator instead of "
                        "the paper's shipped ones")
    add_common_arguments(parser, default_m=(1, 2, 4, 8))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = resolve_defaults(build_parser().parse_args(argv))

    def load(variant: str, m: int, seed: int) -> ConstraintDataset:
        if args.generate:
            return generate(variant, m, seed, solver=args.solver)
        return load_random_constraints(variant, m, seed)

    run_grid("random-constraints", args.variant, load, args, PAPER, "Random Constraints")
    return 0
