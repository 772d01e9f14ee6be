"""The identity / straight-through rule (Sahoo et al., ICLR 2023) for fixed constraints."""

from __future__ import annotations

import torch

from combopt_core.layer import LayerOptions

from ..function import to_numpy
from .base import CostRule, check_fixed, cost_gradient, host_problem, like, solve_costs, tensor_info


class IdentityFunction(torch.autograd.Function):
    """``(c, A, b) -> y(c)``; backward ``dc = -dy`` (see ``IdentityILP``)."""

    @staticmethod
    def forward(ctx, c, A, b, options: LayerOptions):
        problem = host_problem(options, c, A, b)
        result = solve_costs(options, problem, problem.c)
        ctx.save = (result.has_solution, result.y.shape, tensor_info(c))
        return like(result.y, c)

    @staticmethod
    def backward(ctx, dy):
        usable, shape, c_info = ctx.save
        dc = -to_numpy("dy", dy).reshape(shape)
        return cost_gradient(dc, usable, c_info), None, None, None


class IdentityILP(CostRule):
    """``y = argmin c.y s.t. A y <= b, lb <= y <= ub, y integer``; identity gradient in ``c``.

    Forward: ``y(c)``. Backward: the Jacobian ``dy/dc`` is replaced by ``-I``, so
    ``dc = -dy``. The minus sign is the MIN convention's: raising a variable's cost lowers
    it, so to raise ``y_i`` (``dy_i < 0``) gradient descent lowers ``c_i``. (In a MAX
    convention the same rule reads ``dc = +dy``, the straight-through estimator.) One solve
    per forward, none in backward. ``A`` and ``b`` are fixed: they must not require gradients.

    Args:
        lb, ub, solver, **layer_options: as for ``CostRule`` (and ``ILPLayer``).
    """

    def forward(self, c: torch.Tensor, A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        check_fixed(A, b)
        return IdentityFunction.apply(c, A, b, self.options)
