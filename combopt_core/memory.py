"""``SolutionMemory``: each training sample's last proven answer, for exact skips and warm
starts across training steps.

A training loop solves the same samples again and again while the constraints move a little
per step. The memory keeps, per sample, the last proven answer and the exact instance it
answered. On the next solve of that sample:

* if the instance is bit-for-bit the same, the remembered answer is returned without a solve
  (``Proof.UNCHANGED``): the proof it had still holds;
* otherwise the remembered point becomes a warm-start candidate. It is checked against the
  current instance (integral, in the box, ``A y <= b``, ``A_eq y == b_eq``) before any
  backend sees it, so a key reused for a different instance can cost time but never give a
  wrong answer.

Samples are keyed by the ``ids`` the caller passes (any hashable per instance: dataset
indices, strings), or, without ids, by the exact bytes of the cost vector (equal costs are
then one sample). Bounded LRU (``maxsize`` samples) and thread-safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from .cache import instance_keys
from .result import Proof, Solution, Status
from .spec import ILPProblem


@dataclass(frozen=True)
class Remembered:
    """One sample's last proven answer and the digest of the instance it answered."""

    digest: bytes
    solution: Solution


def check_ids(ids: object, batch_size: int) -> list[Hashable]:
    """``ids`` as a list of ``batch_size`` hashable keys (a 1-D array or a sequence).

    Raises:
        ValueError: naming ``ids`` when it has the wrong length.
        TypeError: naming ``ids`` when it is no sequence or has unhashable entries.
    """
    if isinstance(ids, np.ndarray) or hasattr(ids, "tolist"):  # numpy, torch, jax arrays
        ids = np.asarray(ids).tolist()
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence):
        raise TypeError(f"ids: expected one id per instance, got {type(ids).__name__}")
    if len(ids) != batch_size:
        raise ValueError(f"ids: expected {batch_size} ids (one per instance), got {len(ids)}")
    for i, key in enumerate(ids):
        if not isinstance(key, Hashable) or isinstance(key, list):
            raise TypeError(f"ids: entry {i} ({key!r}) is not hashable")
    return list(ids)


class SolutionMemory:
    """Per-sample memory of proven answers (see the module docstring).

    Args:
        maxsize: the most samples kept; the least recently used is dropped beyond it.

    Counters: ``unchanged`` (answers returned because the instance had not changed),
    ``recalled`` (remembered points offered as warm starts), ``stored``.
    """

    def __init__(self, maxsize: int = 1_000_000) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 1:
            raise ValueError(f"maxsize: expected a positive int, got {maxsize!r}")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Remembered] = OrderedDict()
        self._lock = threading.Lock()
        self.unchanged = 0
        self.recalled = 0
        self.stored = 0

    def __len__(self) -> int:
        return len(self._data)

    def keys(self, problem: ILPProblem, ids: object | None) -> list[Hashable]:
        """One key per instance: ``("id", id)`` for caller ids, else ``("c", cost bytes)``."""
        if ids is not None:
            return [("id", key) for key in check_ids(ids, problem.batch_size)]
        return [("c", c.tobytes()) for c in problem.c]

    def recall(
        self, keys: list[Hashable], digests: list[bytes]
    ) -> tuple[dict[int, Solution], np.ndarray]:
        """Unchanged answers ``{row: Solution}`` and warm-start candidates ``(B, n)``.

        ``digests`` are the current instances' (``instance_digests``). A candidate row is
        NaN where nothing is remembered; the caller still has to check it.
        """
        answers: dict[int, Solution] = {}
        candidates: list[np.ndarray | None] = []
        with self._lock:
            found = [self._data.get(key) for key in keys]
            for key, entry in zip(keys, found):
                if entry is not None:
                    self._data.move_to_end(key)
        for i, (entry, digest) in enumerate(zip(found, digests)):
            if entry is None:
                candidates.append(None)
            elif entry.digest == digest:
                s = entry.solution
                y = None if s.y is None else s.y.copy()
                answers[i] = Solution(y, s.status, s.objective, 0.0, s.message, Proof.UNCHANGED)
                candidates.append(None)
            else:
                candidates.append(entry.solution.y)
        with self._lock:
            self.unchanged += len(answers)
            self.recalled += sum(c is not None for c in candidates)
        return answers, _stack_candidates(candidates)

    def remember(
        self, keys: list[Hashable], digests: list[bytes], solutions: Sequence[Solution | None]
    ) -> None:
        """Keep each proven answer (``OPTIMAL`` or ``INFEASIBLE``) under its key (``None``
        entries, e.g. answers that failed verification, are skipped)."""
        with self._lock:
            for key, digest, s in zip(keys, digests, solutions):
                if s is None or s.status not in (Status.OPTIMAL, Status.INFEASIBLE):
                    continue
                y = None if s.y is None else np.array(s.y, dtype=np.float64)
                kept = Solution(y, s.status, s.objective, s.solve_time, s.message, s.proven_by)
                self._data[key] = Remembered(digest, kept)
                self._data.move_to_end(key)
                self.stored += 1
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.unchanged = self.recalled = self.stored = 0

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"SolutionMemory(size={len(self)}, maxsize={self.maxsize}, "
            f"unchanged={self.unchanged}, recalled={self.recalled})"
        )


def instance_digests(problem: ILPProblem) -> list[bytes]:
    """An exact digest of each instance ``(c, A, b, lb, ub, A_eq, b_eq)`` (any bit differs:
    a new one)."""
    return instance_keys(problem, "")


def _stack_candidates(candidates: list[np.ndarray | None]) -> np.ndarray | None:
    n = next((c.shape[0] for c in candidates if c is not None), None)
    if n is None:
        return None
    rows = [np.full(n, np.nan) if c is None or c.shape != (n,) else c for c in candidates]
    return np.stack(rows).astype(np.float64)
