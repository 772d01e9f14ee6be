"""Helpers for the performance-feature tests: small random ILPs and reference solvers."""

from __future__ import annotations

import itertools
import os
import threading
from collections import Counter

import numpy as np

from combopt_core import ILPInstance, ILPProblem, Solution, Status, make_problem


def random_problem(
    batch: int, n: int, m: int, *, shared: bool, seed: int, box: tuple[int, int] = (0, 1)
) -> ILPProblem:
    """Random-Constraints-like batch: unit-norm rows through the box centre region.

    Costs are continuous, so every feasible instance has one optimum (almost surely).
    """
    rng = np.random.default_rng(seed)
    shape = (m, n) if shared else (batch, m, n)
    A = rng.uniform(-0.5, 0.5, shape)
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    lo, hi = box
    origins = rng.uniform(lo + 0.25 * (hi - lo), hi - 0.25 * (hi - lo), shape)
    b = (A * origins).sum(-1) + 0.2
    c = rng.uniform(-1, 1, (batch, n))
    return make_problem(c, A, b, lo, hi)


class BruteForceSolver:
    """Enumerates every point of a small box: the reference optimum. Picklable.

    ``parallelism`` is set per object so the tests can ask for any executor kind.
    """

    name = "brute"
    releases_gil = False

    def __init__(self, parallelism: str = "serial", fail_on: float | None = None) -> None:
        self.parallelism = parallelism
        self.fail_on = fail_on  # raise when c[0] equals this value (to test error paths)

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        if self.fail_on is not None and instance.c[0] == self.fail_on:
            raise RuntimeError("deliberate failure")
        axes = [range(int(lo), int(hi) + 1) for lo, hi in zip(instance.lb, instance.ub)]
        points = np.array(list(itertools.product(*axes)), dtype=np.float64)
        ok = np.all(points @ instance.A.T <= instance.b + 1e-9, axis=1)
        if not ok.any():
            return Solution(None, Status.INFEASIBLE, message=f"pid {os.getpid()}")
        values = np.where(ok, points @ instance.c, np.inf)
        best = int(np.argmin(values))
        return Solution(
            points[best], Status.OPTIMAL, float(values[best]), message=f"pid {os.getpid()}"
        )


class CountingSolver(BruteForceSolver):
    """Brute force that counts ``solve`` calls and records ``solve_many`` chunk sizes."""

    def __init__(self, parallelism: str = "threads", with_solve_many: bool = False) -> None:
        super().__init__(parallelism)
        self.calls = 0
        self.chunks: list[int] = []
        self._lock = threading.Lock()
        if with_solve_many:
            self.solve_many = self._solve_many

    def solve(self, instance, time_limit=None):
        with self._lock:
            self.calls += 1
        return super().solve(instance, time_limit)

    def _solve_many(self, problem: ILPProblem, time_limit=None):
        with self._lock:
            self.chunks.append(problem.batch_size)
        return [
            BruteForceSolver.solve(self, problem.instance(i)) for i in range(problem.batch_size)
        ]


def count_calls(monkeypatch, owner: object, name: str) -> Counter:
    """Replace ``owner.name`` (a function, class or method) by a spy for the test; the
    returned counter gives its calls by calling thread (e.g. models built per thread)."""
    real = getattr(owner, name)
    counts: Counter = Counter()

    def spy(*args, **kwargs):
        counts[threading.get_ident()] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, spy)
    return counts
