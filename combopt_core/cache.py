"""Opt-in reuse of earlier answers: an exact solution cache and a PyEPO-style solution pool.

``SolutionCache``: a bounded LRU map from an instance to its answer, for evaluation loops
and repeated instances. The key is a 256-bit BLAKE2b digest of the exact bytes and shapes
of ``(backend name, c, A, b, lb, ub, A_eq, b_eq)``: equal instances hit, any bit of difference misses
(a false hit needs a digest collision, probability ~2^-128). Only proven answers
(``OPTIMAL``, ``INFEASIBLE``) are stored, never time-limited or failed ones.

``SolutionPool``: in the spirit of PyEPO's ``solve_ratio`` (Tang & Khalil), solve only a
fraction of the instances and answer the others with the best point seen so far:
``argmin_{p in pool, A p <= b} c.p``. Unlike PyEPO, constraints may change between calls
(CombOptNet learns them), so a pooled point is used only where it is feasible for the
instance's current ``A, b`` (and ``A_eq, b_eq``); an instance with no feasible pooled point
is solved. Pooled
answers are NOT proven optimal: they carry status ``TIME_LIMIT`` ("a feasible point,
optimality not proven") and the message ``POOL_MESSAGE``. Its accuracy cost is measured by
``demos/benchmarks/solution_pool.py`` (see ``docs/performance.md``).
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict

import numpy as np

from .result import Proof, Solution, Status
from .spec import ILPInstance, ILPProblem
from .verify import FEASIBILITY_TOL

POOL_MESSAGE = "answered from the solution pool (feasible, optimality not proven)"


def _digest(*arrays: np.ndarray, prefix: bytes = b"") -> bytes:
    h = hashlib.blake2b(prefix, digest_size=32)
    for arr in arrays:
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        h.update(repr(arr.shape).encode())
        h.update(arr.data)
    return h.digest()


def instance_keys(problem: ILPProblem, backend: str) -> list[bytes]:
    """One exact key per instance of ``problem`` for answers of backend ``backend``.

    The key is ``H(H(backend, A, b, lb, ub, A_eq, b_eq), c)``: a shared constraint set is
    hashed once for the whole batch, and an instance gets the same key in a shared or a
    per-instance batch.
    """
    prefix = backend.encode() + b"\0"
    if problem.shared:
        common = [_digest(*_constraints(problem.instance(0)), prefix=prefix)]
        common *= problem.batch_size
    else:
        common = [
            _digest(*_constraints(problem.instance(i)), prefix=prefix)
            for i in range(problem.batch_size)
        ]
    return [_digest(c, prefix=head) for c, head in zip(problem.c, common)]


def _constraints(instance: ILPInstance) -> tuple[np.ndarray, ...]:
    """Everything of an instance but its costs and warm start, in the key's order."""
    return instance.A, instance.b, instance.lb, instance.ub, instance.A_eq, instance.b_eq


class _Copyable:
    """Pickling and ``copy.deepcopy`` of an object guarded by ``self._lock``: the copy has
    the contents (taken under the lock) and a lock of its own, e.g. in a copied layer or a
    ``DataLoader`` worker."""

    _lock: threading.Lock

    def __getstate__(self) -> dict:
        with self._lock:
            state = {k: v for k, v in self.__dict__.items() if k != "_lock"}
            return copy.deepcopy(state)  # a consistent snapshot, not shared containers

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()


class SolutionCache(_Copyable):
    """A bounded, thread-safe LRU cache of proven answers (see the module docstring).

    Args:
        maxsize: the most instances kept; the least recently used is evicted beyond it.
    """

    CACHEABLE = (Status.OPTIMAL, Status.INFEASIBLE)

    def __init__(self, maxsize: int = 100_000) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize: expected a positive int, got {maxsize!r}")
        self.maxsize = maxsize
        self._data: OrderedDict[bytes, Solution] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes) -> Solution | None:
        """The stored answer (``solve_time = 0``: no solver ran; ``Proof.UNCHANGED``), or
        ``None``."""
        with self._lock:
            found = self._data.get(key)
            if found is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
        y = None if found.y is None else found.y.copy()
        return Solution(y, found.status, found.objective, 0.0, found.message, Proof.UNCHANGED)

    def put(self, key: bytes, solution: Solution) -> None:
        """Store ``solution`` if it is a proven answer; evict the oldest beyond ``maxsize``."""
        if solution.status not in self.CACHEABLE:
            return
        y = None if solution.y is None else np.array(solution.y, dtype=np.float64)
        stored = Solution(
            y, solution.status, solution.objective, solution.solve_time, solution.message
        )
        with self._lock:
            self._data[key] = stored
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0

    def __repr__(self) -> str:
        return (
            f"SolutionCache(size={len(self)}, maxsize={self.maxsize}, hits={self.hits}, "
            f"misses={self.misses})"
        )


