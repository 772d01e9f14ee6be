"""What every framework adapter's ILP layer needs from the core, in one place.

``LayerOptions.build`` validates what a layer fixes at construction (solver, box,
temperature, parallelism, failure policy); ``solve`` runs the forward pass on numpy arrays
and ``gradients`` the backward pass, so that the PyTorch and JAX layers differ only in how
they move tensors to and from the host.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .batch import solve_batch
from .cache import SolutionCache, SolutionPool
from .enumeration import check_enumeration
from .executors import Executor, check_workers
from .failures import check_on_error
from .gradient import Gradients, check_implementation, combopt_gradients
from .memory import SolutionMemory
from .registry import default_registry, get_solver
from .result import BatchSolution
from .solver import ILPSolver
from .spec import ILPProblem, check_time_limit, make_problem

#: How to rebuild a solver chosen by name in another process: (backend name, options).
SolverRecipe = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class LayerOptions:
    """Everything a layer fixes at construction. See ``build`` for the meaning of each."""

    solver: ILPSolver
    lb: Any
    ub: Any
    tau: float = 0.5
    workers: int | None = None
    time_limit: float | None = None
    verify: bool = True
    on_error: str = "flag"
    executor: Executor | str | None = None
    cache: SolutionCache | None = None
    pool: SolutionPool | None = None
    backward: str | None = None
    memory: SolutionMemory | None = None
    skip: bool = True
    enumeration: str = "auto"

    @classmethod
    def build(
        cls,
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
    ) -> tuple["LayerOptions", SolverRecipe | None]:
        """Validated options, and the recipe of a solver chosen by name (else ``None``).

        Args:
            lb, ub: the box, scalars or ``(n,)`` sequences; finite.
            solver: a backend name or an ``ILPSolver``; ``None`` picks ``$COMBOPT_SOLVER``,
                else HiGHS.
            tau: soft-minimum temperature of the constraint gradient (0.5 in the paper).
            workers: parallel solves per batch (default: the machine's cores).
            time_limit: seconds per instance, ``None`` for none.
            verify: check every solver answer against the float problem.
            solver_options: keyword options for the backend when ``solver`` is a name.
            on_error: ``"flag"`` a failing instance (fallback point, zero gradient,
                a warning) or ``"raise"`` a ``SolverError`` naming it.
            executor, cache, pool: passed to ``solve_batch``.
            backward: the backward's implementation, ``"auto"``, ``"numpy"`` or ``"numba"``
                (see ``combopt_gradients``); ``None``: ``$COMBOPT_BACKWARD``, else ``"auto"``.
            memory: an opt-in ``SolutionMemory`` (answers of unchanged samples, warm starts
                from each sample's last answer; pass ``ids`` to the forward call).
            skip: answer instances whose box minimiser is feasible without a solve.
            enumeration: ``"auto"`` (default) answers a shared ``A, b`` on a small box by
                one enumeration of its feasible set, ``"always"``, or ``"never"``. Every
                skip is exact and carries its proof (``combopt_core.Proof``); on ties a
                skip may pick another optimal point than the backend would.
        """
        if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau >= 0):
            raise ValueError(f"tau: must be a finite number >= 0, got {tau!r}")
        check_on_error(on_error)
        check_implementation(backward, "backward")
        check_enumeration(enumeration)
        if memory is not None and not isinstance(memory, SolutionMemory):
            raise TypeError(f"memory: expected a SolutionMemory, got {type(memory).__name__}")
        if workers is not None:
            check_workers(workers)
        recipe = None
        if not hasattr(solver, "solve"):
            recipe = (default_registry().resolve_name(solver), dict(solver_options or {}))
            solver = get_solver(solver, **recipe[1])  # checks the name, then resolves it
        elif solver_options:
            raise ValueError("solver_options: only used when solver is a backend name")
        options = cls(
            solver=solver,
            lb=lb,
            ub=ub,
            tau=float(tau),
            workers=workers,
            time_limit=check_time_limit(time_limit),
            verify=verify,
            on_error=on_error,
            executor=executor,
            cache=cache,
            pool=pool,
            backward=backward,
            memory=memory,
            skip=bool(skip),
            enumeration=enumeration,
        )
        return options, recipe

    def solve(
        self,
        c: Any,
        A: Any,
        b: Any,
        ids: Any = None,
        start: Any = None,
        A_eq: Any = None,
        b_eq: Any = None,
    ) -> tuple[ILPProblem, BatchSolution]:
        """The forward pass on host arrays: the validated problem and its solutions.

        ``ids`` (one per instance, for ``memory``) and ``start`` (warm starts ``(B, n)``)
        are passed to ``solve_batch``; ``A_eq``, ``b_eq`` are optional equality rows.
        """
        problem = make_problem(c, A, b, self.lb, self.ub, A_eq, b_eq)
        result = solve_batch(
            self.solver,
            problem,
            workers=self.workers,
            time_limit=self.time_limit,
            verify=self.verify,
            on_error=self.on_error,
            executor=self.executor,
            cache=self.cache,
            pool=self.pool,
            memory=self.memory,
            ids=ids,
            start=start,
            skip=self.skip,
            enumeration=self.enumeration,
        )
        return problem, result

    def gradients(
        self, problem: ILPProblem, y: np.ndarray, dy: np.ndarray, failed: np.ndarray
    ) -> Gradients:
        """The backward pass: ``(dc, dA, db, dA_eq, db_eq)`` in float64, in the problem's
        layout (see ``input_gradient`` for the caller's); failed instances give none."""
        dy = np.where(failed[:, None], 0.0, dy)  # a failed solve says nothing about A, b, c
        equalities = {}
        if problem.num_equalities:
            equalities = {"A_eq": problem.A_eq, "b_eq": problem.b_eq}
        g = combopt_gradients(
            dy,
            y,
            problem.A,
            problem.b,
            problem.lb,
            problem.ub,
            tau=self.tau,
            implementation=self.backward,
            **equalities,
        )
        if equalities:
            return g
        return dataclasses.replace(
            g, dA_eq=np.zeros_like(problem.A_eq), db_eq=np.zeros_like(problem.b_eq)
        )


def input_gradient(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A gradient in the problem's layout, in the layout of the input of ``shape``.

    A shared input beside a per-instance one (``A (m, n)`` with ``A_eq (B, m_eq, n)``, or
    the other way round) was repeated over the batch, so its gradient is summed back over
    it; otherwise this is a reshape (e.g. ``c (n,)`` for a batch of one).
    """
    if value.ndim == len(shape) + 1:
        value = value.sum(axis=0)
    return value.reshape(shape)
