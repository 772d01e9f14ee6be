"""Exactness across scales: every backend on the same ILPs with costs and rows rescaled.

Generates small ILPs (``n = 4``, ``m = 3``, integer boxes ``[0, 1]``, ``[-2, 2]`` and
``[-5, 5]``, integer and float rows through the box), multiplies each instance's costs by
``10^p`` and each row ``(a_j, b_j)`` by ``10^q``, with ``p`` and ``q`` drawn from every
power of ten from 1e-9 to 1e12 (the optimum does not change), and solves the batch with
every available backend through ``combopt_core.solve`` (verification on,
``on_error="flag"``). Prints, per backend, how many instances came back with each status
and how many answers labelled ``OPTIMAL``

* violate the feasibility tolerance ``1e-9 * max(1, |b_j|)`` on the data as given, or the
  same rule on rows normalised to ``max_k |a_jk| = 1`` (which does not grow loose on rows
  of tiny coefficients);
* cost more than the best objective any backend proved for that instance, by more than
  ``1e-9`` of ``max_i |c_i|`` (objectives compared in each instance's own scale);
* disagree in status with another backend (``OPTIMAL`` where another proves
  ``INFEASIBLE`` or the reverse).

    python -m demos.benchmarks.scale_sweep [--instances 10000 --seed 0 --backends highs,scip]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from combopt_core import Status, list_backends, solve

TOL = 1e-9
POWERS = np.arange(-9, 13)  # 1e-9 .. 1e12
BOXES = ((0, 1), (-2, 2), (-5, 5))


def instances(rng: np.random.Generator, count: int, box: tuple[int, int], n: int = 4, m: int = 3):
    """``count`` ILPs ``(c, A, b)`` in ``box``, rescaled by random powers of ten."""
    lo, hi = box
    c = rng.normal(size=(count, n))
    integer = rng.random(count) < 0.5
    A = np.where(
        integer[:, None, None],
        rng.integers(-3, 4, size=(count, m, n)).astype(float),
        rng.normal(size=(count, m, n)),
    )
    anchor = rng.integers(lo, hi + 1, size=(count, n)).astype(float)
    offset = np.where(
        integer[:, None], rng.integers(0, 3, size=(count, m)), rng.uniform(0, 2, (count, m))
    )
    b = np.einsum("bmn,bn->bm", A, anchor) + offset
    c *= 10.0 ** rng.choice(POWERS, size=(count, 1))
    row = 10.0 ** rng.choice(POWERS, size=(count, m))
    return c, A * row[..., None], b * row


def violations(A: np.ndarray, b: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per instance: violates ``A y <= b`` beyond the tolerance as given / on normalised rows."""
    lhs = np.einsum("bmn,bn->bm", A, y)
    raw = ((lhs - b) > TOL * np.maximum(1.0, np.abs(b))).any(axis=1)
    s = np.abs(A).max(axis=-1)
    s = np.where(s > 0, s, 1.0)
    norm = (((lhs - b) / s) > TOL * np.maximum(1.0, np.abs(b) / s)).any(axis=1)
    return raw, norm


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=10_000, help="per backend (all boxes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--backends", default="", help="comma-separated; default: all available")
    args = parser.parse_args(argv)
    names = [s.name for s in list_backends() if s.available]
    if args.backends:
        names = [x for x in args.backends.split(",") if x]
    rng = np.random.default_rng(args.seed)
    per_box = -(-args.instances // len(BOXES))
    totals = {name: dict.fromkeys(["optimal", "infeasible", "time_limit", "error", "viol_raw",
                                   "viol_norm", "worse", "status_disagree"], 0) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for box in BOXES:
        c, A, b = instances(rng, per_box, box)
        results = {}
        for name in names:
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                results[name] = solve(c, A, b, *box, solver=name, on_error="flag")
            seconds[name] += time.perf_counter() - start
        optimal = {k: r.status == Status.OPTIMAL for k, r in results.items()}
        infeasible = {k: r.status == Status.INFEASIBLE for k, r in results.items()}
        proved = [np.where(optimal[k], r.objective, np.inf) for k, r in results.items()]
        best = np.min(proved, axis=0)
        scale = np.abs(c).max(axis=1)
        any_inf = np.any(list(infeasible.values()), axis=0)
        any_opt = np.any(list(optimal.values()), axis=0)
        for name, r in results.items():
            t = totals[name]
            ok = optimal[name]
            t["optimal"] += int(ok.sum())
            t["infeasible"] += int(infeasible[name].sum())
            t["time_limit"] += int((r.status == Status.TIME_LIMIT).sum())
            t["error"] += int((r.status == Status.ERROR).sum())
            raw, norm = violations(A, b, r.y)
            t["viol_raw"] += int((ok & raw).sum())
            t["viol_norm"] += int((ok & norm).sum())
            t["worse"] += int((ok & (r.objective - best > TOL * scale)).sum())
            t["status_disagree"] += int(((ok & any_inf) | (infeasible[name] & any_opt)).sum())
    print(f"scale sweep: {per_box * len(BOXES)} instances per backend, boxes {BOXES}, "
          f"costs and rows x 10^p, p in [{POWERS[0]}, {POWERS[-1]}], seed {args.seed}")
    header = ["backend", "optimal", "infeasible", "time_limit", "error", "opt_violating",
              "opt_violating_normalised", "opt_worse_than_best", "status_disagreements", "seconds"]
    print("  ".join(header))
    for name in names:
        t = totals[name]
        print("  ".join([name, *(str(t[k]) for k in ("optimal", "infeasible", "time_limit", "error",
                                                     "viol_raw", "viol_norm", "worse",
                                                     "status_disagree")), f"{seconds[name]:.1f}"]))


if __name__ == "__main__":
    main()
