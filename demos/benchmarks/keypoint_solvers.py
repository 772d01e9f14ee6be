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
        --variant "cpsat pb" cpsat \
        '{"options": {"linearization_level": 0, "use_pb_resolution": true}}'

``--capture-after N`` times a run's own training ILPs instead: run ``(p, --seed)`` of the
demo (its data, 4,000 training pairs, lr 1e-3 / 1e-2, 1 s per solve) trains ``N``
iterations on ``--train-solver``, then the ILPs of the next ``--capture-iterations``
batches are recorded (``--save`` keeps them, ``--load`` times saved ones) and every variant
solves all of them in training order; the table checks that each variant proves the same
optima as the first. A backend ``split:NAME`` is ``NAME`` inside the demo's
``CardinalitySplit``; ``--start-variant LABEL BACKEND JSON STARTS`` adds warm starts
(``hungarian``, ``truth``: the label, ``pool``: those and the optima found so far in this
batch and the last):
    python -m demos.benchmarks.keypoint_solvers --p 7 --capture-after 500 \
        --capture-iterations 60 --save p7.npz --backends gurobi --variant split split:gurobi {}
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from combopt_core import ILPInstance, ILPProblem, Status, get_solver, make_problem
from combopt_core.enumeration import FEAS_TOL
from demos.benchmarks.common import available_backends, machine_note, table
from demos.keypoints.backend import TUNED_OPTIONS, CardinalitySplit, parse_options
from demos.keypoints.matching import hungarian_matching
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


def make_solver(name: str, options: dict):
    """The backend ``name`` with ``options``; ``split:NAME`` wraps it in ``CardinalitySplit``."""
    if name.startswith("split:"):
        return CardinalitySplit(get_solver(name.removeprefix("split:"), **options))
    return get_solver(name, **options)


def time_backend(
    name: str, problem: ILPProblem, count: int, budget: float, limit: float, options: dict
) -> dict:
    """Solve instances of ``problem`` one by one until ``count`` or ``budget`` seconds."""
    solver = make_solver(name, options)
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


def capture(
    p: int, seed: int, after: int, iterations: int, solver: str, options: dict | None
) -> dict[str, np.ndarray]:
    """The training ILPs of run ``(p, seed)`` (the demo's data and model, 4,000 training
    pairs, lr 1e-3 / 1e-2, 1 s per solve) at iterations ``after + 1 .. after + iterations``,
    trained on ``solver`` (``split:NAME``: ``NAME`` with the cardinality split): per
    iteration the batch's costs ``c (8, n)``, the learned ``A, b`` it was solved with and
    the labels ``y_true (8, n)``."""
    split = solver.startswith("split:")
    solver = solver.removeprefix("split:")
    protocol = Protocol(
        epochs=1,
        iterations=after + iterations,
        lr=1e-3,
        constraint_lr=1e-2,
        time_limit=1.0,
        eval_time_limit=1.0,
        workers=1,
        solver=solver,
        solver_options=options,
        cardinality_split=split,
    )
    world = SyntheticKeypoints(SyntheticConfig(), world_seed=0)
    # The training stream of run_one's make_splits (the other splits are separate streams).
    train_pairs = make_splits(world, p, (4000, 0, 0), seed=1000 * p + seed)[0]
    model = KeypointCombOptNet(p, world.config.descriptor_dim, protocol, seed=seed)
    seen: dict[str, list[np.ndarray]] = {"c": [], "A": [], "b": [], "y_true": []}
    forward = model.forward
    calls = [0]

    def recording_forward(batch):
        out = forward(batch)
        calls[0] += 1
        if model.training and calls[0] > after:
            with torch.no_grad():
                A, b = model.constraints()
            seen["c"].append(out[0].detach().flatten(1).double().numpy())
            seen["A"].append(A.double().numpy())
            seen["b"].append(b.double().numpy())
            seen["y_true"].append(batch.y_true.flatten(1).double().numpy())
            if calls[0] % 10 == 0:
                print(f"  captured iteration {calls[0]}", flush=True)
        return out

    model.forward = recording_forward
    train(model, train_pairs, train_pairs[:8], protocol, seed=seed)
    return {k: np.stack(v) for k, v in seen.items()}