class SolutionPool(_Copyable):
    """Solve a fraction ``solve_ratio`` of instances; answer the rest from a pool of points.

    Args:
        solve_ratio: probability that an instance is solved (1 = always, as without pool).
        max_size: the most points kept (oldest dropped first); ``None`` for no bound.
        seed: seed of the random choice of which instances to solve.
        feasibility_tol: a pooled point ``p`` is feasible when
            ``a_j.p - b_j <= tol * max(1, |b_j|)`` for every row of ``A`` and
            ``|a_j.p - b_j| <= tol * max(1, |b_j|)`` for every row of ``A_eq`` (the
            tolerance ``verify`` uses).

    Every point a solver returns joins the pool; ``add(points)`` seeds it (PyEPO seeds it
    with the training set's solutions).
    """

    def __init__(
        self,
        solve_ratio: float,
        max_size: int | None = None,
        seed: int | None = None,
        feasibility_tol: float = FEASIBILITY_TOL,
    ) -> None:
        if not 0.0 <= float(solve_ratio) <= 1.0:
            raise ValueError(f"solve_ratio: expected a number in [0, 1], got {solve_ratio!r}")
        if max_size is not None and (not isinstance(max_size, int) or max_size < 1):
            raise ValueError(f"max_size: expected a positive int or None, got {max_size!r}")
        self.solve_ratio = float(solve_ratio)
        self.max_size = max_size
        self.feasibility_tol = feasibility_tol
        self._rng = np.random.default_rng(seed)
        self._points: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._stacked: np.ndarray | None = None
        self._lock = threading.Lock()
        self.solved = 0
        self.pooled = 0

    def __len__(self) -> int:
        return len(self._points)

    @property
    def points(self) -> np.ndarray:
        """The pool, ``(P, n)`` float64 (empty ``(0, 0)`` before the first point)."""
        with self._lock:
            if self._stacked is None:
                self._stacked = (
                    np.stack(list(self._points.values())) if self._points else np.empty((0, 0))
                )
            return self._stacked

    def add(self, points: np.ndarray) -> None:
        """Add integer points ``(k, n)`` (duplicates are kept once)."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        with self._lock:
            for p in points:
                key = p.tobytes()
                if key in self._points:
                    self._points.move_to_end(key)
                else:
                    self._points[key] = p.copy()
            while self.max_size is not None and len(self._points) > self.max_size:
                self._points.popitem(last=False)
            self._stacked = None

    def answer(self, problem: ILPProblem, candidates: np.ndarray) -> dict[int, Solution]:
        """Pooled answers for the instances ``candidates`` drawn to skip the solver.

        Draws which of ``candidates`` skip the solver (probability ``1 - solve_ratio``) and
        returns ``{index: Solution}`` for those that have a feasible pooled point; every
        other instance must be solved by the caller.
        """
        candidates = np.asarray(candidates, dtype=np.intp)
        skip = candidates[self._rng.random(candidates.size) >= self.solve_ratio]
        pool = self.points
        answers: dict[int, Solution] = {}
        if skip.size == 0 or pool.shape[0] == 0 or pool.shape[1] != problem.num_vars:
            return answers
        in_box = np.all((pool >= problem.lb) & (pool <= problem.ub), axis=1)
        for i in skip:
            inst = problem.instance(int(i))
            tol = self.feasibility_tol * np.maximum(1.0, np.abs(inst.b))
            tol_eq = self.feasibility_tol * np.maximum(1.0, np.abs(inst.b_eq))
            ok = in_box & np.all(pool @ inst.A.T - inst.b <= tol, axis=1)
            ok &= np.all(np.abs(pool @ inst.A_eq.T - inst.b_eq) <= tol_eq, axis=1)
            if not ok.any():
                continue
            values = np.where(ok, pool @ inst.c, np.inf)
            best = int(np.argmin(values))
            answers[int(i)] = Solution(
                pool[best].copy(), Status.TIME_LIMIT, float(values[best]), 0.0, POOL_MESSAGE
            )
        with self._lock:
            self.pooled += len(answers)
        return answers

    def record(self, solutions: list[Solution]) -> None:
        """Add the points of solver answers to the pool."""
        points = [s.y for s in solutions if s.y is not None]
        with self._lock:
            self.solved += len(solutions)
        if points:
            self.add(np.stack(points))

    def __repr__(self) -> str:
        return (
            f"SolutionPool(solve_ratio={self.solve_ratio}, size={len(self)}, "
            f"solved={self.solved}, pooled={self.pooled})"
        )
