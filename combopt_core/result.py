"""What a solve returns: one ``Solution`` per instance, gathered in a ``BatchSolution``."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Status(enum.IntEnum):
    """Per-instance outcome of a solve.

    ``OPTIMAL``: ``y`` is a proven optimum. ``INFEASIBLE``: no integer point of the box
    satisfies ``A y <= b``; ``y`` is the problem's fallback point. ``TIME_LIMIT``: the limit
    was hit; ``y`` is the best incumbent if ``has_solution`` else the fallback point.
    ``ERROR``: the backend failed on this instance; ``y`` is the fallback point.
    """

    OPTIMAL = 0
    INFEASIBLE = 1
    TIME_LIMIT = 2
    ERROR = 3


class Proof(enum.IntEnum):
    """What proves an ``OPTIMAL`` or ``INFEASIBLE`` answer (``NONE`` for any other status).

    ``SOLVER``: the backend's own search. The others are exact skips of the backend
    (``combopt_core.certificates``), checked on the current ``(A, b, c)``, never guessed:

    * ``ENUMERATION``: every integer point of the box was checked against the shared
      ``A y <= b`` once for the batch, and ``y`` has the least cost among the feasible ones;
    * ``UNCHANGED``: the same instance (bit for bit) was answered before, with a proof;
    * ``BOX_MINIMUM``: ``y`` minimises ``c . y`` over the whole box and satisfies
      ``A y <= b``, so no feasible point can cost less.
    """

    NONE = 0
    SOLVER = 1
    ENUMERATION = 2
    UNCHANGED = 3
    BOX_MINIMUM = 4


@dataclass(frozen=True)
class Solution:
    """One instance's answer.

    Attributes:
        y: the solution ``(n,)`` float64 with integer values, or ``None`` when there is none.
        status: see ``Status``.
        objective: ``c . y``, or ``nan`` when there is no solution.
        solve_time: seconds spent inside the backend's own solve call.
        message: the backend's words for anything other than ``OPTIMAL``.
        proof: what proves an ``OPTIMAL``/``INFEASIBLE`` answer; ``None`` (what backends
            return) means ``Proof.SOLVER`` for those two statuses and ``Proof.NONE`` else.
    """

    y: np.ndarray | None
    status: Status
    objective: float = float("nan")
    solve_time: float = 0.0
    message: str = ""
    proof: Proof | None = None

    @property
    def proven_by(self) -> Proof:
        """``proof``, with the backend's own proof filled in for a proven status."""
        if self.proof is not None:
            return self.proof
        proven = self.status in (Status.OPTIMAL, Status.INFEASIBLE)
        return Proof.SOLVER if proven else Proof.NONE

    @property
    def has_solution(self) -> bool:
        return self.y is not None


@dataclass(frozen=True)
class BatchSolution:
    """A batch's answers, stacked.

    Attributes:
        y: ``(B, n)`` float64; rows without a solution hold the problem's fallback point.
        status: ``(B,)`` int8 codes of ``Status``.
        has_solution: ``(B,)`` bool, whether ``y[i]`` came from the solver.
        objective: ``(B,)`` float64, ``nan`` where there is no solution.
        solve_time: ``(B,)`` float64, seconds inside the backend per instance.
        messages: per-instance messages (empty for optimal instances).
        proof: ``(B,)`` int8 codes of ``Proof``: what proves each answer.
        started: ``(B,)`` bool, whether the backend was given a (checked) warm start.
    """

    y: np.ndarray
    status: np.ndarray
    has_solution: np.ndarray
    objective: np.ndarray
    solve_time: np.ndarray
    messages: tuple[str, ...]
    proof: np.ndarray | None = None
    started: np.ndarray | None = None

    def __post_init__(self) -> None:
        B = self.status.shape[0]
        if self.proof is None:
            object.__setattr__(self, "proof", np.zeros(B, dtype=np.int8))
        if self.started is None:
            object.__setattr__(self, "started", np.zeros(B, dtype=bool))

    @property
    def skipped(self) -> np.ndarray:
        """``(B,)`` bool: answered by an exact certificate, without a backend solve."""
        return self.proof >= Proof.ENUMERATION

    @property
    def optimal(self) -> np.ndarray:
        return self.status == Status.OPTIMAL

    @property
    def infeasible(self) -> np.ndarray:
        return self.status == Status.INFEASIBLE

    @property
    def timed_out(self) -> np.ndarray:
        """``(B,)`` bool: the time limit was hit (``has_solution`` says if an incumbent exists)."""
        return self.status == Status.TIME_LIMIT

    @property
    def failed(self) -> np.ndarray:
        """``(B,)`` bool: the backend failed on the instance (``Status.ERROR``)."""
        return self.status == Status.ERROR

    @classmethod
    def stack(
        cls,
        solutions: list[Solution],
        fallback: np.ndarray,
        started: np.ndarray | None = None,
    ) -> BatchSolution:
        """Stack per-instance answers; instances without a solution get ``fallback``."""
        rows = [s.y if s.y is not None else fallback for s in solutions]
        y = np.stack(rows).astype(np.float64) + 0.0  # + 0.0 turns rounded -0.0 into 0.0
        return cls(
            y=y,
            status=np.array([int(s.status) for s in solutions], dtype=np.int8),
            has_solution=np.array([s.has_solution for s in solutions], dtype=bool),
            objective=np.array([s.objective for s in solutions], dtype=np.float64),
            solve_time=np.array([s.solve_time for s in solutions], dtype=np.float64),
            messages=tuple(s.message for s in solutions),
            proof=np.array([int(s.proven_by) for s in solutions], dtype=np.int8),
            started=None if started is None else np.asarray(started, dtype=bool),
        )