def start_points(kind: str, ilps: dict[str, np.ndarray], t: int, i: int, optima) -> list:
    """Candidate warm starts for instance ``i`` of captured iteration ``t`` (``kind``):
    ``hungarian`` (the assignment of its costs), ``truth`` (its label), ``pool`` (both, and
    the optima already found in this iteration and the previous one)."""
    p = int(round(np.sqrt(ilps["c"].shape[-1])))
    c = ilps["c"][t, i]
    points = []
    if kind in ("hungarian", "pool"):
        points.append(hungarian_matching(c.reshape(1, p, p))[0].reshape(-1).astype(np.float64))
    if kind in ("truth", "pool"):
        points.append(ilps["y_true"][t, i])
    if kind == "pool":
        points += [y for (tt, _), y in optima.items() if tt in (t, t - 1)]
    return points


def best_start(points: list, c: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """The cheapest of ``points`` that satisfies ``A y <= b`` (the core's rule), else None."""
    if not points:
        return None
    P = np.stack(points)
    ok = np.all(P @ A.T <= b + FEAS_TOL * np.maximum(1.0, np.abs(b)), axis=1)
    if not ok.any():
        return None
    costs = np.where(ok, P @ c, np.inf)
    return P[int(np.argmin(costs))].copy()


def time_captured(
    ilps: dict[str, np.ndarray], variants, limit: float, budget: float, count: int
) -> tuple[list[list[str]], dict]:
    """Solve the captured ILPs with every variant, in training order, one at a time, until
    the iteration in which a variant passed ``count`` solves or ``budget`` seconds.

    A variant is ``(label, backend, options, starts)``; ``starts`` is ``none`` or a kind of
    ``start_points``. Wall and CPU time (this process's, the solver's thread included) are
    both kept: CPU time is the fairer measure on a shared machine. Returns table
    rows and, per variant, the objectives (inf where proven infeasible, NaN where not
    proven), compared with the first variant's."""
    T, B, n = ilps["c"].shape
    lb, ub = np.zeros(n), np.ones(n)
    results = {}
    for label, name, options, starts in variants:
        solver = make_solver(name, options)
        solver.solve(ILPInstance(ilps["c"][0, 0], ilps["A"][0], ilps["b"][0], lb, ub), limit)
        times, cpu, objective, started, limited = [], [], np.full((T, B), np.nan), 0, 0
        optima: dict = {}
        spent = 0.0
        for t in range(T):
            A, b = ilps["A"][t], ilps["b"][t]
            for i in range(B):
                begin, begin_cpu = time.perf_counter(), time.process_time()
                start = None
                if starts != "none":
                    c = ilps["c"][t, i]
                    start = best_start(start_points(starts, ilps, t, i, optima), c, A, b)
                sol = solver.solve(ILPInstance(ilps["c"][t, i], A, b, lb, ub, start), limit)
                times.append(time.perf_counter() - begin)
                cpu.append(time.process_time() - begin_cpu)
                spent += times[-1]
                started += start is not None
                limited += sol.status == Status.TIME_LIMIT
                if sol.status == Status.OPTIMAL:
                    objective[t, i] = sol.objective
                    optima[(t, i)] = np.round(sol.y)
                elif sol.status == Status.INFEASIBLE:
                    objective[t, i] = np.inf
            if spent > budget or len(times) >= count:
                break
        results[label] = {
            "times": np.array(times),
            "cpu": np.array(cpu),
            "objective": objective,
            "started": started,
            "limited": limited,
        }
        r = results[label]
        print(
            f"  {label}: {len(times)} solves, median {1e3 * np.median(times):.1f} ms, "
            f"mean {1e3 * np.mean(times):.1f} ms, CPU mean {1e3 * np.mean(cpu):.1f} ms, "
            f"{limited} hit the limit",
            flush=True,
        )
    reference = results[variants[0][0]]["objective"]
    fastest = min(r["cpu"].mean() for r in results.values())
    rows = []
    for label, r in results.items():
        both = ~np.isnan(r["objective"]) & ~np.isnan(reference)
        same = r["objective"][both] == reference[both]  # both infeasible: inf == inf
        differ = int((~same & ~(np.abs(r["objective"] - reference)[both] <= 1e-6)).sum())
        rows.append(
            [
                label,
                str(len(r["times"])),
                f"{1e3 * np.median(r['times']):.1f}",
                f"{1e3 * r['times'].mean():.1f}",
                f"{1e3 * r['times'].max():.0f}",
                f"{1e3 * np.median(r['cpu']):.1f}",
                f"{1e3 * r['cpu'].mean():.1f}",
                str(r["limited"]),
                str(r["started"]),
                f"{int(both.sum())}, {differ}",
                f"{r['cpu'].mean() / fastest:.2f}x",
            ]
        )
    return rows, results


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
    g = parser.add_argument_group(
        "captured training ILPs (instead of test pairs): a run's own batches, timed in order"
    )
    g.add_argument(
        "--capture-after",
        type=int,
        help="train run (p, --seed) this many iterations on --train-solver, then capture",
    )
    g.add_argument("--capture-iterations", type=int, default=60, help="iterations captured")
    g.add_argument("--seed", type=int, default=0, help="the run's seed")
    g.add_argument("--save", type=Path, help="write the captured ILPs here (.npz)")
    g.add_argument("--load", type=Path, help="time the ILPs captured in this .npz")
    g.add_argument(
        "--start-variant",
        nargs=4,
        action="append",
        default=[],
        metavar=("LABEL", "BACKEND", "JSON", "STARTS"),
        help="a row with warm starts: none, hungarian, truth or pool (repeatable)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.load or args.capture_after is not None:
        return captured_main(args)
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


def captured_main(args: argparse.Namespace) -> int:
    """``--capture-after`` / ``--load``: time every variant on one run's training ILPs."""
    if args.load:
        with np.load(args.load) as data:
            ilps = {k: data[k] for k in data.files}
    else:
        p = args.p[0]
        start = time.perf_counter()
        options = TUNED_OPTIONS.get(args.train_solver.removeprefix("split:"))
        ilps = capture(
            p, args.seed, args.capture_after, args.capture_iterations, args.train_solver, options
        )
        print(f"p={p}: training and capture took {time.perf_counter() - start:.0f} s")
        if args.save:
            np.savez_compressed(args.save, **ilps)
    T, B, n = ilps["c"].shape
    names = args.backends or [n for n in EXACT if n in available_backends()]
    variants = [(name, name, {}, "none") for name in names]
    variants += [
        (label, name, parse_options(text, f"--variant {label!r}"), "none")
        for label, name, text in args.variant
    ]
    variants += [
        (label, name, parse_options(text, f"--start-variant {label!r}"), starts)
        for label, name, text, starts in args.start_variant
    ]
    print(
        f"{machine_note()}; {T} iterations x {B} ILPs (n = {n}), in training order, one solve "
        f"at a time, one thread; limit {args.time_limit:g} s; a variant stops after the "
        f"iteration in which it passed {args.count} solves or {args.budget:g} s"
    )
    rows, _ = time_captured(ilps, variants, args.time_limit, args.budget, args.count)
    header = ["variant", "solves", "median ms", "mean ms", "max ms", "CPU median ms"]
    header += ["CPU mean ms", "limited", "started"]
    header += [f"proven in both, differing from {variants[0][0]}", "CPU mean / fastest"]
    print(table([header] + rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
