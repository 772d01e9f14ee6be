"""The CombOptNet gradient rule (Paulus et al., ICML 2021, Sec. 3 and appendix B.1).

Given the solution ``y`` of ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` and the
incoming gradient ``dy = dL/dy``, return ``(dc, dA, db)``:

1. **Projection** (B.1): a coordinate ``j`` whose unit step ``y_j - sign(dy_j)`` leaves the
   box gets ``dy_j := 0`` (its targets would not be attainable).
2. **Basis** (eq. 8-9, Prop. 1): sort coordinates by ``|dy|`` decreasing, ``k_1..k_n``;
   ``Delta_k = -sum_{i<=k} sign(dy_{k_i}) e_{k_i}``, ``lambda_k = |dy_{k_k}| - |dy_{k_{k+1}}|``,
   ``lambda_n = |dy_{k_n}|``, so that ``sum_k lambda_k Delta_k = -dy``. Targets
   ``y'_k = y + Delta_k``.
3. **Constraint mismatch** (eq. 5, with eq. 11's soft minimum), with
   ``dist_j(p) = |a_j.p - b_j| / ||a_j||``:
   feasible target -> ``softmin_tau_j dist_j(y)`` (hard min at ``tau = 0``, first index on
   ties); infeasible target -> ``sum_j [a_j.y'_k > b_j] dist_j(y'_k)``; ``y'_k = y`` -> 0.
4. **Cost mismatch** (eq. 7): ``c.(y'_k - y)`` for a feasible target, else 0.
5. **Composition** (eq. 6): ``d = sum_k lambda_k dP_k`` -- a sum over k, per instance, with
   no averaging; shared ``A``/``b`` sum over the batch. The loss carries its own reduction.

Consequences: if every target is feasible, ``dc = -dy``; the map ``dy -> (dc, dA, db)`` is
positively homogeneous. For an infeasible ILP, ``y`` is the fallback point, every target is
infeasible, and only the "push violated constraints out" branch acts.

Conventions: a target violates constraint ``j`` when ``a_j.y'_k - b_j > tol * max(1, |b_j|)``.
Constraints with ``a_j = 0`` have no distance: they are left out of the soft minimum and get
no gradient. Targets stay in the box by construction of the projection, since ``y`` is an
integer point of an integer box.

On the lattice (integer data puts ``y`` and its targets exactly on constraints) ``|.|`` has
no derivative at 0; the rule takes the one-sided limit from the feasible side, i.e. the
limit of the gradient at ``b + eps`` as ``eps -> 0+`` for the same ``y``:

* a row **tight at y** (``|a_j.y - b_j| <= tol * max(1, |b_j|)``) has distance exactly 0
  and derivative ``(-y / ||a_j||, 1 / ||a_j||)`` in ``(a_j, b_j)``, as for a row slack by
  ``eps`` (``y`` is feasible, so that side exists). It takes part in the soft minimum like
  any other row (at ``tau = 0`` the first tight row wins the tie);
* a row **tight at an infeasible target** (slack within the tolerance) is satisfied there,
  as in the feasibility test, so it adds nothing to that target's sum of violations.

Off the lattice (every slack beyond the tolerance) this is the paper's formula unchanged.

**Equality rows** ``A_eq y == b_eq``: each row ``a . y == beta`` is its two ``<=`` halves
``a . y <= beta`` and ``-a . y <= -beta``, and the rule is applied to ``[A; A_eq; -A_eq]``,
``[b; b_eq; -b_eq]`` (in that row order, which decides ties at ``tau = 0``). With
``dA_+, db_+`` and ``dA_-, db_-`` the halves' gradients in their own parameters,
``dA_eq = dA_+ - dA_-`` and ``db_eq = db_+ - db_-``. So a target off the equality violates
exactly one half and is pushed back by it; ``y`` lies on both halves (distance 0), and at
``tau > 0`` their equal soft-minimum weights pull in opposite directions and cancel, so a
satisfied equality learns from infeasible targets only; at ``tau = 0`` the first tight row
takes the whole weight (as for ``<=`` rows).

Cost: O(B m n) time and memory plus an O(B n log n) sort. No ``(B, n, n)`` tensor of
targets is built: the slacks of all n targets are one cumulative sum over the sorted
coordinates, and every sum over k of ``w_k Delta_k`` is a reverse cumulative sum. Large
batches are processed in blocks of instances of at most ``BLOCK_ELEMENTS`` ``m n`` entries,
so the temporaries stay in cache (the output is still ``(B, m, n)`` for per-instance ``A``).

Two implementations compute the same numbers (to rounding): this module's NumPy code, the
readable reference of the rule, and a fused multi-threaded compiled kernel
(``combopt_core.gradient_kernel``, needs the optional ``numba``: ``pip install
'combopt[fast]'``). ``implementation="auto"`` (the default, or the environment variable
``COMBOPT_BACKWARD``) takes the kernel when numba is installed and the batch has at least
``AUTO_MIN_ELEMENTS`` entries of ``B m n``, or, for smaller batches, when numba is already
imported in the process (for example by the compiled enumeration of a binary layer): a small
problem never pays numba's import, and one that runs beside it gets the faster backward
(5x at ``B m n = 512``).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from .kernels import kernel_for, load_kernel
from .verify import FEASIBILITY_TOL

#: The target feasibility test's tolerance: the library's one (``verify.FEASIBILITY_TOL``).
DEFAULT_FEASIBILITY_TOL = FEASIBILITY_TOL
#: Largest ``block * m * n`` worked on at once (2 MiB per float64 temporary).
BLOCK_ELEMENTS = 1 << 18
#: Smallest ``B * m * n`` for which ``implementation="auto"`` uses the compiled kernel.
AUTO_MIN_ELEMENTS = 1 << 17
#: Environment variable naming the default implementation (``auto``, ``numpy``, ``numba``).
IMPLEMENTATION_ENV = "COMBOPT_BACKWARD"
IMPLEMENTATIONS = ("auto", "numpy", "numba")


@dataclass(frozen=True)
class Gradients:
    """``dc (B, n)``; ``dA (B, m, n)`` and ``db (B, m)``, or ``(m, n)``/``(m,)`` when shared;
    ``dA_eq``, ``db_eq`` likewise for equality rows, ``None`` when none were passed."""

    dc: np.ndarray
    dA: np.ndarray
    db: np.ndarray
    dA_eq: np.ndarray | None = None
    db_eq: np.ndarray | None = None


def project_dy(dy: np.ndarray, y: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> np.ndarray:
    """Zero the coordinates of ``dy`` whose step ``y - sign(dy)`` leaves ``[lb, ub]``."""
    step = y - np.sign(dy)
    leaves = (step < lb - 0.5) | (step > ub + 0.5)
    return np.where(leaves, 0.0, dy)


def _unsort(sorted_values: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Map values indexed by sorted position back to coordinates (last axis)."""
    return np.take_along_axis(sorted_values, inverse, axis=-1)


