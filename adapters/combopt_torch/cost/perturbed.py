"""Perturbed argmin with Gaussian noise and its Fenchel-Young loss (Berthet et al., 2020).

For fixed constraints, ``y_sigma(c) = E[y(c + sigma Z)]`` with ``Z ~ N(0, I)`` and
``y(c) = argmin c.y s.t. A y <= b, lb <= y <= ub, y integer``, estimated by the mean over
``n_samples`` draws; all ``n_samples * B`` perturbed instances are solved as one batch. The
noise comes from ``generator`` (a ``torch.Generator``; ``None``: torch's global generator,
so ``torch.manual_seed`` makes runs repeatable), drawn in float64 on the CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from combopt_core.cost_rules import (
    check_n_samples,
    check_positive,
    fenchel_young_gradient,
    fenchel_young_loss,
    perturbed_costs,
    perturbed_vjp,
)
from combopt_core.layer import LayerOptions
from combopt_core.result import BatchSolution
from combopt_core.spec import ILPProblem

from ..function import to_numpy
from .base import (
    CostRule,
    check_fixed,
    check_reduction,
    cost_gradient,
    host_problem,
    like,
    loss_backward,
    reduce,
    solve_costs,
    tensor_info,
)


class Perturbation:
    """``sigma``, ``n_samples`` and the noise source of a perturbed optimizer."""

    def __init__(self, sigma: float, n_samples: int, generator: torch.Generator | None) -> None:
        self.sigma = check_positive("sigma", sigma)
        self.n_samples = check_n_samples(n_samples)
        if generator is not None and not isinstance(generator, torch.Generator):
            kind = type(generator).__name__
            raise TypeError(f"generator: expected a torch.Generator, got {kind}")
        self.generator = generator

    def sample(
        self, options: LayerOptions, problem: ILPProblem
    ) -> tuple[np.ndarray, BatchSolution]:
        """``(noise (S, B, n), solutions at c + sigma noise)``: one batch of ``S B`` solves."""
        shape = (self.n_samples, *problem.c.shape)
        noise = torch.randn(shape, generator=self.generator, dtype=torch.float64).numpy()
        return noise, solve_costs(options, problem, perturbed_costs(problem.c, noise, self.sigma))


class PerturbedFunction(torch.autograd.Function):
    """``(c, A, b) -> mean_s y(c + sigma Z_s)``; backward the Monte-Carlo Jacobian's VJP."""

    @staticmethod
    def forward(ctx, c, A, b, options: LayerOptions, perturbation: Perturbation):
        problem = host_problem(options, c, A, b)
        noise, result = perturbation.sample(options, problem)
        ctx.save = (result.y, noise, result.has_solution.all(axis=0), perturbation.sigma)
        ctx.c_info = tensor_info(c)
        return like(result.y.mean(axis=0), c)

    @staticmethod
    def backward(ctx, dy):
        y_samples, noise, usable, sigma = ctx.save
        dy = to_numpy("dy", dy).reshape(y_samples.shape[1:])
        dc = perturbed_vjp(y_samples, noise, dy, sigma)
        return cost_gradient(dc, usable, ctx.c_info), None, None, None, None


