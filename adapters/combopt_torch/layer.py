"""``ILPLayer``: the CombOptNet layer as an ``nn.Module``."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import torch
from torch import nn

from combopt_core import (
    Executor,
    ILPSolver,
    SolutionCache,
    SolutionMemory,
    SolutionPool,
    Status,
    get_solver,
)
from combopt_core.layer import LayerOptions

from .function import ILPFunction


class ILPInfo(NamedTuple):
    """Per-instance facts of the last forward pass, on the input's device.

    ``status``: ``combopt_core.Status`` codes ``(B,)``; ``infeasible``: no feasible point
    exists (``y`` is then the fallback point, the box point nearest 0); ``objective``:
    ``c.y`` (``nan`` without a solution); ``has_solution``: ``y`` came from the solver (an
    optimum, or the incumbent of a time-out) rather than being the fallback point;
    ``proof``: ``combopt_core.Proof`` codes, what proves each answer (the backend's search,
    or an exact skip: enumeration, an unchanged instance, the box minimum).
    """

    status: torch.Tensor
    infeasible: torch.Tensor
    objective: torch.Tensor
    has_solution: torch.Tensor
    proof: torch.Tensor | None = None


class SolverByName:
    """Pickling and ``copy.deepcopy`` for modules whose ``options`` (``LayerOptions``) hold a
    solver chosen by name (``_solver_recipe``, from ``LayerOptions.build``): the copy builds
    a fresh solver of the same backend, since solver objects hold thread-locals and
    licences. A solver passed as an object has to pickle itself. Put it before
    ``nn.Module`` in the bases."""

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._solver_recipe is not None:
            state["options"] = dataclasses.replace(self.options, solver=None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        if self.options.solver is None:
            name, options = self._solver_recipe
            self.options = dataclasses.replace(self.options, solver=get_solver(name, **options))


class ILPLayer(SolverByName, nn.Module):
    """``y = argmin c.y  s.t.  A y <= b,  A_eq y == b_eq,  lb <= y <= ub,  y integer``,
    differentiable in c, A, b (and A_eq, b_eq).

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
        on_error: a backend failure on one instance either is ``"flag"``-ged (the default:
            ``Status.ERROR``, fallback point, zero gradient for that instance and a
            ``RuntimeWarning``, so one failure does not end a training run) or ``"raise"``-s
            a ``SolverError`` naming the instance.
        executor, cache, pool: passed to ``combopt_core.solve_batch``: where instances are
            solved (default: what the backend declares), an opt-in ``SolutionCache`` of
            exact answers, an opt-in ``SolutionPool`` that solves only a fraction.
        backward: the backward's implementation: ``"auto"`` (the compiled kernel for large
            batches when numba is installed), ``"numpy"`` or ``"numba"``; ``None`` (default):
            ``$COMBOPT_BACKWARD``, else ``"auto"``.
        memory: an opt-in ``SolutionMemory``: a sample whose instance is unchanged gets its
            remembered answer without a solve, otherwise its last point as a warm start.
            Pass the samples' ``ids`` to ``forward`` (else samples are keyed by their costs).
        skip: answer instances whose box minimiser satisfies ``A y <= b`` without a solve.
        enumeration: ``"auto"`` (default) answers a batch that shares ``A, b`` on a small box
            (at most 2^20 integer points, e.g. 16 binary variables) by one enumeration of
            its feasible set; ``"always"``; ``"never"`` (every instance to the backend).
            Skips are exact: each answer's proof is in ``ILPInfo.proof``; on ties a skip
            may pick another optimal point than the backend would.

    Forward: ``c (B, n)`` or ``(n,)``; ``A (B, m, n)`` or shared ``(m, n)``; ``b (B, m)`` or
    shared ``(m,)``; optional equality rows ``A_eq (B, m_eq, n)`` or shared ``(m_eq, n)``
    and ``b_eq`` likewise (gradients by the rule on both ``<=`` halves of each row, see
    ``combopt_core.gradient``; a shared one beside a per-instance one gets its gradient
    summed over the batch); optional ``ids`` (one hashable per instance, for ``memory``) and
    ``start`` (warm starts ``(B, n)``, e.g. the labels; used only where feasible). Returns
    ``y`` shaped like ``c``, or ``(y, ILPInfo)`` with ``return_info=True``. An infeasible instance does not raise: it is flagged in
    ``ILPInfo.infeasible`` and still gets the gradient that pushes violated constraints out.
    A time-out keeps the incumbent (flagged ``Status.TIME_LIMIT``) or, without one, is
    treated like an infeasible instance (``has_solution`` false).

    Pickling and ``copy.deepcopy`` (``DataLoader`` workers, ``torch.multiprocessing``) work
    when the solver was chosen by name: the copy builds a fresh solver of the same backend.
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
        super().__init__()
        # _solver_recipe: how to rebuild a solver chosen by name in another process; None
        # when the caller passed a solver object (which then has to pickle itself).
        self.options, self._solver_recipe = LayerOptions.build(
            lb,
            ub,
            solver,
            tau,
            workers,
            time_limit,
            verify,
            solver_options,
            on_error,
            executor,
            cache,
            pool,
            backward,
            memory,
            skip,
            enumeration,
        )

    @property
    def solver(self) -> ILPSolver:
        return self.options.solver

    def forward(
        self,
        c: torch.Tensor,
        A: torch.Tensor,
        b: torch.Tensor,
        return_info: bool = False,
        ids: Any = None,
        start: torch.Tensor | None = None,
        A_eq: torch.Tensor | None = None,
        b_eq: torch.Tensor | None = None,
    ):
        y, status, objective, proof = ILPFunction.apply(
            c, A, b, self.options, ids, start, A_eq, b_eq
        )
        if not return_info:
            return y
        infeasible = status == int(Status.INFEASIBLE)
        return y, ILPInfo(status, infeasible, objective, ~torch.isnan(objective), proof)

    def extra_repr(self) -> str:
        o = self.options
        return f"solver={o.solver.name!r}, tau={o.tau}, workers={o.workers}"
