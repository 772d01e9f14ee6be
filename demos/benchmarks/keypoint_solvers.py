"""Per-solve time of the keypoint-matching ILPs on every available exact backend.

The ILPs are those of ``python -m demos keypoints synthetic``: ``n = p^2`` binary variables,
``m = 2p`` learned constraints, costs from the matching network on synthetic test pairs.
For each ``p`` two constraint sets are timed: the initial (random) ones of seed 0, and the
ones after a short training (``--train-iterations`` iterations of the demo's own loop on
``--train-solver``); ``--run`` adds, for its ``p``, the learned constraints of the best epoch
that a finished run saved in its JSON (with the briefly trained network's costs), i.e. the
constraints of a full training. Each backend solves the same instances one at a time in
this thread (one solver thread); a cell stops after ``--count`` solves or ``--budget`` seconds,
whichever comes first, and reports the median and mean wall time per solve (model building
included), how many solves hit ``--time-limit``, and the ratio of its mean to the fastest
backend's mean in the same cell row. A backend with options in the demo's
``TUNED_OPTIONS`` gets a second row, ``<name> tuned``, solved with those options (the short
training uses them too). ``--variant LABEL BACKEND JSON`` (repeatable) adds a row ``LABEL``:
``BACKEND`` with the keyword options ``JSON``, to compare option sets on the same ILPs.

Run from the repository root:
    python -m demos.benchmarks.keypoint_solvers [--p 4 5 6 7] [--count 300]
    python -m demos.benchmarks.keypoint_solvers --p 7 --backends cpsat \
        --variant "cpsat pb" cpsat '{"options": {"linearization_level": 0, "use_pb_resolution": true}}'
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from combopt_core import ILPProblem, Status, get_solver, make_problem
from demos.benchmarks.common import available_backends, machine_note, table
from demos.keypoints.backend import TUNED_OPTIONS, parse_options
from demos.keypoints.synthetic import SyntheticConfig, SyntheticKeypoints, make_splits
from demos.keypoints.train import KeypointCombOptNet, Protocol, collate, train

EXACT = ("gurobi", "cpsat", "highs", "scip")


def keypoint_problem(model: KeypointCombOptNet, pairs) -> ILPProblem:
    """The model's ILPs on ``pairs``: its costs and its current learned constraints."""
    model.eval()
    with torch.no_grad():
        costs = model.costs(collate(pairs)).flatten(1)
        A, b = model.constraints()
    model.train()
    return make_problem(costs.double().numpy(), A.double().numpy(), b.double().numpy(), 0.0, 1.0)


def saved_constraints(problem: ILPProblem, run: Path) -> ILPProblem:
    """``problem``'s costs with the learned constraints saved in the run JSON ``run``."""
    saved = json.loads(run.read_text())["constraints"]
    return make_problem(problem.c, np.array(saved["A"]), np.array(saved["b"]), 0.0, 1.0)


def time_backend(
    name: str, problem: ILPProblem, count: int, budget: float, limit: float, options: dict
) -> dict:
    """Solve instances of ``problem`` one by one until ``count`` or ``budget`` seconds."""
    solver = get_solver(name, **options)
    solver.solve(problem.instance(0), limit)  # environments, imports, first-call costs
    times, limited, infeasible = [], 0, 0
    spent = 0.0
    for i in range(min(count, problem.batch_size)):
        start = time.perf_counter()
        sol = solver.solve(problem.instance(i), limit)
        times.append(time.perf_counter() - start)
        spent += times[-1]
        limited += sol.status == Status.TIME_LIMIT
        infeasible += sol.status == Status.INFEASIBLE
        if spent > budget:
            break
    return {
        "solves": len(times),
        "median": float(np.median(times)),
        "mean": float(np.mean(times)),
        "limited": limited,
        "infeasible": infeasible,
    }


def initial_model(p: int, world: SyntheticKeypoints) -> KeypointCombOptNet:
    """Seed 0's untrained model: its learned constraints are the random initial ones."""
    return KeypointCombOptNet(p, world.config.descriptor_dim, Protocol(workers=1), seed=0)


