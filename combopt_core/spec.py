"""The problem specification: a batch of integer linear programs, validated.

Every instance ``i`` of a batch is

    minimize    c[i] . y
    subject to  A[i] @ y <= b[i]          (the paper's sign convention)
                lb <= y <= ub,  y integer

with ``n`` variables and ``m`` constraints. ``A`` and ``b`` are either per instance
(``(B, m, n)`` and ``(B, m)``) or shared by the whole batch (``(m, n)`` and ``(m,)``).
Bounds are scalars or per-variable vectors ``(n,)``; both must be finite, because the
paper's feasible set ``Y`` is a bounded box (an integer variable without finite bounds
is rejected). ``m = 0`` (box only) is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ProblemValidationError


@dataclass(frozen=True)
class ILPInstance:
    """One ILP of a batch: ``min c.y  s.t.  A y <= b,  lb <= y <= ub,  y integer``.

    Shapes: ``c (n,)``, ``A (m, n)``, ``b (m,)``, ``lb (n,)``, ``ub (n,)``; all float64.

    ``start`` is an optional warm start ``(n,)``: an integer point of the box that satisfies
    ``A y <= b`` (the core checks it before a backend sees it), or ``None``. A backend may
    hand it to its solver's own start/hint interface; it only prunes the search, and the
    answer must still be a proven optimum (ties may pick another optimal point).
    """

    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    start: np.ndarray | None = None

    @property
    def num_vars(self) -> int:
        return self.c.shape[0]

    @property
    def num_constraints(self) -> int:
        return self.A.shape[0]


@dataclass(frozen=True, eq=False)
class ConstraintSet:
    """A float64 copy of an instance's ``A``, ``b`` and bounds.

    Backends that keep a model between instances compare the next instance with it
    (``O(m n)``, cheap next to a solve) to decide whether only the costs need replacing.
    """

    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray

    @classmethod
    def of(cls, instance: ILPInstance) -> ConstraintSet:
        parts = (instance.A, instance.b, instance.lb, instance.ub)
        return cls(*(np.array(x, dtype=np.float64) for x in parts))

    def matches(self, instance: ILPInstance) -> bool:
        """Whether ``instance`` has exactly these constraints and bounds."""
        mine = (self.A, self.b, self.lb, self.ub)
        theirs = (instance.A, instance.b, instance.lb, instance.ub)
        return all(np.array_equal(x, y) for x, y in zip(mine, theirs))


@dataclass(frozen=True)
class ILPProblem:
    """A validated batch of ILPs sharing ``n``, ``m`` and the bounds.

    Attributes:
        c: costs, ``(B, n)`` float64.
        A: constraint matrix, ``(B, m, n)`` or, when ``shared``, ``(m, n)``; ``A y <= b``.
        b: right-hand sides, ``(B, m)`` or, when ``shared``, ``(m,)``.
        lb, ub: integer-rounded finite bounds, ``(n,)`` float64 (``lb <= ub``).
        shared: whether ``A`` and ``b`` are one constraint set for the whole batch.
        start: checked warm starts ``(B, n)`` with ``has_start (B,)`` saying which rows hold
            one (see ``ILPInstance.start``), or ``None`` for none at all.
    """

    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    shared: bool
    start: np.ndarray | None = None
    has_start: np.ndarray | None = None

    @property
    def batch_size(self) -> int:
        return self.c.shape[0]

    @property
    def num_vars(self) -> int:
        return self.c.shape[1]

    @property
    def num_constraints(self) -> int:
        return self.A.shape[-2]

    def instance(self, i: int) -> ILPInstance:
        """The ``i``-th ILP of the batch (views, no copies)."""
        A = self.A if self.shared else self.A[i]
        b = self.b if self.shared else self.b[i]
        start = self.start[i] if self.start is not None and self.has_start[i] else None
        return ILPInstance(self.c[i], A, b, self.lb, self.ub, start)

    def batch_A(self) -> np.ndarray:
        """``A`` broadcast to ``(B, m, n)`` (a read-only view when shared)."""
        if self.shared:
            return np.broadcast_to(self.A, (self.batch_size, *self.A.shape))
        return self.A

    def batch_b(self) -> np.ndarray:
        """``b`` broadcast to ``(B, m)`` (a read-only view when shared)."""
        if self.shared:
            return np.broadcast_to(self.b, (self.batch_size, *self.b.shape))
        return self.b

    def fallback_point(self) -> np.ndarray:
        """The documented output of an instance with no solution: the box point nearest 0.

        For the paper's boxes (``[0, 1]^n`` and ``[-5, 5]^n``) this is the zero vector, as in
        the authors' code. It lies in the box, so the backward pass still gets in-box targets.
        """
        return np.clip(0.0, self.lb, self.ub)


def check_time_limit(time_limit: Any) -> float | None:
    """Validate a per-instance time limit in seconds: ``None`` (or ``inf``) for none.

    Raises:
        ProblemValidationError: naming ``time_limit``, unless it is ``None`` or a positive
            real number (``0``, negative, NaN, booleans and non-numbers are rejected).
    """
    if time_limit is None:
        return None
    if isinstance(time_limit, bool) or not isinstance(time_limit, (int, float, np.number)):
        raise ProblemValidationError(
            f"time_limit: expected seconds as a number or None, got {type(time_limit).__name__}"
        )
    value = float(time_limit)
    if np.isnan(value) or value <= 0:
        raise ProblemValidationError(f"time_limit: must be positive seconds or None, got {value}")
    return None if np.isinf(value) else value


def _as_float_array(name: str, value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception as exc:  # noqa: BLE001 - numpy raises many types here
        raise ProblemValidationError(f"{name}: cannot be read as an array ({exc})") from exc
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ProblemValidationError(f"{name}: expected numbers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ProblemValidationError(f"{name}: complex values are not allowed")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        bad = "NaN" if np.isnan(arr).any() else "inf"
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ProblemValidationError(f"{name}: contains {bad} (first at index {where})")
    return arr


def _bounds(name: str, value: Any, n: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001
        raise ProblemValidationError(f"{name}: cannot be read as numbers ({exc})") from exc
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    elif arr.shape != (n,):
        raise ProblemValidationError(
            f"{name}: expected a scalar or shape ({n},) for n={n} variables, got {arr.shape}"
        )
    if np.isnan(arr).any():
        raise ProblemValidationError(f"{name}: contains NaN")
    if not np.all(np.isfinite(arr)):
        j = int(np.argwhere(~np.isfinite(arr))[0, 0])
        raise ProblemValidationError(
            f"{name}: variable {j} has an infinite bound; every integer variable needs finite "
            "bounds (the paper's feasible set is a bounded box)"
        )
    return arr


def make_problem(c: Any, A: Any, b: Any, lb: Any = 0.0, ub: Any = 1.0) -> ILPProblem:
    """Validate and normalise a batch of ILPs ``min c.y s.t. A y <= b, lb <= y <= ub``.

    Args:
        c: costs, ``(B, n)``, or ``(n,)`` for a batch of one.
        A: ``(B, m, n)`` per instance, or ``(m, n)`` shared by the batch.
        b: ``(B, m)`` per instance, or ``(m,)`` shared; must match ``A``'s layout.
        lb, ub: finite scalars or ``(n,)`` vectors. Non-integer bounds are rounded inward
            (``ceil(lb)``, ``floor(ub)``), since ``y`` is integer.

    Raises:
        ProblemValidationError: naming the argument, for wrong shapes, NaN/inf, an empty
            batch, ``n = 0``, infinite bounds or ``lb > ub``.
    """
    c = _as_float_array("c", c)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2:
        raise ProblemValidationError(f"c: expected shape (B, n) or (n,), got {c.shape}")
    B, n = c.shape
    if B == 0:
        raise ProblemValidationError("c: the batch is empty (B = 0)")
    if n == 0:
        raise ProblemValidationError("c: there are no variables (n = 0)")

    A = _as_float_array("A", A)
    b = _as_float_array("b", b)
    if A.ndim == 2:
        shared = True
        if A.shape[1] != n:
            raise ProblemValidationError(
                f"A: shared constraints need shape (m, n={n}), got {A.shape}"
            )
        if b.shape != (A.shape[0],):
            raise ProblemValidationError(
                f"b: shared A of shape {A.shape} needs b of shape ({A.shape[0]},), got {b.shape}"
            )
    elif A.ndim == 3:
        shared = False
        if A.shape[0] != B or A.shape[2] != n:
            raise ProblemValidationError(
                f"A: expected shape (B={B}, m, n={n}) to match c {c.shape}, got {A.shape}"
            )
        if b.shape != (B, A.shape[1]):
            raise ProblemValidationError(
                f"b: per-instance A of shape {A.shape} needs b of shape ({B}, {A.shape[1]}), "
                f"got {b.shape}"
            )
    else:
        raise ProblemValidationError(f"A: expected shape (m, n) or (B, m, n), got {A.shape}")

    lb_arr = np.ceil(_bounds("lb", lb, n) - 1e-9)
    ub_arr = np.floor(_bounds("ub", ub, n) + 1e-9)
    if np.any(lb_arr > ub_arr):
        j = int(np.argmax(lb_arr > ub_arr))
        raise ProblemValidationError(
            f"lb, ub: variable {j} has no integer value in [lb, ub] = "
            f"[{lb_arr[j]:g}, {ub_arr[j]:g}] (lb > ub after rounding to integers)"
        )
    return ILPProblem(c=c, A=A, b=b, lb=lb_arr, ub=ub_arr, shared=shared)
