"""The autograd Function: forward runs a real ILP solver, backward the paper's rule."""

from __future__ import annotations

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from combopt_core import ProblemValidationError
from combopt_core.layer import LayerOptions, input_gradient


def to_numpy(name: str, t: torch.Tensor) -> np.ndarray:
    """A float64 CPU copy of ``t`` (any device, real dtype, strided memory layout), never a view.

    Integer, boolean and half/bfloat16 tensors are widened exactly; non-contiguous ones are
    copied. Complex and sparse tensors are rejected with an error naming ``name``.
    """
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if t.layout != torch.strided:
        raise ProblemValidationError(
            f"{name}: {t.layout} tensors are not supported; pass {name}.to_dense()"
        )
    if t.is_complex():
        raise ProblemValidationError(f"{name}: complex dtype {t.dtype} is not supported")
    # copy=True: the problem kept for backward must not alias a tensor changed in place.
    return t.detach().to(device="cpu", dtype=torch.float64, copy=True).contiguous().numpy()


def output_dtype(c: torch.Tensor, reach: float = 1.0) -> torch.dtype:
    """``y`` takes ``c``'s floating dtype (else torch's default one) when that dtype holds
    every integer up to ``reach = max |lb|, |ub|`` exactly; otherwise the first of float32
    and float64 that does (bfloat16 holds integers up to 256, float16 up to 2,048, float32
    up to 2^24), so that ``y`` is never rounded."""
    dtype = c.dtype if c.is_floating_point() else torch.get_default_dtype()
    for candidate in (dtype, torch.float32, torch.float64):
        if reach <= 2.0 / torch.finfo(candidate).eps:  # every integer up to 2 / eps is exact
            return candidate
    return torch.float64


class ILPFunction(torch.autograd.Function):
    """``(c, A, b[, A_eq, b_eq]) -> (y, status, objective, proof)`` for
    ``min c.y s.t. A y <= b, A_eq y == b_eq, box``.

    Shapes: ``c (B, n)`` or ``(n,)``; ``A (B, m, n)`` or shared ``(m, n)``; ``b (B, m)`` or
    shared ``(m,)``; optional ``A_eq (B, m_eq, n)`` or shared ``(m_eq, n)`` and ``b_eq``
    likewise (both or neither). ``y`` has ``c``'s shape, device and floating dtype.
    ``status`` holds ``combopt_core.Status`` codes and ``proof`` ``combopt_core.Proof``
    codes (neither differentiable); ``ids`` and ``start`` go to ``LayerOptions.solve``.
    Gradients come back in each input's shape and dtype, and only for inputs that require
    them.
    """

    @staticmethod
    def forward(ctx, c, A, b, options: LayerOptions, ids=None, start=None, A_eq=None, b_eq=None):
        if isinstance(start, torch.Tensor):
            start = to_numpy("start", start)
        equalities = [None if t is None else to_numpy(name, t) for name, t in _eq(A_eq, b_eq)]
        problem, result = options.solve(
            to_numpy("c", c), to_numpy("A", A), to_numpy("b", b), ids, start, *equalities
        )
        ctx.problem = problem
        ctx.y = result.y
        ctx.failed = result.failed
        ctx.options = options
        ctx.inputs = [
            None if t is None else (t.shape, t.dtype, t.device) for t in (c, A, b, A_eq, b_eq)
        ]
        reach = float(np.max(np.maximum(np.abs(problem.lb), np.abs(problem.ub))))
        dtype = output_dtype(c, reach)
        y = torch.from_numpy(result.y).to(device=c.device, dtype=dtype).reshape(c.shape)
        status = torch.from_numpy(result.status.astype(np.int64)).to(c.device)
        objective = torch.from_numpy(result.objective).to(device=c.device, dtype=dtype)
        proof = torch.from_numpy(result.proof.astype(np.int64)).to(c.device)
        ctx.mark_non_differentiable(status, objective, proof)
        return y, status, objective, proof

    @staticmethod
    @once_differentiable  # the rule has no second derivative: double backward raises
    def backward(ctx, dy, _dstatus, _dobjective, _dproof):
        c_req, A_req, b_req, _, _, _, Aeq_req, beq_req = ctx.needs_input_grad
        needed = (c_req, A_req, b_req, Aeq_req, beq_req)
        if not any(needed):
            return (None,) * 8
        dy = to_numpy("dy", dy).reshape(ctx.y.shape)
        g = ctx.options.gradients(ctx.problem, ctx.y, dy, ctx.failed)

        grads = []
        for value, need, spec in zip((g.dc, g.dA, g.db, g.dA_eq, g.db_eq), needed, ctx.inputs):
            if not need:
                grads.append(None)
                continue
            shape, dtype, device = spec
            value = np.ascontiguousarray(input_gradient(value, tuple(shape)))
            grads.append(torch.from_numpy(value).to(device=device, dtype=dtype))
        c_grad, A_grad, b_grad, A_eq_grad, b_eq_grad = grads
        return c_grad, A_grad, b_grad, None, None, None, A_eq_grad, b_eq_grad


def _eq(A_eq, b_eq) -> list[tuple[str, torch.Tensor | None]]:
    """The equality inputs by name; one without the other is an error naming the missing one."""
    if (A_eq is None) != (b_eq is None):
        given, missing = ("A_eq", "b_eq") if b_eq is None else ("b_eq", "A_eq")
        raise ProblemValidationError(
            f"{missing}: equality rows need both A_eq and b_eq; only {given} was given"
        )
    return [("A_eq", A_eq), ("b_eq", b_eq)]
