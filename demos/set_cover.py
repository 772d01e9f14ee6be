"""Weighted Set Covering (paper Sec. 4.2): learn the covering constraints from ``(c, y*)``.

A universe ``U = {1..m}`` and ``n = 2m`` subsets of at most 3 elements that together cover
``U``; ``y*`` is the cheapest sub-covering for positive costs ``c``:
``min c.y  s.t.  sum_{j: k in S_j} y_j >= 1 for every k,  y in {0, 1}^n``, written in the
library's convention as ``-C y <= -1`` with ``C[k, j] = [k in S_j]``. The learner sees only
``(c, y*)`` and learns ``m`` constraints, as in the paper.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from combopt_core import get_solver, solve

from .datasets import ConstraintDataset
from .experiment import add_common_arguments, resolve_defaults, run_grid

# Fig. 9 of the paper: CombOptNet exact-match test accuracy (%) for universe size m.
PAPER = {("wsc", "combopt", m): v for m, v in zip((4, 6, 8, 10), (100.0, 97.2, 79.7, 56.7))}
MAX_SUBSET_SIZE = 3


def draw_covering(
    universe: int, num_subsets: int, rng: np.random.Generator, max_size: int = MAX_SUBSET_SIZE
) -> np.ndarray:
    """Membership matrix ``C (universe, num_subsets)`` of random subsets that cover ``U``.

    Each subset has a size uniform in ``1..max_size`` and distinct elements uniform in ``U``;
    families that leave an element uncovered are redrawn (rejection keeps the distribution
    of the family conditioned on covering).
    """
    if num_subsets * max_size < universe:
        raise ValueError(
            f"num_subsets: {num_subsets} subsets of at most {max_size} elements cannot cover "
            f"a universe of {universe}"
        )
    while True:
        C = np.zeros((universe, num_subsets))
        for j in range(num_subsets):
            size = rng.integers(1, min(max_size, universe) + 1)
            C[rng.choice(universe, size=size, replace=False), j] = 1.0
        if C.sum(axis=1).min() >= 1:
            return C


def generate(
    m: int,
    seed: int,
    num_train: int = 1600,
    num_test: int = 1000,
    solver: str | None = None,
) -> ConstraintDataset:
    """A seeded WSC dataset: universe ``m``, ``2m`` subsets, costs uniform in ``(0, 1)``.

    Labels ``y*`` are exact optima from the ILP solver ``solver`` (continuous costs make the
    optimum unique with probability one). Same ``(m, seed)`` gives the same dataset.
    """
    if m < 1 or num_train < 1 or num_test < 1:
        raise ValueError(f"m, num_train, num_test: must be positive, got {m}, {num_train}, {num_test}")
    rng = np.random.default_rng([seed, m, 2])
    n = 2 * m
    C = draw_covering(m, n, rng)
    A, b = -C, -np.ones(m)
    c = rng.uniform(0.0, 1.0, (num_train + num_test, n))
    c = np.where(c > 0, c, 1e-12)  # strictly positive costs
    y = solve(c, A, b, 0.0, 1.0, solver=get_solver(solver)).y
    return ConstraintDataset(
        name=f"wsc_m{m}_seed{seed}",
        c_train=c[:num_train], y_train=y[:num_train],
        c_test=c[num_train:], y_test=y[num_train:],
        A=A, b=b, lb=0.0, ub=1.0,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos set-cover",
        description="Learn Weighted Set Covering constraints (CombOptNet, Sec. 4.2).",
    )
    add_common_arguments(parser, default_m=(4, 6, 8, 10))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = resolve_defaults(build_parser().parse_args(argv))
    run_grid(
        "set-cover", ["wsc"], lambda _variant, m, seed: generate(m, seed, solver=args.solver),
        args, PAPER, "Weighted Set Covering",
    )
    return 0
