"""Per-solve time of the Sudoku ILPs (``python -m demos sudoku``) on every available backend.

For each grid size, two constraint sets are timed on the same test puzzles (costs from the
givens, ``demos.sudoku.ilp.given_costs``): the ``4 s^2`` true rules as packing rows, and
``4 s^2`` learned rows at the paper's initialisation (``LearnableConstraints``, seed 0), the
constraints CombOptNet starts training from. Each backend solves the instances one at a time
in this thread (one solver thread) with ``--time-limit`` seconds per solve; a cell reports the
mean wall time per solve, how many solves were proven (optimal or infeasible) and how many hit
the limit, and the ratio of its mean to the fastest backend's mean in the same row. With the
true rules every answer is also checked against the puzzle's unique solution.

Run from the repository root:
    python -m demos.benchmarks.sudoku_solvers [--size 4 9] [--count 20] [--time-limit 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from combopt_core import Status, get_solver, list_backends, solve
from combopt_torch import LearnableConstraints
from demos.sudoku.data import generate
from demos.sudoku.ilp import decode, given_costs, num_vars, one_hot, true_rules

DEFAULT_BACKENDS = ("highs", "cpsat", "gurobi", "scip")


def initial_rules(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``4 s^2`` learned rows CombOptNet starts from (the paper's initialisation)."""
    m = 4 * size * size
    with torch.no_grad():
        A, b = LearnableConstraints(m, num_vars(size), generator=torch.Generator().manual_seed(0))()
    return A.double().numpy(), b.double().numpy()


def time_cell(name, size, c, A, b, solutions, time_limit) -> dict:
    solver = get_solver(name)
    start = time.perf_counter()
    sol = solve(c, A, b, 0.0, 1.0, solver=solver, workers=1, time_limit=time_limit, on_error="flag")
    mean = (time.perf_counter() - start) / len(c)
    status = np.asarray(sol.status)
    proven = int(np.isin(status, (int(Status.OPTIMAL), int(Status.INFEASIBLE))).sum())
    right = None
    if solutions is not None:
        right = int((decode(sol.y, size) == solutions).all((1, 2)).sum())
    return {
        "mean": mean,
        "proven": proven,
        "limit": int((status == Status.TIME_LIMIT).sum()),
        "right": right,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, nargs="+", default=[4, 9], choices=(4, 6, 9))
    p.add_argument("--count", type=int, default=20, help="puzzles per cell")
    p.add_argument("--split", default="test", choices=("test", "hard"))
    p.add_argument("--time-limit", type=float, default=20.0, help="seconds per solve")
    p.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS))
    args = p.parse_args(argv)
    available = {s.name for s in list_backends() if s.available}
    backends = [b for b in args.backends if b in available]
    print(
        f"backends: {', '.join(backends)}; {args.count} {args.split} puzzles per cell; "
        f"time limit {args.time_limit:g} s per solve; one thread"
    )
    print(
        "| grid | constraints | backend | mean s/solve | proven | hit limit | right | vs fastest |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in args.size:
        data = generate(size, args.split, args.count)
        c = given_costs(one_hot(data.puzzles))
        for label, (A, b), solutions in (
            ("true rules", true_rules(size), data.solutions),
            ("initial learned", initial_rules(size), None),
        ):
            cells = {}
            for name in backends:
                cells[name] = time_cell(name, size, c, A, b, solutions, args.time_limit)
            fastest = min(x["mean"] for x in cells.values())
            for name, x in cells.items():
                right = "" if x["right"] is None else f"{x['right']}/{args.count}"
                print(
                    f"| {size}x{size} | {label} | {name} | {x['mean']:.3f} | "
                    f"{x['proven']}/{args.count} | {x['limit']} | {right} | "
                    f"{x['mean'] / fastest:.1f}x |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
