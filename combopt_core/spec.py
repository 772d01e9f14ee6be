"""The problem specification: a batch of integer linear programs, validated.

Every instance ``i`` of a batch is

    minimize    c[i] . y
    subject to  A[i] @ y <= b[i]          (the paper's sign convention)
                A_eq[i] @ y == b_eq[i]    (optional equality rows)
                lb <= y <= ub,  y integer

with ``n`` variables, ``m`` inequality rows and ``m_eq`` equality rows. ``A`` and ``b`` are
either per instance (``(B, m, n)`` and ``(B, m)``) or shared by the whole batch (``(m, n)``
and ``(m,)``); so are ``A_eq`` ``(B, m_eq, n)`` / ``(m_eq, n)`` and ``b_eq``. When one of
``A`` and ``A_eq`` is shared and the other per instance, the shared one is repeated over the
batch (the problem is then per instance; a layer sums the gradient of the shared one back).
Bounds are scalars or per-variable vectors ``(n,)``; both must be finite, because the
paper's feasible set ``Y`` is a bounded box (an integer variable without finite bounds
is rejected). ``m = 0`` (box only) and ``m_eq = 0`` (the default: no equality rows) are valid.

The primary form stays the paper's ``A y <= b``; an equality row ``a . y == b_j`` means
exactly the two rows ``a . y <= b_j`` and ``-a . y <= -b_j`` (``lower_equalities`` writes it
so), and is satisfied within the library's one tolerance:
``|a . y - b_j| <= FEASIBILITY_TOL * max(1, |b_j|)``. Two-sided rows ``lo <= A y <= hi`` in
the style of ``scipy.optimize.LinearConstraint`` are split into both forms by
``two_sided_rows``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ProblemValidationError


@dataclass(frozen=True)
class ILPInstance:
    """One ILP of a batch:
    ``min c.y  s.t.  A y <= b,  A_eq y == b_eq,  lb <= y <= ub,  y integer``.

    Shapes: ``c (n,)``, ``A (m, n)``, ``b (m,)``, ``lb (n,)``, ``ub (n,)``,
    ``A_eq (m_eq, n)``, ``b_eq (m_eq,)``; all float64. ``A_eq`` and ``b_eq`` default to no
    equality rows (``(0, n)`` and ``(0,)``).

    ``start`` is an optional warm start ``(n,)``: an integer point of the box that satisfies
    every row (the core checks it before a backend sees it), or ``None``. A backend may
    hand it to its solver's own start/hint interface; it only prunes the search, and the
    answer must still be a proven optimum (ties may pick another optimal point).
    """

    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    start: np.ndarray | None = None
    A_eq: np.ndarray | None = None
    b_eq: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.A_eq is None:
            object.__setattr__(self, "A_eq", np.zeros((0, self.c.shape[0])))
        if self.b_eq is None:
            object.__setattr__(self, "b_eq", np.zeros(0))

    @property
    def num_vars(self) -> int:
        return self.c.shape[0]

    @property
    def num_constraints(self) -> int:
        """``m``, the inequality rows (equality rows: ``num_equalities``)."""
        return self.A.shape[0]

    @property
    def num_equalities(self) -> int:
        return self.A_eq.shape[0]


@dataclass(frozen=True, eq=False)
class ConstraintSet:
    """A float64 copy of an instance's ``A``, ``b``, bounds and equality rows.

    Backends that keep a model between instances compare the next instance with it
    (``O((m + m_eq) n)``, cheap next to a solve) to decide whether only the costs need
    replacing.
    """

    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    A_eq: np.ndarray
    b_eq: np.ndarray

    @classmethod
    def of(cls, instance: ILPInstance) -> ConstraintSet:
        return cls(*(np.array(x, dtype=np.float64) for x in _constraint_parts(instance)))

    def matches(self, instance: ILPInstance) -> bool:
        """Whether ``instance`` has exactly these constraints, bounds and equality rows."""
        mine = (self.A, self.b, self.lb, self.ub, self.A_eq, self.b_eq)
        return all(np.array_equal(x, y) for x, y in zip(mine, _constraint_parts(instance)))


def _constraint_parts(instance: ILPInstance) -> tuple[np.ndarray, ...]:
    return (instance.A, instance.b, instance.lb, instance.ub, instance.A_eq, instance.b_eq)


@dataclass(frozen=True)
class ILPProblem:
    """A validated batch of ILPs sharing ``n``, ``m``, ``m_eq`` and the bounds.

    Attributes:
        c: costs, ``(B, n)`` float64.
        A: constraint matrix, ``(B, m, n)`` or, when ``shared``, ``(m, n)``; ``A y <= b``.
        b: right-hand sides, ``(B, m)`` or, when ``shared``, ``(m,)``.
        lb, ub: integer-rounded finite bounds, ``(n,)`` float64 (``lb <= ub``).
        shared: whether ``A``, ``b``, ``A_eq`` and ``b_eq`` are one constraint set for the
            whole batch.
        start: checked warm starts ``(B, n)`` with ``has_start (B,)`` saying which rows hold
            one (see ``ILPInstance.start``), or ``None`` for none at all.
        A_eq: equality rows, ``(B, m_eq, n)`` or, when ``shared``, ``(m_eq, n)``;
            ``A_eq y == b_eq``. ``None`` at construction means none (``m_eq = 0``).
        b_eq: their right-hand sides, ``(B, m_eq)`` or, when ``shared``, ``(m_eq,)``.
    """

    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    shared: bool
    start: np.ndarray | None = None
    has_start: np.ndarray | None = None
    A_eq: np.ndarray | None = None
    b_eq: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.A_eq is None:
            layout = () if self.shared else (self.c.shape[0],)
            object.__setattr__(self, "A_eq", np.zeros((*layout, 0, self.c.shape[1])))
            object.__setattr__(self, "b_eq", np.zeros((*layout, 0)))

    @property
    def batch_size(self) -> int:
        return self.c.shape[0]

    @property
    def num_vars(self) -> int:
        return self.c.shape[1]

    @property
    def num_constraints(self) -> int:
        """``m``, the inequality rows (equality rows: ``num_equalities``)."""
        return self.A.shape[-2]

    @property
    def num_equalities(self) -> int:
        return self.A_eq.shape[-2]

    def instance(self, i: int) -> ILPInstance:
        """The ``i``-th ILP of the batch (views, no copies)."""
        A, b, A_eq, b_eq = (
            (self.A, self.b, self.A_eq, self.b_eq)
            if self.shared
            else (self.A[i], self.b[i], self.A_eq[i], self.b_eq[i])
        )
        start = self.start[i] if self.start is not None and self.has_start[i] else None
        return ILPInstance(self.c[i], A, b, self.lb, self.ub, start, A_eq, b_eq)

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

    def batch_A_eq(self) -> np.ndarray:
        """``A_eq`` broadcast to ``(B, m_eq, n)`` (a read-only view when shared)."""
        if self.shared:
            return np.broadcast_to(self.A_eq, (self.batch_size, *self.A_eq.shape))
        return self.A_eq

    def batch_b_eq(self) -> np.ndarray:
        """``b_eq`` broadcast to ``(B, m_eq)`` (a read-only view when shared)."""
        if self.shared:
            return np.broadcast_to(self.b_eq, (self.batch_size, *self.b_eq.shape))
        return self.b_eq

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


def make_problem(
    c: Any, A: Any, b: Any, lb: Any = 0.0, ub: Any = 1.0, A_eq: Any = None, b_eq: Any = None
) -> ILPProblem:
    """Validate and normalise a batch of ILPs
    ``min c.y s.t. A y <= b, A_eq y == b_eq, lb <= y <= ub``.

    Args:
        c: costs, ``(B, n)``, or ``(n,)`` for a batch of one.
        A: ``(B, m, n)`` per instance, or ``(m, n)`` shared by the batch.
        b: ``(B, m)`` per instance, or ``(m,)`` shared; must match ``A``'s layout.
        lb, ub: finite scalars or ``(n,)`` vectors. Non-integer bounds are rounded inward
            (``ceil(lb)``, ``floor(ub)``), since ``y`` is integer.
        A_eq, b_eq: optional equality rows, ``(B, m_eq, n)`` and ``(B, m_eq)`` per instance
            or ``(m_eq, n)`` and ``(m_eq,)`` shared; both or neither. When ``A`` and ``A_eq``
            differ in layout, the shared one is repeated over the batch.

    Raises:
        ProblemValidationError: naming the argument, for wrong shapes, NaN/inf, an empty
            batch, ``n = 0``, infinite bounds, ``lb > ub``, or only one of ``A_eq``, ``b_eq``.
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

    A, b, shared = _rows("A", "b", A, b, B, n)
    if (A_eq is None) != (b_eq is None):
        given, missing = ("A_eq", "b_eq") if b_eq is None else ("b_eq", "A_eq")
        raise ProblemValidationError(
            f"{missing}: equality rows need both A_eq and b_eq; only {given} was given"
        )
    if A_eq is None:
        layout = () if shared else (B,)
        A_eq, b_eq, shared_eq = np.zeros((*layout, 0, n)), np.zeros((*layout, 0)), shared
    else:
        A_eq, b_eq, shared_eq = _rows("A_eq", "b_eq", A_eq, b_eq, B, n)
    if shared != shared_eq:  # one layout for the whole problem: per instance
        if shared:
            A, b = np.repeat(A[None], B, axis=0), np.repeat(b[None], B, axis=0)
        else:
            A_eq, b_eq = np.repeat(A_eq[None], B, axis=0), np.repeat(b_eq[None], B, axis=0)
        shared = False

    lb_arr = np.ceil(_bounds("lb", lb, n) - 1e-9)
    ub_arr = np.floor(_bounds("ub", ub, n) + 1e-9)
    if np.any(lb_arr > ub_arr):
        j = int(np.argmax(lb_arr > ub_arr))
        raise ProblemValidationError(
            f"lb, ub: variable {j} has no integer value in [lb, ub] = "
            f"[{lb_arr[j]:g}, {ub_arr[j]:g}] (lb > ub after rounding to integers)"
        )
    return ILPProblem(c=c, A=A, b=b, lb=lb_arr, ub=ub_arr, shared=shared, A_eq=A_eq, b_eq=b_eq)


