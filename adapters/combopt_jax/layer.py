"""``ILPLayer`` for JAX: forward = a real ILP solve, backward = the CombOptNet rule.

Both passes run on the host through ``jax.pure_callback``: the forward calls
``combopt_core.solve_batch``, the backward ``combopt_core.combopt_gradients``. Shapes are
checked when the function is traced, with the core's own error messages; values (NaN, inf)
are checked before the call when the inputs are concrete (eager mode), and inside the
callback under ``jit`` (the error then arrives wrapped in JAX's runtime error, with the
core's message in its text).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from combopt_core import (
    Executor,
    ILPSolver,
    ProblemValidationError,
    SolutionCache,
    SolutionMemory,
    SolutionPool,
    Status,
    make_problem,
)
from combopt_core.layer import LayerOptions, input_gradient


class ILPInfo(NamedTuple):
    """Per-instance facts of a forward pass, each of shape ``(B,)``.

    ``status``: ``combopt_core.Status`` codes (int32); ``infeasible``: no feasible point
    exists (``y`` is then the fallback point, the box point nearest 0); ``objective``:
    ``c.y`` (``nan`` without a solution).
    """

    status: jax.Array
    infeasible: jax.Array
    objective: jax.Array


@functools.lru_cache(maxsize=256)
def _check_shapes(c_shape: tuple, lb: Any, ub: Any, *row_shapes: tuple) -> int:
    """Validate the layout with ``make_problem`` on zeros (``row_shapes``: those of ``A, b,
    A_eq, b_eq``); return the batch size ``B``."""
    rows = [np.zeros(shape) for shape in row_shapes]
    problem = make_problem(np.zeros(c_shape), rows[0], rows[1], lb, ub, rows[2], rows[3])
    return problem.batch_size


def _hashable(bound: Any) -> Any:
    arr = np.asarray(bound, dtype=np.float64)
    return float(arr) if arr.ndim == 0 else tuple(arr.tolist())


def _float_dtype(x: jax.Array) -> Any:
    return x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.result_type(float)


def _build(options: LayerOptions):
    """The ``custom_vjp`` function ``(c, A, b, A_eq, b_eq) -> (y, status, objective)`` for
    ``options``."""

    def host_solve(c, A, b, A_eq, b_eq):
        rows = [np.asarray(x) for x in (A, b, A_eq, b_eq)]
        _, result = options.solve(np.asarray(c), rows[0], rows[1], None, None, *rows[2:])
        dtype = np.asarray(c).dtype
        return (
            result.y.reshape(np.shape(c)).astype(dtype),
            result.status.astype(np.int32),
            result.objective.astype(dtype),
        )

    def host_grad(dy, y, A, b, A_eq, b_eq, status):
        c0 = np.zeros(np.shape(y), dtype=np.float64)
        rows = [np.asarray(x) for x in (A, b, A_eq, b_eq)]
        problem = make_problem(c0, rows[0], rows[1], options.lb, options.ub, *rows[2:])
        yy = np.asarray(y, dtype=np.float64).reshape(problem.c.shape)
        dy = np.asarray(dy, dtype=np.float64).reshape(yy.shape)
        g = options.gradients(problem, yy, dy, np.asarray(status) == int(Status.ERROR))
        values = (g.dc, g.dA, g.db, g.dA_eq, g.db_eq)
        return tuple(
            input_gradient(value, np.shape(x)).astype(np.asarray(x).dtype)
            for value, x in zip(values, (y, A, b, A_eq, b_eq))
        )

    def forward(c, A, b, A_eq, b_eq):
        bounds = (_hashable(options.lb), _hashable(options.ub))
        B = _check_shapes(c.shape, *bounds, A.shape, b.shape, A_eq.shape, b_eq.shape)
        shapes = (
            jax.ShapeDtypeStruct(c.shape, c.dtype),
            jax.ShapeDtypeStruct((B,), jnp.int32),
            jax.ShapeDtypeStruct((B,), c.dtype),
        )
        return jax.pure_callback(host_solve, shapes, c, A, b, A_eq, b_eq, vmap_method="sequential")

    @jax.custom_vjp
    def ilp(c, A, b, A_eq, b_eq):
        return forward(c, A, b, A_eq, b_eq)

    def ilp_fwd(c, A, b, A_eq, b_eq):
        y, status, objective = forward(c, A, b, A_eq, b_eq)
        return (y, status, objective), (y, A, b, A_eq, b_eq, status)

    def ilp_bwd(residuals, cotangents):
        *inputs, status = residuals
        dy = cotangents[0]
        shapes = tuple(jax.ShapeDtypeStruct(x.shape, x.dtype) for x in inputs)
        return jax.pure_callback(host_grad, shapes, dy, *inputs, status, vmap_method="sequential")

    ilp.defvjp(ilp_fwd, ilp_bwd)
    return ilp


class ILPLayer:
    """``y = argmin c.y  s.t.  A y <= b,  A_eq y == b_eq,  lb <= y <= ub,  y integer``,
    differentiable in c, A, b (and A_eq, b_eq).

    The JAX twin of ``combopt_torch.ILPLayer``: same arguments, same shapes, same gradients.
    The forward pass runs an unmodified ILP solver on the host CPU; the backward pass is the
    CombOptNet gradient rule (``combopt_core.gradient``). Calls compose with ``jax.grad``,
    ``jax.jit`` and ``jax.vmap`` (under ``vmap`` the host solves one mapped slice at a time).

    Args: as ``combopt_core.layer.LayerOptions.build`` (``lb, ub, solver, tau, workers,
    time_limit, verify, solver_options, on_error, executor, cache, pool, backward, memory,
    skip, enumeration``); a ``memory`` keys samples by their exact cost vectors here.

    Call: ``c (B, n)`` or ``(n,)``; ``A (B, m, n)`` or shared ``(m, n)``; ``b (B, m)`` or
    shared ``(m,)``; optional equality rows ``A_eq (B, m_eq, n)`` or shared ``(m_eq, n)``
    and ``b_eq`` likewise (both or neither). Returns ``y`` shaped like ``c`` in ``c``'s floating dtype (integer
    inputs are promoted to JAX's default float), or ``(y, ILPInfo)`` with
    ``return_info=True``. An infeasible instance does not raise: it is flagged in
    ``ILPInfo.infeasible`` and still gets the gradient that pushes violated constraints out.
    Gradients are float64 on the host, returned in each input's dtype (float32 unless
    ``jax_enable_x64`` is on).
    """

    def __init__(
        self,
        lb: Any = 0.0,
        ub: Any = 1.0,
        solver: str | ILPSolver | None = None,
        tau: float = 0.5,
        workers: int | None = None,
        time_limit: float | None = None,
        verify: bool = True,
        solver_options: dict[str, Any] | None = None,
        on_error: str = "flag",
        executor: Executor | str | None = None,
        cache: SolutionCache | None = None,
        pool: SolutionPool | None = None,
        backward: str | None = None,
        memory: SolutionMemory | None = None,
        skip: bool = True,
        enumeration: str = "auto",
    ) -> None:
        self.options, _ = LayerOptions.build(
            lb, ub, solver, tau, workers, time_limit, verify, solver_options, on_error,
            executor, cache, pool, backward, memory, skip, enumeration,
        )
        self._ilp = _build(self.options)

    @property
    def solver(self) -> ILPSolver:
        return self.options.solver

    def __call__(
        self,
        c: Any,
        A: Any,
        b: Any,
        return_info: bool = False,
        A_eq: Any = None,
        b_eq: Any = None,
    ):
        c = jnp.asarray(c)
        dtype = _float_dtype(c)
        c, A, b = c.astype(dtype), jnp.asarray(A, dtype=dtype), jnp.asarray(b, dtype=dtype)
        if (A_eq is None) != (b_eq is None):
            given, missing = ("A_eq", "b_eq") if b_eq is None else ("b_eq", "A_eq")
            raise ProblemValidationError(
                f"{missing}: equality rows need both A_eq and b_eq; only {given} was given"
            )
        if A_eq is None:  # no equality rows, in A's layout (so that it stays as it is)
            layout = A.shape[:-2] if A.ndim >= 2 else ()
            A_eq = jnp.zeros((*layout, 0, c.shape[-1]), dtype)
            b_eq = jnp.zeros((*layout, 0), dtype)
        A_eq, b_eq = jnp.asarray(A_eq, dtype=dtype), jnp.asarray(b_eq, dtype=dtype)
        if not any(isinstance(x, jax.core.Tracer) for x in (c, A, b, A_eq, b_eq)):
            # Eager call: raise the core's ProblemValidationError (NaN, inf) as is, rather
            # than wrapped in a callback error. Under jit the callback reports it.
            o = self.options
            rows = [np.asarray(x) for x in (A, b, A_eq, b_eq)]
            make_problem(np.asarray(c), rows[0], rows[1], o.lb, o.ub, *rows[2:])
        y, status, objective = self._ilp(c, A, b, A_eq, b_eq)
        if not return_info:
            return y
        return y, ILPInfo(status, status == int(Status.INFEASIBLE), objective)

    def __repr__(self) -> str:
        o = self.options
        return f"ILPLayer(solver={o.solver.name!r}, tau={o.tau}, workers={o.workers})"
