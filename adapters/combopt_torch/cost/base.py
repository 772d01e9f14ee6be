"""What every cost rule shares: the layer options, host copies of the ILP, output tensors.

A cost rule learns ``c`` of ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` for given
constraints: ``A`` and ``b`` must not require gradients (``ILPLayer`` learns them). Every
solve goes through ``LayerOptions.solve`` (the backend registry, batch solving, executors,
caches, model reuse, the failure policy) exactly as ``ILPLayer``'s does. An instance whose
solve gave no solution (infeasible, failed, timed out without an incumbent) gets a zero
gradient and, in a loss, a zero loss.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from torch import nn

from combopt_core import Executor, ILPSolver, SolutionCache, SolutionPool
from combopt_core.layer import LayerOptions
from combopt_core.result import BatchSolution
from combopt_core.spec import ILPProblem, make_problem

from ..function import output_dtype, to_numpy
from ..layer import SolverByName

REDUCTIONS = ("mean", "sum", "none")


class CostRule(SolverByName, nn.Module):
    """Base of the cost-rule modules: the solver and its options, as ``ILPLayer`` takes them.

    Args:
        lb, ub: the box, scalars or ``(n,)`` sequences; finite.
        solver: a backend name or an ``ILPSolver``; ``None`` picks ``$COMBOPT_SOLVER``,
            else HiGHS.
        workers, time_limit, verify, solver_options, on_error, executor, cache, pool: as
            for ``ILPLayer``.
    """

    def __init__(
        self,
        lb: Any = 0.0,
        ub: Any = 1.0,
        solver: str | ILPSolver | None = None,
        workers: int | None = None,
        time_limit: float | None = None,
        verify: bool = True,
        solver_options: dict[str, Any] | None = None,
        on_error: str = "flag",
        executor: Executor | str | None = None,
        cache: SolutionCache | None = None,
        pool: SolutionPool | None = None,
    ) -> None:
        super().__init__()
        self.options, self._solver_recipe = LayerOptions.build(
            lb, ub, solver, workers=workers, time_limit=time_limit, verify=verify,
            solver_options=solver_options, on_error=on_error, executor=executor,
            cache=cache, pool=pool,
        )  # fmt: skip

    @property
    def solver(self) -> ILPSolver:
        return self.options.solver

    def extra_repr(self) -> str:
        return f"solver={self.options.solver.name!r}, workers={self.options.workers}"


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction: expected one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def reduce(losses: torch.Tensor, reduction: str) -> torch.Tensor:
    """Per-instance losses ``(B,)`` reduced as ``reduction`` says."""
    if reduction == "mean":
        return losses.mean()
    return losses.sum() if reduction == "sum" else losses


def check_fixed(A: torch.Tensor, b: torch.Tensor) -> None:
    """Refuse constraints that would silently get no gradient."""
    if not torch.is_grad_enabled():
        return
    for name, t in (("A", A), ("b", b)):
        if isinstance(t, torch.Tensor) and t.requires_grad:
            raise ValueError(
                f"{name}: cost rules learn c only, with fixed constraints; pass "
                f"{name}.detach(), or use ILPLayer to learn {name}"
            )


def host_problem(
    options: LayerOptions, c: torch.Tensor, A: torch.Tensor, b: torch.Tensor, name: str = "c"
) -> ILPProblem:
    """The validated problem ``(c, A, b)`` as float64 host arrays (``c (n,)`` -> ``(1, n)``)."""
    arrays = to_numpy(name, c), to_numpy("A", A), to_numpy("b", b)
    return make_problem(*arrays, options.lb, options.ub)


def solve_costs(options: LayerOptions, problem: ILPProblem, costs: np.ndarray) -> BatchSolution:
    """Solve ``problem``'s constraints with other costs: ``costs (B, n)`` or ``(S, B, n)``.

    ``S`` stacked cost batches are solved as one batch of ``S B`` instances (sample-major),
    per-instance constraints repeated ``S`` times; the answers keep the ``(S, B, ...)`` shape.
    """
    lead = costs.shape[:-1]
    flat = costs.reshape(-1, problem.num_vars)
    copies = flat.shape[0] // problem.batch_size
    A, b = problem.A, problem.b
    if not problem.shared:
        A, b = np.tile(A, (copies, 1, 1)), np.tile(b, (copies, 1))
    _, result = options.solve(flat, A, b)
    if len(lead) == 1:
        return result
    return dataclasses.replace(
        result,
        y=result.y.reshape(costs.shape),
        status=result.status.reshape(lead),
        has_solution=result.has_solution.reshape(lead),
        objective=result.objective.reshape(lead),
        solve_time=result.solve_time.reshape(lead),
    )


def like(values: np.ndarray, c: torch.Tensor, shape: Any = None) -> torch.Tensor:
    """``values`` on ``c``'s device, in ``c``'s floating dtype (widened where that dtype
    cannot hold them exactly, as ``output_dtype`` says), shaped ``shape`` (else ``c``'s)."""
    out = torch.from_numpy(np.ascontiguousarray(values))
    reach = float(np.abs(values).max(initial=1.0))
    out = out.to(device=c.device, dtype=output_dtype(c, reach))
    return out.reshape(c.shape if shape is None else shape)


def loss_backward(ctx, dloss: torch.Tensor) -> tuple:
    """``backward`` of a per-instance cost loss whose ``forward`` saved ``ctx.save = (grad
    (B, n), usable (B,))`` and ``ctx.c_info``: ``dloss_i * grad_i`` for ``c``, nothing for
    the other five inputs."""
    grad, usable = ctx.save
    dc = to_numpy("dloss", dloss)[:, None] * grad
    return cost_gradient(dc, usable, ctx.c_info), None, None, None, None, None


def cost_gradient(values: np.ndarray, usable: np.ndarray, c_info: tuple) -> torch.Tensor:
    """A gradient for ``c`` in ``c``'s shape, dtype and device; rows not ``usable`` are 0."""
    shape, dtype, device = c_info
    values = np.where(usable[:, None], values, 0.0)
    return torch.from_numpy(values).reshape(shape).to(device=device, dtype=dtype)


def tensor_info(t: torch.Tensor) -> tuple:
    return t.shape, t.dtype, t.device