def _rows(
    name_A: str, name_b: str, A: Any, b: Any, B: int, n: int
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Validated rows ``(A, b, shared)`` of one kind (``A``/``b`` or ``A_eq``/``b_eq``)."""
    A = _as_float_array(name_A, A)
    b = _as_float_array(name_b, b)
    if A.ndim == 2:
        if A.shape[1] != n:
            raise ProblemValidationError(
                f"{name_A}: shared constraints need shape (m, n={n}), got {A.shape}"
            )
        if b.shape != (A.shape[0],):
            raise ProblemValidationError(
                f"{name_b}: shared {name_A} of shape {A.shape} needs {name_b} of shape "
                f"({A.shape[0]},), got {b.shape}"
            )
        return A, b, True
    if A.ndim == 3:
        if A.shape[0] != B or A.shape[2] != n:
            raise ProblemValidationError(
                f"{name_A}: expected shape (B={B}, m, n={n}) to match c ({B}, {n}), got {A.shape}"
            )
        if b.shape != (B, A.shape[1]):
            raise ProblemValidationError(
                f"{name_b}: per-instance {name_A} of shape {A.shape} needs {name_b} of shape "
                f"({B}, {A.shape[1]}), got {b.shape}"
            )
        return A, b, False
    raise ProblemValidationError(f"{name_A}: expected shape (m, n) or (B, m, n), got {A.shape}")


def lower_equalities(problem: ILPProblem) -> ILPProblem:
    """``problem`` with each equality row ``a . y == b_j`` written as the two inequality rows
    ``a . y <= b_j`` and ``-a . y <= -b_j``, appended after ``A``'s rows in that order
    (``A' = [A; A_eq; -A_eq]``, ``b' = [b; b_eq; -b_eq]``); ``m_eq`` becomes 0.

    The same integer points satisfy both forms to the same tolerance. The batch solver hands
    this form to a backend that does not declare ``supports_equalities``.
    """
    if problem.num_equalities == 0:
        return problem
    A = np.concatenate([problem.A, problem.A_eq, -problem.A_eq], axis=-2)
    b = np.concatenate([problem.b, problem.b_eq, -problem.b_eq], axis=-1)
    return dataclasses.replace(
        problem,
        A=A,
        b=b,
        A_eq=np.zeros((*problem.A_eq.shape[:-2], 0, problem.num_vars)),
        b_eq=np.zeros((*problem.b_eq.shape[:-1], 0)),
    )


def two_sided_rows(
    A: Any, lo: Any, hi: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows ``lo <= A y <= hi`` (``scipy.optimize.LinearConstraint`` style) in this library's
    form: ``(A_le, b_le, A_eq, b_eq)`` for ``make_problem``'s ``A, b, A_eq, b_eq``.

    A row with ``lo_j == hi_j`` becomes the equality ``a_j . y == hi_j``; otherwise a finite
    ``hi_j`` gives ``a_j . y <= hi_j`` and a finite ``lo_j`` gives ``-a_j . y <= -lo_j``
    (infinite sides are dropped). ``A (m, n)``; ``lo``, ``hi`` scalars or ``(m,)``.

    Raises:
        ProblemValidationError: naming the argument, for wrong shapes, NaN, ``lo > hi`` or a
            side that is infinite in the wrong direction.
    """
    A = _as_float_array("A", A)
    if A.ndim != 2:
        raise ProblemValidationError(f"A: expected shape (m, n), got {A.shape}")
    m = A.shape[0]
    sides = []
    for name, value in (("lo", lo), ("hi", hi)):
        try:
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (m,))
        except (TypeError, ValueError) as exc:
            raise ProblemValidationError(
                f"{name}: expected a number or shape ({m},) for A of shape {A.shape} ({exc})"
            ) from exc
        if np.isnan(arr).any():
            raise ProblemValidationError(f"{name}: contains NaN")
        sides.append(arr)
    lo_arr, hi_arr = sides
    if np.any(lo_arr == np.inf) or np.any(hi_arr == -np.inf):
        raise ProblemValidationError("lo, hi: lo may not be +inf and hi may not be -inf")
    if np.any(lo_arr > hi_arr):
        j = int(np.argmax(lo_arr > hi_arr))
        raise ProblemValidationError(f"lo, hi: row {j} has lo > hi ({lo_arr[j]} > {hi_arr[j]})")
    eq = lo_arr == hi_arr
    upper = ~eq & np.isfinite(hi_arr)
    lower = ~eq & np.isfinite(lo_arr)
    A_le = np.concatenate([A[upper], -A[lower]])
    b_le = np.concatenate([hi_arr[upper], -lo_arr[lower]])
    return A_le, b_le, A[eq].copy(), hi_arr[eq].copy()
