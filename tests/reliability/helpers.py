"""Shared test tools: a brute-force reference solver, scripted fake backends, problem makers.

Fakes identify an instance by its content (``c[0]``), since the batch solver may hand
instances to threads in any order.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pytest

from combopt_core import ILPInstance, Solution, Status, get_solver, list_backends


def available_backends() -> list[str]:
    """Names of every backend that can run here (HiGHS now; the others once merged)."""
    return [s.name for s in list_backends() if s.available]


def skip_unless_fits(backend: str, n: int, lb: float, ub: float) -> None:
    """Skip the calling test when ``backend`` refuses boxes this large (an enumerating
    backend declares ``max_points``)."""
    limit = getattr(get_solver(backend), "max_points", None)
    if limit is not None and (int(ub) - int(lb) + 1) ** n > limit:
        pytest.skip(f"{backend} enumerates at most {limit} points; this box is larger")


def brute_force(instance: ILPInstance) -> Solution:
    """Enumerate the box (small ``n`` only); the first optimal point in itertools order."""
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(instance.lb, instance.ub)]
    best, best_obj = None, np.inf
    for point in itertools.product(*ranges):
        y = np.array(point, dtype=np.float64)
        if instance.A.shape[0] and np.any(instance.A @ y > instance.b + 1e-9):
            continue
        obj = float(instance.c @ y)
        if obj < best_obj - 1e-12:
            best, best_obj = y, obj
    if best is None:
        return Solution(None, Status.INFEASIBLE, message="enumerated: no feasible point")
    return Solution(best, Status.OPTIMAL, best_obj)


class BruteForceSolver:
    """A correct (slow) reference backend for small problems."""

    name = "reference"
    releases_gil = False

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        return brute_force(instance)


@dataclass
class ScriptedSolver:
    """A backend whose behaviour on an instance is chosen by ``c[0]`` (else brute force).

    ``fail_on``: ``c[0]`` values on which ``solve`` raises ``RuntimeError``;
    ``error_on``: values on which it returns ``Status.ERROR`` without raising;
    ``interrupt_on``: values on which it raises ``KeyboardInterrupt``, as a backend must when
    its solver library caught the user's Ctrl-C itself;
    ``delay``: seconds slept per solve (sleeping releases the GIL, like a real solver).
    Counts calls and solves in flight, so a test can see work left running.
    """

    name: str = "scripted"
    fail_on: frozenset = frozenset()
    error_on: frozenset = frozenset()
    interrupt_on: frozenset = frozenset()
    delay: float = 0.0
    releases_gil: bool = True
    calls: int = 0
    in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
        try:
            if self.delay:
                time.sleep(self.delay)
            key = float(instance.c[0])
            if key in self.fail_on:
                raise RuntimeError(f"injected failure (c[0] = {key})")
            if key in self.interrupt_on:
                raise KeyboardInterrupt
            if key in self.error_on:
                return Solution(None, Status.ERROR, message="injected error status")
            return brute_force(instance)
        finally:
            with self._lock:
                self.in_flight -= 1


@dataclass
class TimeOutSolver:
    """Always hits its time limit: returns ``incumbent`` (a fixed point) or nothing."""

    incumbent: np.ndarray | None
    name: str = "timeout"
    releases_gil: bool = False
    seen_limits: list = field(default_factory=list)

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        self.seen_limits.append(time_limit)
        if self.incumbent is None:
            return Solution(None, Status.TIME_LIMIT, message="time limit, no incumbent")
        y = np.array(self.incumbent, dtype=np.float64)
        return Solution(y, Status.TIME_LIMIT, float(instance.c @ y), message="time limit")


@dataclass
class WrongSolver:
    """A broken backend: answers like the reference, then corrupts it as ``kind`` says
    (only on the instance with ``c[0] == victim`` when ``victim`` is set)."""

    kind: str
    name: str = "liar"
    releases_gil: bool = False
    victim: float | None = None

    KINDS = (
        "infeasible",
        "fractional",
        "out_of_bounds",
        "wrong_objective",
        "nan_point",
        "wrong_shape",
        "optimal_without_point",
        "point_with_infeasible_status",
        "not_a_solution",
        "string_point",
        "object_point",
        "complex_point",
    )

    def solve(self, instance: ILPInstance, time_limit: float | None = None):
        good = brute_force(instance)
        y, obj = good.y, good.objective
        if self.victim is not None and float(instance.c[0]) != self.victim:
            return good
        if self.kind == "infeasible":  # the box's top corner violates the test problems
            y = instance.ub.copy()
            return Solution(y, Status.OPTIMAL, float(instance.c @ y))
        if self.kind == "fractional":
            y = y + 0.4
            return Solution(y, Status.OPTIMAL, float(instance.c @ y))
        if self.kind == "out_of_bounds":
            y = y.copy()
            y[0] = instance.lb[0] - 1
            return Solution(y, Status.OPTIMAL, float(instance.c @ y))
        if self.kind == "wrong_objective":
            return Solution(y, Status.OPTIMAL, obj + 1.0)
        if self.kind == "nan_point":
            return Solution(np.full_like(y, np.nan), Status.OPTIMAL, obj)
        if self.kind == "wrong_shape":
            return Solution(np.append(y, 0.0), Status.OPTIMAL, obj)
        if self.kind == "optimal_without_point":
            return Solution(None, Status.OPTIMAL)
        if self.kind == "point_with_infeasible_status":
            return Solution(y, Status.INFEASIBLE)
        if self.kind == "not_a_solution":
            return y
        if self.kind == "string_point":  # e.g. a plugin returning its solver's text output
            return Solution(y.astype(str), Status.OPTIMAL, obj)
        if self.kind == "object_point":
            return Solution(y.astype(object), Status.OPTIMAL, obj)
        if self.kind == "complex_point":
            return Solution(y.astype(complex), Status.OPTIMAL, obj)
        raise AssertionError(self.kind)


def random_problem(rng: np.random.Generator, B: int, n: int, m: int, dense: bool = False):
    """``(c, A, b, lb, ub)``: unit-norm rows through the box centre region; feasible at 0
    for binary (``b >= 0``). ``dense`` uses the box ``[-5, 5]``."""
    lb, ub = (-5.0, 5.0) if dense else (0.0, 1.0)
    c = rng.normal(size=(B, n))
    A = rng.normal(size=(B, m, n))
    A /= np.linalg.norm(A, axis=-1, keepdims=True)
    b = rng.uniform(0.2, 1.0, size=(B, m)) * (3.0 if dense else 1.0)
    return c, A, b, lb, ub


def set_cover(seed: int = 0, B: int = 24, n: int = 12, m: int = 8):
    """Unit-cost set cover: ``min sum(y)`` s.t. every element covered, ``-S y <= -1``."""
    rng = np.random.default_rng(seed)
    S = (rng.random((B, m, n)) < 0.3).astype(float)
    S[np.arange(B)[:, None], np.arange(m), rng.integers(0, n, size=(B, m))] = 1.0
    return np.ones((B, n)), -S, -np.ones((B, m)), 0.0, 1.0


def digest(y: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(y, dtype=np.float64).tobytes()).hexdigest()


def child_pids_of(pid: int) -> set[int]:
    """Live processes whose parent is ``pid`` (Linux ``/proc``; empty elsewhere)."""
    found = set()
    if not os.path.isdir("/proc"):
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(entry))
    return found
