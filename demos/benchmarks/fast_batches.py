"""Fast batches: overhead, naive vs fast path, parallel speedup, backward scaling.

Prints, in one run, ratios measured side by side:

1. per backend, Random Constraints binary m = 4 and dense m = 8, batch 8 and 128:
   - the layer's forward + backward time over the solver's own solve time, one worker
     (overhead = the share of the layer's time spent outside the solver; target <= 10 %
     at batch 128);
   - the fast path (model reuse, all workers) against the naive one (a fresh model per
     instance, serial loop) at batch 128;
   - the parallel speedup of the layer, 1 worker vs all workers, at batch 128 (target
     >= 1.7x on 2 cores);
   - the solves alone at batch 128 on each executor kind (serial, threads, processes);
2. the backward alone: time per ``B m n`` element over a grid up to n = 2,000 and m = 500
   (flat = linear growth), and the target point batch 64, n = 1,000, m = 200 (< 50 ms).

Timings are medians; on a machine shared with other jobs they are noisy (the load average
is printed), ratios less so than absolute times.

    python -m demos.benchmarks.fast_batches [--solver highs] [--repeats 3] [--skip-layer]
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from combopt_core import (
    combopt_gradients,
    default_workers,
    get_solver,
    gradient,
    make_problem,
    solve_batch,
)

from .common import (
    RC_CASES,
    InstantSolver,
    available_backends,
    load_rc,
    machine_note,
    median_time,
    naive_solver,
    table,
)
from .layer_speed import time_layer

BACKWARD_GRID_N = (250, 500, 1000, 2000)
BACKWARD_GRID_M = (50, 125, 250, 500)


def layer_section(backends: list[str], repeats: int) -> None:
    workers = default_workers()
    print(f"\n== layer: overhead (1 worker), naive vs fast, parallel 1 vs {workers} workers ==")
    rows = [
        [
            "backend",
            "case",
            "batch",
            "layer ms",
            "solve ms",
            "overhead",
            "naive ms",
            "fast ms",
            "fast/naive",
            f"speedup x{workers}",
        ]
    ]
    for name in backends:
        for box, m in RC_CASES:
            data = load_rc(box, m)
            for batch in (8, 128):
                try:
                    one = time_layer(get_solver(name), data, batch, repeats, workers=1)
                except Exception as exc:  # noqa: BLE001 - e.g. a box too large to enumerate
                    print(f"  {name} | {box} m={m} | {batch} | skipped: {exc}", flush=True)
                    continue
                fast = time_layer(get_solver(name), data, batch, repeats, workers=None)
                row = [
                    name,
                    f"{box} m={m}",
                    str(batch),
                    f"{one.layer * 1e3:.1f}",
                    f"{one.solve * 1e3:.1f}",
                    f"{one.overhead:.1%}",
                ]
                if batch == 128:
                    naive = time_layer(naive_solver(name), data, batch, repeats, workers=1)
                    row += [
                        f"{naive.layer * 1e3:.1f}",
                        f"{fast.layer * 1e3:.1f}",
                        f"{naive.layer / fast.layer:.2f}x",
                    ]
                else:
                    row += ["-", f"{fast.layer * 1e3:.1f}", "-"]
                row.append(f"{one.layer / fast.layer:.2f}x")
                rows.append(row)
                print("  " + " | ".join(row), flush=True)
    print(table(rows))


def executor_section(backends: list[str], repeats: int) -> None:
    workers = default_workers()
    print(
        f"\n== solve only, batch 128, binary m=4: serial vs {workers} threads vs {workers} processes =="
    )
    data = load_rc("binary", 4)
    problem = make_problem(data["c_train"][:128], data["A"], data["b"], data["lb"], data["ub"])
    rows = [["backend", "serial ms", "threads ms", "processes ms", "threads x", "processes x"]]
    for name in backends:
        solver = get_solver(name)
        times = []
        for kind in ("serial", "threads", "processes"):
            try:
                times.append(
                    median_time(
                        lambda s=solver, k=kind: solve_batch(
                            s, problem, executor=k, workers=workers
                        ),
                        repeats,
                    )
                )
            except TypeError:  # the backend does not pickle: no process pool for it
                times.append(float("nan"))
        rows.append(
            [
                name,
                *(f"{t * 1e3:.1f}" for t in times),
                f"{times[0] / times[1]:.2f}x",
                f"{times[0] / times[2]:.2f}x",
            ]
        )
        print("  " + " | ".join(rows[-1]), flush=True)
    print(table(rows))
    dispatch = [
        median_time(
            lambda k=kind: solve_batch(
                InstantSolver(), problem, executor=k, workers=workers, verify=False
            ),
            max(repeats, 10),
        )
        for kind in ("serial", "threads", "processes")
    ]
    print(
        "dispatch cost per batch of 128 (an instant solver): "
        + ", ".join(
            f"{k} {t * 1e3:.2f} ms" for k, t in zip(("serial", "threads", "processes"), dispatch)
        )
    )


def backward_inputs(B: int, n: int, m: int, shared: bool, seed: int = 0):
    """Random unit-norm constraints through the binary box, random points and gradients."""
    rng = np.random.default_rng(seed)
    shape = (m, n) if shared else (B, m, n)
    A = rng.uniform(-0.5, 0.5, shape)
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    b = (A * rng.uniform(0.25, 0.75, shape)).sum(-1) - 0.2
    y = rng.integers(0, 2, (B, n)).astype(np.float64)
    dy = rng.normal(size=(B, n))
    return dy, y, A, b, np.zeros(n), np.ones(n)


def backward_section(repeats: int, batch: int) -> None:
    kernel = "the numba kernel" if gradient.kernel_available() else "NumPy (numba missing)"
    print(
        f"\n== backward alone: batch {batch}, shared A; ns per B*m*n element; implementation "
        f"auto: {kernel} from B*m*n >= {gradient.AUTO_MIN_ELEMENTS} (see backward_kernel.py) =="
    )
    rows = [["n \\ m", *map(str, BACKWARD_GRID_M)]]
    for n in BACKWARD_GRID_N:
        row = [str(n)]
        for m in BACKWARD_GRID_M:
            args = backward_inputs(batch, n, m, shared=True)
            t = median_time(lambda x=args: combopt_gradients(*x), repeats)
            row.append(f"{t / (batch * n * m) * 1e9:.1f}")
        rows.append(row)
        print("  " + " ".join(row), flush=True)
    print(table(rows))
    print("\n== backward target: batch 64, n = 1000, m = 200 (target < 50 ms) ==")
    for shared in (True, False):
        args = backward_inputs(64, 1000, 200, shared=shared)
        t = median_time(lambda x=args: combopt_gradients(*x), repeats)
        print(
            f"  {'shared A' if shared else 'per-instance A'}: {t * 1e3:.0f} ms "
            f"({t / 0.05:.1f}x the target)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solver", nargs="*", help="backends (default: every available one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backward-batch", type=int, default=8)
    parser.add_argument("--skip-layer", action="store_true")
    parser.add_argument("--skip-backward", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"fast batches; {machine_note()}")
    if not args.skip_layer:
        backends = available_backends(args.solver)
        layer_section(backends, args.repeats)
        executor_section(backends, args.repeats)
    if not args.skip_backward:
        backward_section(args.repeats, args.backward_batch)
    print(f"\ndone; {machine_note()}")


if __name__ == "__main__":
    main()
