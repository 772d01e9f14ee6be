"""Soak benchmark: many solves per backend, checking that nothing accumulates.

For each backend it solves ``--solves`` instances in batches (verification on), building a
fresh solver every ``--new-solver-every`` batches the way a training script re-creates its
layer, with a tenth of the instances infeasible so the failure paths run too. It prints
resident memory (RSS), threads and open file descriptors before (after a warm-up) and
after, and how many solver objects are still alive after ``gc.collect()`` (only the current
one should be).

    python -m demos.benchmarks.soak                      # every available backend, 20,000 each
    python -m demos.benchmarks.soak --backend highs --solves 2000

Exit status 1 when RSS grew by more than ``--max-growth-mib``, or a solver object, thread
or file descriptor leaked.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import threading
import time
import weakref
from dataclasses import dataclass

import numpy as np

from combopt_core import get_solver, list_backends, make_problem, solve_batch


def rss_mib() -> float:
    """Current resident set size in MiB (Linux ``/proc``; else the peak from getrusage)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


@dataclass
class SoakResult:
    backend: str
    solves: int
    seconds: float
    rss_before: float
    rss_after: float
    threads_before: int
    threads_after: int
    fds_before: int
    fds_after: int
    solvers_created: int
    solvers_alive: int
    infeasible: int

    @property
    def growth(self) -> float:
        return self.rss_after - self.rss_before

    def line(self) -> str:
        return (
            f"{self.backend}: {self.solves} solves in {self.seconds:.1f} s "
            f"({self.solves / self.seconds:.0f}/s), {self.infeasible} infeasible | "
            f"RSS {self.rss_before:.1f} -> {self.rss_after:.1f} MiB "
            f"(growth {self.growth:+.1f} MiB) | threads {self.threads_before} -> "
            f"{self.threads_after} | fds {self.fds_before} -> {self.fds_after} | "
            f"solvers alive {self.solvers_alive}/{self.solvers_created}"
        )


def instance_pool(seed: int, count: int, n: int, m: int):
    """``count`` binary instances (unit-norm rows); every tenth has an empty region."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(count, n))
    A = rng.normal(size=(count, m, n))
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    b = rng.uniform(0.0, 1.0, size=(count, m))
    A[::10, 0, :] = 1.0 / np.sqrt(n)  # sum(y) <= -1: nothing in the box satisfies it
    b[::10, 0] = -1.0 / np.sqrt(n)
    return c, A, b


def soak(
    backend: str,
    solves: int,
    batch: int = 100,
    workers: int | None = None,
    n: int = 16,
    m: int = 4,
    new_solver_every: int = 10,
    seed: int = 0,
) -> SoakResult:
    """Run the soak for one backend and return what was measured."""
    c, A, b = instance_pool(seed, 1000, n, m)
    batches = [
        make_problem(c[i : i + batch], A[i : i + batch], b[i : i + batch], 0, 1)
        for i in range(0, len(c), batch)
    ]
    alive: list[weakref.ref] = []

    def fresh_solver():
        solver = get_solver(backend)
        alive.append(weakref.ref(solver))
        return solver

    solver = fresh_solver()
    for problem in batches[:2]:  # warm-up: pools, solver environments, allocator
        solve_batch(solver, problem, workers=workers)
    gc.collect()
    rss0, threads0, fds0 = rss_mib(), threading.active_count(), open_fds()
    done = infeasible = 0
    start = time.perf_counter()
    k = 0
    while done < solves:
        if k and k % new_solver_every == 0:
            solver = fresh_solver()
        problem = batches[k % len(batches)]
        result = solve_batch(solver, problem, workers=workers)
        infeasible += int(result.infeasible.sum())
        done += problem.batch_size
        k += 1
    seconds = time.perf_counter() - start
    del solver, result
    gc.collect()
    return SoakResult(
        backend=backend,
        solves=done,
        seconds=seconds,
        rss_before=rss0,
        rss_after=rss_mib(),
        threads_before=threads0,
        threads_after=threading.active_count(),
        fds_before=fds0,
        fds_after=open_fds(),
        solvers_created=len(alive),
        solvers_alive=sum(ref() is not None for ref in alive),
        infeasible=infeasible,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", action="append", help="repeatable; default: every available")
    parser.add_argument("--solves", type=int, default=20_000, help="solves per backend")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--workers", type=int, default=None, help="default: the core count")
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--m", type=int, default=4)
    parser.add_argument("--new-solver-every", type=int, default=10, help="batches per solver")
    parser.add_argument("--max-growth-mib", type=float, default=20.0)
    args = parser.parse_args(argv)
    backends = args.backend or [s.name for s in list_backends() if s.available]
    ok = True
    for name in backends:
        result = soak(name, args.solves, args.batch, args.workers, args.n, args.m,
                      args.new_solver_every)
        print(result.line(), flush=True)
        leaks = []
        if result.growth > args.max_growth_mib:
            leaks.append(f"RSS grew {result.growth:.1f} MiB > {args.max_growth_mib} MiB")
        if result.solvers_alive > 0:
            leaks.append(f"{result.solvers_alive} solver object(s) still alive")
        if result.threads_after > result.threads_before:
            leaks.append("threads leaked")
        if result.fds_after > result.fds_before:
            leaks.append("file descriptors leaked")
        for leak in leaks:
            print(f"  LEAK ({name}): {leak}", flush=True)
        ok = ok and not leaks
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
