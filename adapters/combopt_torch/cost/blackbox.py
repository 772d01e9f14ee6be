"""Blackbox differentiation (Vlastelica et al., ICLR 2020) of ``y(c)`` for fixed constraints."""

from __future__ import annotations

from typing import Any

import torch

from combopt_core.cost_rules import blackbox_costs, blackbox_gradient, check_positive
from combopt_core.layer import LayerOptions

from ..function import to_numpy
from .base import CostRule, check_fixed, cost_gradient, host_problem, like, solve_costs, tensor_info


class BlackboxFunction(torch.autograd.Function):
    """``(c, A, b) -> y(c)``; backward solves again at ``c + lambda_ dy`` (see ``BlackboxILP``)."""

    @staticmethod
    def forward(ctx, c, A, b, options: LayerOptions, lambda_: float):
        problem = host_problem(options, c, A, b)
        result = solve_costs(options, problem, problem.c)
        ctx.save = (options, lambda_, problem, result.y, result.has_solution, tensor_info(c))
        return like(result.y, c)

    @staticmethod
    def backward(ctx, dy):
        options, lambda_, problem, y, usable, c_info = ctx.save
        dy = to_numpy("dy", dy).reshape(y.shape)
        shifted = solve_costs(options, problem, blackbox_costs(problem.c, dy, lambda_))
        dc = blackbox_gradient(y, shifted.y, lambda_)
        return cost_gradient(dc, usable & shifted.has_solution, c_info), None, None, None, None


class BlackboxILP(CostRule):
    """``y = argmin c.y s.t. A y <= b, lb <= y <= ub, y integer``; blackbox gradient in ``c``.

    Forward: ``y(c)``. Backward, for the incoming ``dy = dL/dy``: one more batch solve at
    ``c' = c + lambda_ dy`` and ``dc = (y(c') - y(c)) / lambda_`` (the paper's
    ``-(y - y_lambda) / lambda``), the gradient of the piecewise-linear interpolation
    ``(min_y c'.y - min_y c.y) / lambda_`` of ``L(y(c))`` (Vlastelica et al., ICLR 2020). Small
    ``lambda_`` keeps the interpolation close to ``L`` (and often gives zero gradients), large
    ``lambda_`` makes it informative but coarse; its scale is that of ``c``. ``A`` and ``b``
    are fixed: they must not require gradients.

    Args:
        lambda_: the interpolation strength, a finite number > 0.
        lb, ub, solver, **layer_options: as for ``CostRule`` (and ``ILPLayer``).

    Forward: ``c (B, n)`` or ``(n,)``; ``A (B, m, n)`` or shared ``(m, n)``; ``b (B, m)`` or
    shared ``(m,)``. Returns ``y`` shaped like ``c``.
    """

    def __init__(self, lambda_: float, lb: Any = 0.0, ub: Any = 1.0, solver=None, **layer_options):
        super().__init__(lb, ub, solver, **layer_options)
        self.lambda_ = check_positive("lambda_", lambda_)

    def forward(self, c: torch.Tensor, A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        check_fixed(A, b)
        return BlackboxFunction.apply(c, A, b, self.options, self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={self.lambda_:g}, " + super().extra_repr()