def trained_model(
    p: int, args: argparse.Namespace, world: SyntheticKeypoints
) -> KeypointCombOptNet:
    """Seed 0's model after ``args.train_iterations`` iterations of the demo's training."""
    if args.train_iterations == 0:  # a protocol needs >= 1 iteration
        return initial_model(p, world)
    protocol = Protocol(
        epochs=1,
        iterations=args.train_iterations,
        lr=args.train_lr,
        constraint_lr=args.train_constraint_lr,
        time_limit=args.train_time_limit,
        eval_time_limit=args.train_time_limit,
        workers=1,
        solver=args.train_solver,
        solver_options=TUNED_OPTIONS.get(args.train_solver),
    )
    train_pairs, val_pairs, _ = make_splits(world, p, (1000, 8, 0), seed=1000 * p)
    model = KeypointCombOptNet(p, world.config.descriptor_dim, protocol, seed=0)
    train(model, train_pairs, val_pairs, protocol, seed=0)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--p", type=int, nargs="+", default=[4, 5, 6, 7])
    parser.add_argument("--backends", nargs="*", help="default: the available exact backends")
    parser.add_argument("--count", type=int, default=300, help="solves per cell at most")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per cell at most")
    parser.add_argument("--time-limit", type=float, default=5.0, help="seconds per solve")
    parser.add_argument(
        "--run",
        type=Path,
        nargs="*",
        default=[],
        help="finished runs' JSON files whose learned constraints to time too",
    )
    parser.add_argument("--train-iterations", type=int, default=50)
    parser.add_argument("--train-solver", default="gurobi")
    parser.add_argument("--train-time-limit", type=float, default=1.0, help="seconds per solve")
    parser.add_argument("--train-lr", type=float, default=1e-3)
    parser.add_argument("--train-constraint-lr", type=float, default=1e-2)
    parser.add_argument(
        "--variant",
        nargs=3,
        action="append",
        default=[],
        metavar=("LABEL", "BACKEND", "JSON"),
        help="an extra row: BACKEND with the keyword options JSON (repeatable)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    names = args.backends or [n for n in EXACT if n in available_backends()]
    variants = [(n, n, {}) for n in names]
    variants += [(f"{n} tuned", n, TUNED_OPTIONS[n]) for n in names if n in TUNED_OPTIONS]
    variants += [
        (label, n, parse_options(text, f"--variant {label!r}")) for label, n, text in args.variant
    ]
    world = SyntheticKeypoints(SyntheticConfig(), world_seed=0)
    print(f"{machine_note()}; one solve at a time, one thread; limit {args.time_limit:g} s")
    rows = [
        [
            "p",
            "constraints",
            "backend",
            "solves",
            "median ms",
            "mean ms",
            "limited",
            "infeasible",
            "mean / fastest",
        ]
    ]
    for p in args.p:
        pairs = make_splits(world, p, (0, 0, args.count), seed=1000 * p + 999)[2]
        sets = {"initial": keypoint_problem(initial_model(p, world), pairs)}
        start = time.perf_counter()
        model = trained_model(p, args, world)
        sets[f"trained {args.train_iterations} it"] = keypoint_problem(model, pairs)
        print(f"p={p}: short training took {time.perf_counter() - start:.0f} s", flush=True)
        trained = sets[f"trained {args.train_iterations} it"]
        for run in args.run:
            if json.loads(run.read_text())["p"] == p:
                sets[f"{run.stem} best"] = saved_constraints(trained, run)
        for label, problem in sets.items():
            cells = {
                variant: time_backend(n, problem, args.count, args.budget, args.time_limit, options)
                for variant, n, options in variants
            }
            fastest = min(c["mean"] for c in cells.values())
            for n, c in cells.items():
                rows.append(
                    [
                        str(p),
                        label,
                        n,
                        str(c["solves"]),
                        f"{1e3 * c['median']:.1f}",
                        f"{1e3 * c['mean']:.1f}",
                        str(c["limited"]),
                        str(c["infeasible"]),
                        f"{c['mean'] / fastest:.2f}x",
                    ]
                )
                print("  " + "  ".join(rows[-1]), flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
