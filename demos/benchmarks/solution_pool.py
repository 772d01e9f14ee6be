"""The accuracy cost of the solution pool (PyEPO-style ``solve_ratio``), measured.

Random Constraints, the true constraints ``A, b``, the 1,000 test costs in batches of 8.
For each ``solve_ratio``, a pool either seeded with the 1,600 training solutions (as PyEPO
does) or starting empty answers the instances it does not solve with the best feasible
pooled point. Printed per ratio: the fraction of instances solved, exact match with the true
optimum ``y == y*``, mean relative regret ``(c.y - c.y*) / |c.y*|``, and the wall-time
speedup over solving everything (``solve_ratio = 1``).

    python -m demos.benchmarks.solution_pool [--case binary 4] [--ratios 1 0.5 0.2 0.1 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from combopt_core import SolutionPool, get_solver, make_problem, solve_batch

from .common import load_rc, machine_note, table


def run_stream(solver, data, pool: SolutionPool | None, batch: int) -> tuple[np.ndarray, float]:
    """Answers for every test cost, in batches; and the wall seconds it took."""
    costs = data["c_test"]
    answers = []
    start = time.perf_counter()
    for s in range(0, costs.shape[0], batch):
        problem = make_problem(costs[s : s + batch], data["A"], data["b"], data["lb"], data["ub"])
        answers.append(solve_batch(solver, problem, pool=pool).y)
    return np.concatenate(answers), time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", nargs=2, default=["binary", "4"], metavar=("BOX", "M"))
    parser.add_argument("--ratios", nargs="*", type=float, default=[1.0, 0.5, 0.2, 0.1, 0.0])
    parser.add_argument("--solver", default="highs")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    box, m = args.case[0], int(args.case[1])
    data = load_rc(box, m, args.seed)
    solver = get_solver(args.solver)
    c, y_true = data["c_test"], data["y_test"]
    best = np.einsum("bn,bn->b", c, y_true)
    print(
        f"solution pool on Random Constraints {box} m={m} (seed {args.seed}), "
        f"{c.shape[0]} test costs, batch {args.batch}, {args.solver}; {machine_note()}"
    )
    _, full_time = run_stream(solver, data, None, args.batch)
    rows = [["pool", "solve_ratio", "solved", "exact match", "mean regret", "speedup"]]
    for seeded in (True, False):
        for ratio in args.ratios:
            if ratio == 0.0 and not seeded:
                continue  # an empty pool that never solves answers nothing from the pool
            pool = SolutionPool(ratio, seed=args.seed)
            if seeded:
                pool.add(data["y_train"])
            y, wall = run_stream(solver, data, pool, args.batch)
            regret = (np.einsum("bn,bn->b", c, y) - best) / np.abs(best)
            rows.append(
                [
                    "train-seeded" if seeded else "empty",
                    f"{ratio:g}",
                    f"{pool.solved / c.shape[0]:.1%}",
                    f"{np.all(y == y_true, axis=1).mean():.1%}",
                    f"{regret.mean():.4f}",
                    f"{full_time / wall:.1f}x",
                ]
            )
            print("  " + " | ".join(rows[-1]), flush=True)
    print(table(rows))


if __name__ == "__main__":
    main()
