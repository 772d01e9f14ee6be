"""``ILPLayer``: the CombOptNet layer as an ``nn.Module``."""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from combopt_core import ILPSolver, Status, get_solver

from .function import ILPFunction, SolveOptions


class ILPInfo(NamedTuple):
    """Per-instance facts of the last forward pass, on the input's device.

    ``status``: ``combopt_core.Status`` codes ``(B,)``; ``infeasible``: no feasible point
    exists (``y`` is then the fallback point, the box point nearest 0); ``objective``:
    ``c.y`` (``nan`` without a solution).
    """

    status: torch.Tensor
    infeasible: torch.Tensor
    objective: torch.Tensor


class ILPLayer(nn.Module):
    """``y = argmin c.y  s.t.  A y <= b,  lb <= y <= ub,  y integer``, differentiable in c, A, b.

    The forward pass runs an unmodified ILP solver on the CPU; the backward pass is the
    CombOptNet gradient rule (``combopt_core.gradient``).

    Args:
        lb, ub: the box, scalars or ``(n,)`` sequences; finite.
        solver: a backend name or an ``ILPSolver``; ``None`` picks ``$COMBOPT_SOLVER``,
            else HiGHS.
        tau: soft-minimum temperature of the constraint gradient (0.5 in the paper; 0 = hard).
        workers: parallel solves per batch (default: the machine's cores).
        time_limit: seconds per instance, ``None`` for none.
        verify: check every solver answer against the float problem.
        solver_options: keyword options for the backend when ``solver`` is a name.

    Forward: ``c (B, n)`` or ``(n,)``; ``A (B, m, n)`` or shared ``(m, n)``; ``b (B, m)`` or
    shared ``(m,)``. Returns ``y`` shaped like ``c``, or ``(y, ILPInfo)`` with
    ``return_info=True``. An infeasible instance does not raise: it is flagged in
    ``ILPInfo.infeasible`` and still gets the gradient that pushes violated constraints out.
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
    ) -> None:
        super().__init__()
        if tau < 0:
            raise ValueError(f"tau: must be >= 0, got {tau}")
        if not hasattr(solver, "solve"):
            solver = get_solver(solver, **(solver_options or {}))
        self.options = SolveOptions(
            solver=solver,
            lb=lb,
            ub=ub,
            tau=float(tau),
            workers=workers,
            time_limit=time_limit,
            verify=verify,
        )

    @property
    def solver(self) -> ILPSolver:
        return self.options.solver

    def forward(
        self, c: torch.Tensor, A: torch.Tensor, b: torch.Tensor, return_info: bool = False
    ):
        y, status, objective = ILPFunction.apply(c, A, b, self.options)
        if not return_info:
            return y
        return y, ILPInfo(status, status == int(Status.INFEASIBLE), objective)

    def extra_repr(self) -> str:
        o = self.options
        return f"solver={o.solver.name!r}, tau={o.tau}, workers={o.workers}"
