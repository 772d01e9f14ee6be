"""The SPO+ loss (Elmachtoub & Grigas, Management Science 2022) for fixed constraints."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from combopt_core.cost_rules import spo_plus_costs, spo_plus_gradient, spo_plus_loss
from combopt_core.layer import LayerOptions

from ..function import to_numpy
from .base import (
    CostRule,
    check_fixed,
    check_reduction,
    host_problem,
    like,
    loss_backward,
    reduce,
    solve_costs,
    tensor_info,
)


class SPOPlusFunction(torch.autograd.Function):
    """``(c_hat, c_true, y_true, A, b) -> (B,)`` SPO+ losses; backward ``2 (y_true - y_spo)``."""

    @staticmethod
    def forward(ctx, c_hat, c_true, y_true, A, b, options: LayerOptions):
        if c_true.shape != c_hat.shape:
            raise ValueError(
                f"c_true: expected the shape of c_hat {tuple(c_hat.shape)}, "
                f"got {tuple(c_true.shape)}"
            )
        problem = host_problem(options, c_hat, A, b, name="c_hat")
        truth = host_problem(options, c_true, A, b, name="c_true")
        if y_true is None:  # one more batch solve, at the true costs
            solved = solve_costs(options, truth, truth.c)
            target, usable = solved.y, solved.has_solution
        else:
            target = to_numpy("y_true", y_true)
            if target.size != problem.c.size:
                raise ValueError(
                    f"y_true: expected the shape of c_hat {tuple(c_hat.shape)}, "
                    f"got {tuple(y_true.shape)}"
                )
            target = target.reshape(problem.c.shape)
            usable = np.ones(problem.batch_size, dtype=bool)
        spo = solve_costs(options, problem, spo_plus_costs(problem.c, truth.c))
        usable = usable & spo.has_solution
        losses = np.where(usable, spo_plus_loss(problem.c, truth.c, target, spo.y), 0.0)
        ctx.save = (spo_plus_gradient(target, spo.y), usable)
        ctx.c_info = tensor_info(c_hat)
        return like(losses, c_hat, (problem.batch_size,))

    backward = staticmethod(loss_backward)


class SPOPlusLoss(CostRule):
    """SPO+: a convex surrogate of the regret of deciding with predicted costs ``c_hat``.

    Per instance, in the MIN convention with ``y*(c)`` an optimum and ``z*(c) = c.y*(c)``,
    ``L(c_hat; c_true) = -min_y (2 c_hat - c_true).y + 2 c_hat.y*(c_true) - z*(c_true)``,
    which is >= 0, 0 at ``c_hat = c_true``, and bounds the regret
    ``c_true.y*(c_hat) - z*(c_true)`` from above. Its subgradient in ``c_hat`` is
    ``2 (y*(c_true) - y*(2 c_hat - c_true))``. One batch solve per forward (at
    ``2 c_hat - c_true``), plus one at ``c_true`` when ``y_true`` is not given. ``A`` and
    ``b`` are fixed: they must not require gradients.

    Args:
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the ``(B,)`` losses).
        lb, ub, solver, **layer_options: as for ``CostRule`` (and ``ILPLayer``).

    Forward: ``c_hat (B, n)`` or ``(n,)``; ``c_true`` (required) and, optionally, an optimum
    ``y_true`` for it, both of ``c_hat``'s shape; ``A``, ``b`` per instance or shared.
    Gradients flow to ``c_hat`` only.
    """

    def __init__(
        self, lb: Any = 0.0, ub: Any = 1.0, solver=None, reduction: str = "mean", **layer_options
    ) -> None:
        super().__init__(lb, ub, solver, **layer_options)
        self.reduction = check_reduction(reduction)

    def forward(
        self,
        c_hat: torch.Tensor,
        c_true: torch.Tensor | None,
        A: torch.Tensor,
        b: torch.Tensor,
        y_true: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if c_true is None:
            raise ValueError("c_true: SPO+ needs the true cost vector of every instance")
        check_fixed(A, b)
        losses = SPOPlusFunction.apply(c_hat, c_true, y_true, A, b, self.options)
        return reduce(losses, self.reduction)