def _reverse_cumsum(x: np.ndarray) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(x, axis=-1), axis=-1), axis=-1)


def _softmin_weights(dist: np.ndarray, valid: np.ndarray, tau: float) -> np.ndarray:
    """``d softmin_tau(dist) / d dist`` over the valid constraints, ``(B, m)``."""
    masked = np.where(valid, dist, np.inf)
    if masked.shape[-1] == 0:
        return np.zeros_like(dist)
    any_valid = valid.any(axis=-1, keepdims=True)
    if tau == 0:
        first = np.argmin(masked, axis=-1)
        weights = np.zeros_like(dist)
        np.put_along_axis(weights, first[..., None], 1.0, axis=-1)
        return np.where(any_valid, weights, 0.0)
    shifted = -(masked - np.where(any_valid, masked.min(axis=-1, keepdims=True), 0.0)) / tau
    expd = np.where(valid, np.exp(np.where(valid, shifted, 0.0)), 0.0)
    total = expd.sum(axis=-1, keepdims=True)
    return np.where(total > 0, expd / np.where(total > 0, total, 1.0), 0.0)


def _sorted_basis(
    dy: np.ndarray, y: np.ndarray, lb: np.ndarray, ub: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps 1-2 of the rule: ``order`` (``k_1..k_n`` per instance), ``sigma = sign(dy_{k_i})``
    and Prop. 1's ``lambda``, all ``(B, n)``, from the projected ``dy``."""
    dy = project_dy(dy, y, lb, ub)
    order = np.argsort(-np.abs(dy), axis=-1, kind="stable")
    mag = np.take_along_axis(np.abs(dy), order, axis=-1)
    sigma = np.take_along_axis(np.sign(dy), order, axis=-1)
    lam = mag - np.concatenate([mag[:, 1:], np.zeros((len(mag), 1))], axis=1)
    return order, sigma, lam


def combopt_gradients(
    dy: np.ndarray,
    y: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    tau: float = 0.5,
    feasibility_tol: float = DEFAULT_FEASIBILITY_TOL,
    implementation: str | None = None,
    A_eq: np.ndarray | None = None,
    b_eq: np.ndarray | None = None,
) -> Gradients:
    """The paper's backward for a batch (see the module docstring for the rule).

    Args:
        dy: incoming gradient ``dL/dy``, ``(B, n)``.
        y: the forward solutions (fallback point for instances without one), ``(B, n)``.
        A: ``(B, m, n)``, or ``(m, n)`` shared by the batch (then ``dA`` is summed over it).
        b: ``(B, m)``, or ``(m,)`` shared.
        lb, ub: integer bounds, ``(n,)``.
        tau: soft-minimum temperature (eq. 11); ``0`` for the hard minimum.
        feasibility_tol: relative tolerance of the target feasibility test.
        implementation: ``"numpy"`` (the reference code below), ``"numba"`` (the compiled
            kernel; raises ``ImportError`` without numba) or ``"auto"`` (the kernel for
            problems of at least ``AUTO_MIN_ELEMENTS`` entries of ``B m n`` when numba is
            installed, else NumPy). ``None``: the environment variable ``COMBOPT_BACKWARD``,
            else ``"auto"``.
        A_eq, b_eq: optional equality rows, ``(B, m_eq, n)`` and ``(B, m_eq)``, or shared
            ``(m_eq, n)`` and ``(m_eq,)`` exactly when ``A`` is.

    Returns:
        ``Gradients(dc, dA, db, dA_eq, db_eq)`` in float64: gradients of the loss w.r.t.
        ``c``, ``A``, ``b`` (and ``A_eq``, ``b_eq`` when given). (``dc`` does not depend on
        ``c``: the cost mismatch ``c.(y'_k - y)`` is linear in it.)
    """
    if tau < 0:
        raise ValueError(f"tau: must be >= 0, got {tau}")
    dy = np.asarray(dy, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if (A_eq is None) != (b_eq is None):
        raise ValueError("A_eq, b_eq: pass both or neither")
    if A_eq is not None:
        return _with_equalities(
            dy, y, A, b, A_eq, b_eq, lb, ub, tau, feasibility_tol, implementation
        )
    B, n = y.shape
    if _use_kernel(implementation, B * A.shape[-2] * n):
        from .gradient_kernel import kernel_gradients

        order, sigma, lam = _sorted_basis(dy, y, lb, ub)
        return Gradients(*kernel_gradients(y, A, b, order, sigma, lam, tau, feasibility_tol))
    return _numpy_gradients(dy, y, A, b, lb, ub, tau, feasibility_tol)


def _with_equalities(
    dy: np.ndarray,
    y: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    A_eq: np.ndarray,
    b_eq: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    tau: float,
    feasibility_tol: float,
    implementation: str | None,
) -> Gradients:
    """The rule on ``[A; A_eq; -A_eq]``, folded back: ``dA_eq = dA_+ - dA_-`` (same for b)."""
    A_eq = np.asarray(A_eq, dtype=np.float64)
    b_eq = np.asarray(b_eq, dtype=np.float64)
    if A_eq.ndim != A.ndim or A_eq.shape[-1] != A.shape[-1] or A_eq.shape[:-2] != A.shape[:-2]:
        raise ValueError(
            f"A_eq: expected the layout of A {A.shape} with m_eq rows, got {A_eq.shape}"
        )
    if b_eq.shape != A_eq.shape[:-1]:
        raise ValueError(f"b_eq: expected shape {A_eq.shape[:-1]} for A_eq, got {b_eq.shape}")
    m, m_eq = A.shape[-2], A_eq.shape[-2]
    stacked = combopt_gradients(
        dy,
        y,
        np.concatenate([A, A_eq, -A_eq], axis=-2),
        np.concatenate([b, b_eq, -b_eq], axis=-1),
        lb,
        ub,
        tau,
        feasibility_tol,
        implementation,
    )
    dA, dA_plus, dA_minus = np.split(stacked.dA, [m, m + m_eq], axis=-2)
    db, db_plus, db_minus = np.split(stacked.db, [m, m + m_eq], axis=-1)
    return Gradients(stacked.dc, dA, db, dA_plus - dA_minus, db_plus - db_minus)


def check_implementation(implementation: str | None, name: str = "implementation") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``implementation`` is one of
    :data:`IMPLEMENTATIONS`; ``None`` (use the environment) checks ``COMBOPT_BACKWARD``, so
    that a layer built with a bad value fails at construction, not at its first backward."""
    if implementation is None:
        implementation = os.environ.get(IMPLEMENTATION_ENV, "").strip().lower() or "auto"
        name = IMPLEMENTATION_ENV
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"{name}: must be one of {', '.join(IMPLEMENTATIONS)}, got {implementation!r}"
        )


def _use_kernel(implementation: str | None, elements: int) -> bool:
    """Resolve ``implementation`` (argument, else environment, else ``"auto"``)."""
    check_implementation(implementation)
    if implementation is None:
        implementation = os.environ.get(IMPLEMENTATION_ENV, "").strip().lower() or "auto"
    if implementation == "numba":
        kernel_for("gradient_kernel", "numba", "the compiled backward")  # a clear error
        return True
    if implementation != "auto":
        return False
    return (elements >= AUTO_MIN_ELEMENTS or "numba" in sys.modules) and kernel_available()


def kernel_available() -> bool:
    """Whether the compiled kernel can be used (numba installed and importable)."""
    return load_kernel("gradient_kernel") is not None


def _numpy_gradients(
    dy: np.ndarray,
    y: np.ndarray,
    A: np.ndarray,
    b: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    tau: float,
    feasibility_tol: float,
) -> Gradients:
    """The reference implementation, vectorised over the batch in NumPy."""
    shared = A.ndim == 2
    B, n = y.shape
    # Instances are independent: work through the batch in blocks whose (block, m, n)
    # temporaries stay in cache, instead of streaming several (B, m, n) arrays through memory.
    block = max(1, BLOCK_ELEMENTS // max(1, A.shape[-2] * n))
    if block < B:
        parts = [
            _numpy_gradients(
                dy[s : s + block],
                y[s : s + block],
                A if shared else A[s : s + block],
                b if shared else b[s : s + block],
                lb,
                ub,
                tau,
                feasibility_tol,
            )
            for s in range(0, B, block)
        ]
        dc = np.concatenate([g.dc for g in parts])
        if shared:
            return Gradients(dc, sum(g.dA for g in parts), sum(g.db for g in parts))
        return Gradients(
            dc, np.concatenate([g.dA for g in parts]), np.concatenate([g.db for g in parts])
        )
    A_b = np.broadcast_to(A, (B, *A.shape)) if shared else A
    b_b = np.broadcast_to(b, (B, *b.shape)) if shared else b

    order, sigma, lam = _sorted_basis(dy, y, lb, ub)
    inverse = np.argsort(order, axis=-1, kind="stable")

    # Slack of every target y'_k in every constraint: s[b, j, k] = a_j.y'_k - b_j.
    residual = np.einsum("bmn,bn->bm", A_b, y) - b_b  # a_j.y - b_j
    A_sorted = np.take_along_axis(A_b, np.broadcast_to(order[:, None, :], A_b.shape), axis=-1)
    slack = residual[:, :, None] - np.cumsum(sigma[:, None, :] * A_sorted, axis=-1)
    tol_b = feasibility_tol * np.maximum(1.0, np.abs(b_b))  # (B, m)
    violated = slack > tol_b[:, :, None]  # (B, m, n)
    feasible = ~violated.any(axis=1)  # (B, n): target k satisfies every constraint

    norm = np.linalg.norm(A_b, axis=-1)  # (B, m)
    valid = norm > 0
    safe_norm = np.where(valid, norm, 1.0)

    # Cost mismatch: dc = sum_k lambda_k [feasible_k] Delta_k.
    w_cost = lam * feasible
    dc = _unsort(-sigma * _reverse_cumsum(w_cost), inverse)

    # Feasible targets: every one contributes the same softmin of distances of y. A row tight
    # at y (|a_j.y - b_j| <= tol) is at distance 0 and differentiated from the feasible side.
    weight_feasible = w_cost.sum(axis=-1)  # (B,)
    gap = np.where(np.abs(residual) <= tol_b, 0.0, np.abs(residual))  # |a_j.y - b_j|
    p = _softmin_weights(gap / safe_norm, valid, tau) * weight_feasible[:, None]  # (B, m)
    sgn = np.where(residual > tol_b, 1.0, -1.0)
    coef_y = p * sgn / safe_norm
    coef_a = -p * gap / safe_norm**3
    dA = coef_y[:, :, None] * y[:, None, :] + coef_a[:, :, None] * A_b
    db = -coef_y

    # Infeasible targets: sum over violated constraints of dist_j(y'_k), s > 0 there.
    w_inf = lam[:, None, :] * violated * valid[:, :, None]  # (B, m, n)
    total_w = w_inf.sum(axis=-1)  # (B, m)
    weighted_slack = (w_inf * slack).sum(axis=-1)
    sum_w_delta = _unsort(
        -sigma[:, None, :] * _reverse_cumsum(w_inf),
        np.broadcast_to(inverse[:, None, :], w_inf.shape),
    )  # sum_k w_jk Delta_k, (B, m, n)
    dA += (total_w[:, :, None] * y[:, None, :] + sum_w_delta) / safe_norm[:, :, None]
    dA -= (weighted_slack / safe_norm**3)[:, :, None] * A_b
    db -= total_w / safe_norm

    if shared:
        return Gradients(dc=dc, dA=dA.sum(axis=0), db=db.sum(axis=0))
    return Gradients(dc=dc, dA=dA, db=db)