class PerturbedILP(CostRule):
    """The perturbed optimizer: ``y_sigma(c) = E[argmin (c + sigma Z).y]``, differentiable in ``c``.

    Forward: the mean of the ``n_samples`` solutions at ``c + sigma Z_s`` (a point of the
    convex hull, not an integer point). Backward: ``dc = mean_s (y_s . dy) Z_s / sigma``, the
    vector-Jacobian product of the Monte-Carlo Jacobian ``mean_s y_s Z_s^T / sigma`` on the
    forward's samples (the MIN-convention form of Berthet et al.'s estimate). ``A`` and ``b``
    are fixed: they must not require gradients. An instance with any sample without a
    solution gets a zero gradient.

    Args:
        sigma: the noise scale, a finite number > 0 (in the units of ``c``).
        n_samples: perturbations per instance and forward pass, an integer >= 1.
        generator: the noise source (``None``: torch's global generator).
        lb, ub, solver, **layer_options: as for ``CostRule`` (and ``ILPLayer``).

    Forward: ``c (B, n)`` or ``(n,)``; ``A``, ``b`` per instance or shared. Returns the
    expected solution shaped like ``c``.
    """

    def __init__(
        self,
        sigma: float,
        n_samples: int,
        lb: Any = 0.0,
        ub: Any = 1.0,
        solver=None,
        generator: torch.Generator | None = None,
        **layer_options,
    ) -> None:
        super().__init__(lb, ub, solver, **layer_options)
        self.perturbation = Perturbation(sigma, n_samples, generator)

    def forward(self, c: torch.Tensor, A: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        check_fixed(A, b)
        return PerturbedFunction.apply(c, A, b, self.options, self.perturbation)

    def extra_repr(self) -> str:
        p = self.perturbation
        return f"sigma={p.sigma:g}, n_samples={p.n_samples}, " + super().extra_repr()


class FenchelYoungFunction(torch.autograd.Function):
    """``(c, y_true, A, b) -> (B,)`` Fenchel-Young losses; backward ``y_true - mean_s y_s``."""

    @staticmethod
    def forward(ctx, c, y_true, A, b, options: LayerOptions, perturbation: Perturbation):
        problem = host_problem(options, c, A, b)
        target = to_numpy("y_true", y_true)
        if target.size != problem.c.size:
            raise ValueError(
                f"y_true: expected the shape of c {tuple(c.shape)}, got {tuple(y_true.shape)}"
            )
        target = target.reshape(problem.c.shape)
        noise, result = perturbation.sample(options, problem)
        costs = perturbed_costs(problem.c, noise, perturbation.sigma)
        objectives = np.einsum("sbn,sbn->sb", costs, result.y)
        usable = result.has_solution.all(axis=0)
        losses = np.where(usable, fenchel_young_loss(problem.c, target, objectives), 0.0)
        ctx.save = (fenchel_young_gradient(target, result.y), usable)
        ctx.c_info = tensor_info(c)
        return like(losses, c, (problem.batch_size,))

    backward = staticmethod(loss_backward)


class FenchelYoungLoss(CostRule):
    """The perturbed Fenchel-Young loss of costs ``c`` for target solutions ``y_true``.

    Per instance, ``L(c; y_true) = c.y_true - mean_s min_y (c + sigma Z_s).y`` over
    ``n_samples`` Gaussian draws (convex in ``c``, >= 0 in expectation, 0 only when
    ``y_true`` is optimal under every perturbation), with gradient
    ``y_true - mean_s y(c + sigma Z_s)``: gradient descent lowers the costs of the target's
    variables and raises those the perturbed optimizer picks instead. This is Berthet et
    al.'s loss in the MIN convention (their ``y_sigma - y_true`` with ``theta = -c``), up to
    a constant in ``c``. ``A`` and ``b`` are fixed: they must not require gradients.

    Args:
        sigma, n_samples, generator: as for ``PerturbedILP``.
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (the ``(B,)`` losses).
        lb, ub, solver, **layer_options: as for ``CostRule`` (and ``ILPLayer``).

    Forward: ``c (B, n)`` or ``(n,)``; ``y_true`` of ``c``'s shape; ``A``, ``b`` per instance
    or shared.
    """

    def __init__(
        self,
        sigma: float,
        n_samples: int,
        lb: Any = 0.0,
        ub: Any = 1.0,
        solver=None,
        generator: torch.Generator | None = None,
        reduction: str = "mean",
        **layer_options,
    ) -> None:
        super().__init__(lb, ub, solver, **layer_options)
        self.perturbation = Perturbation(sigma, n_samples, generator)
        self.reduction = check_reduction(reduction)

    def forward(
        self, c: torch.Tensor, y_true: torch.Tensor, A: torch.Tensor, b: torch.Tensor
    ) -> torch.Tensor:
        check_fixed(A, b)
        losses = FenchelYoungFunction.apply(c, y_true, A, b, self.options, self.perturbation)
        return reduce(losses, self.reduction)

    def extra_repr(self) -> str:
        p = self.perturbation
        return f"sigma={p.sigma:g}, n_samples={p.n_samples}, " + super().extra_repr()
