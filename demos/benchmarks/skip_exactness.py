"""Exactness of warm starts and exact skips: every answer against the cold solve's objective.

For every backend, generated batches (binary and integer boxes up to [-5, 5], shared and
per-instance constraints, continuous and integer costs) are solved four ways:

* ``cold``: the backend alone (``skip=False, enumeration="never"``), the reference;
* ``memory``: a ``SolutionMemory`` filled on the same samples with constraints one step
  earlier (moved by ``--drift``), so each instance gets its last point as a warm start;
* ``labels``: the cold answers of the moved step as ``start`` (a start that is optimal);
* ``skips``: the box-minimum certificate and, for shared sets, enumeration (``"always"``
  where the box has at most 2^16 points).

Printed per backend: instances, warm starts handed to the backend, skips by proof, and the
number of answers whose status or objective (relative ``1e-9``) differs from the cold
solve's; the command exits 1 if any does.

    python -m demos.benchmarks.skip_exactness [--instances 10000] [--solver highs ...]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

from combopt_core import Proof, SolutionMemory, get_solver, make_problem, solve_batch

from .common import available_backends, table

OBJ_TOL = 1e-9
BOXES = ((0, 1), (-1, 1), (-2, 2), (-5, 5))
BATCH = 50


def generated_batch(rng: np.random.Generator, box: tuple[int, int], shared: bool):
    """A batch of ``BATCH`` instances: unit rows through the central half of the box."""
    lo, hi = box
    n = int(rng.integers(3, 6)) if hi - lo > 2 else int(rng.integers(4, 13))
    m = int(rng.integers(1, 6))
    shape = (m, n) if shared else (BATCH, m, n)
    A = rng.uniform(-0.5, 0.5, shape)
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    origins = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo), shape)
    b = (A * origins).sum(-1) + rng.uniform(-0.1, 0.4)
    if rng.random() < 0.3:  # integer costs: ties between optima
        c = rng.integers(-3, 4, (BATCH, n)).astype(float)
    else:
        c = rng.uniform(-1, 1, (BATCH, n))
    return c, A, b, lo, hi


def mismatches(result, reference) -> int:
    same_status = result.status == reference.status
    ok = reference.optimal
    gap = np.abs(result.objective - reference.objective) > OBJ_TOL * np.maximum(
        1.0, np.abs(reference.objective)
    )
    return int((~same_status).sum() + (same_status & ok & gap).sum())


def check_backend(name: str, instances: int, drift: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    solver = get_solver(name)
    counts: Counter = Counter()
    for k in range(max(1, instances // BATCH)):
        box = BOXES[k % len(BOXES)]
        c, A, b, lo, hi = generated_batch(rng, box, shared=bool(k % 2))
        before = make_problem(c, A - drift * rng.standard_normal(A.shape), b, lo, hi)
        now = make_problem(c, A, b, lo, hi)
        options = {"workers": 1, "on_error": "flag"}
        cold = solve_batch(solver, now, **options)
        memory = SolutionMemory()
        solve_batch(solver, before, memory=memory, ids=range(BATCH), **options)
        warm = solve_batch(solver, now, memory=memory, ids=range(BATCH), **options)
        labels = solve_batch(
            solver, now, start=np.where(cold.has_solution[:, None], cold.y, np.nan), **options
        )
        small = now.shared and np.prod(now.ub - now.lb + 1) <= 2**16
        skips = solve_batch(
            solver, now, skip=True, enumeration="always" if small else "never", **options
        )
        counts["instances"] += BATCH
        counts["started"] += int(warm.started.sum() + labels.started.sum())
        for proof in (Proof.BOX_MINIMUM, Proof.ENUMERATION):
            counts[proof.name.lower()] += int((skips.proof == proof).sum())
        counts["wrong"] += sum(mismatches(r, cold) for r in (warm, labels, skips))
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solver", nargs="*", help="backends (default: every available one)")
    parser.add_argument("--instances", type=int, default=2000, help="instances per backend")
    parser.add_argument("--drift", type=float, default=0.01, help="constraint change per step")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.instances < BATCH:
        parser.error(f"--instances: at least {BATCH}, got {args.instances}")
    rows = [["backend", "instances", "warm starts", "box minimum", "enumeration", "wrong"]]
    wrong = 0
    for name in available_backends(args.solver):
        counts = check_backend(name, args.instances, args.drift, args.seed)
        wrong += counts["wrong"]
        rows.append(
            [
                name,
                *(
                    str(counts[k])
                    for k in ("instances", "started", "box_minimum", "enumeration", "wrong")
                ),
            ]
        )
        print(table(rows[:1] + rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    print(
        "wrong: warm, label-started and skipped answers whose status or objective differs "
        "from the cold solve's (3 answers per instance)"
    )
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
