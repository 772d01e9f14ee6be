"""Shared pieces of the benchmarks: data, backends, a solve-time recorder, timing, tables."""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from combopt_core import ILPProblem, Solution, Status, get_solver, list_backends

DATA = Path(__file__).resolve().parents[1] / "data" / "random_constraints"
#: The two Random Constraints settings the benchmarks time: (box, m).
RC_CASES = (("binary", 4), ("dense", 8))


def load_rc(box: str, m: int, seed: int = 0) -> dict[str, np.ndarray]:
    """A Random Constraints dataset (n = 16): ``A (m, n)``, ``b``, ``lb``, ``ub``, costs, ys."""
    with np.load(DATA / f"{box}_m{m}_seed{seed}.npz") as d:
        return {k: d[k] for k in d.files}


def available_backends(requested: list[str] | None = None) -> list[str]:
    """Names of the backends that can run here (``requested`` filters them, in its order)."""
    ok = [s.name for s in list_backends() if s.available]
    if not requested:
        return ok
    missing = [r for r in requested if r not in ok]
    if missing:
        raise SystemExit(f"--solver: not available here: {', '.join(missing)} (have: {ok})")
    return list(requested)


def naive_solver(name: str):
    """The backend without model reuse where it has that switch (``reuse_model=False``)."""
    try:
        return get_solver(name, reuse_model=False)
    except TypeError:
        return get_solver(name)


class RecordingSolver:
    """Wraps a backend and adds up the time spent inside its own solve calls.

    ``solve_time`` of each ``Solution`` is the backend's own measurement around its solver
    call (e.g. HiGHS ``run()``); everything else the layer does is overhead.
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.releases_gil = getattr(inner, "releases_gil", False)
        parallelism = getattr(inner, "parallelism", None)
        if parallelism is not None:
            self.parallelism = parallelism
        if hasattr(inner, "solve_many"):
            self.solve_many = self._solve_many
        self._lock = threading.Lock()
        self.total = 0.0

    def _add(self, solutions):
        with self._lock:
            self.total += sum(s.solve_time for s in solutions)
        return solutions

    def solve(self, instance, time_limit=None):
        return self._add([self.inner.solve(instance, time_limit)])[0]

    def _solve_many(self, problem: ILPProblem, time_limit=None):
        return self._add(self.inner.solve_many(problem, time_limit))

    def take(self) -> float:
        """The seconds recorded since the last ``take``."""
        with self._lock:
            total, self.total = self.total, 0.0
        return total


class InstantSolver:
    """Answers the fallback point at once: what remains of a batch's time is dispatch."""

    name = "instant"
    releases_gil = True

    def solve(self, instance, time_limit=None):
        return Solution(np.clip(0.0, instance.lb, instance.ub), Status.OPTIMAL, 0.0)


def median_time(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_note() -> str:
    """Cores and load: the benchmarks' numbers are only as quiet as the machine."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cores} cores, load average {load:.1f} (numbers are noisy when load > cores)"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
