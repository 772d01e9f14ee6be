"""``GurobiSolver``: exact ILP solves on a per-thread Gurobi environment and model.

Equality rows ``A_eq y == b_eq`` are Gurobi ``EQUAL`` constraints.

Model reuse: each thread keeps its last model; when the next instance has the same ``A``,
``b``, bounds and equality rows (a shared constraint set, or learned constraints unchanged between calls),
only the objective coefficients are replaced (the ``Obj`` attribute) before re-optimising.
Gurobi may then start from the previous incumbent, which stays feasible because the
constraints did not change; the answer is still an exact optimum.

Warm starts: an instance's ``start`` (a feasible point the core has checked) is the MIP
start (the variables' ``Start`` attribute); without one the attribute is cleared.

Interrupts: ``interrupt()`` (Ctrl-C, see ``combopt_core.interrupts``) calls ``terminate()``
on every model solving now; the stopped solve raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import gurobipy as gp
import numpy as np
from gurobipy import GRB

from combopt_core import (
    BackendUnavailableError,
    ConstraintSet,
    ILPInstance,
    ILPProblem,
    Solution,
    Status,
)
from combopt_core.interrupts import RunningSolves

from .options import check_options

# Gurobi error codes (gurobipy.GRB.Error): size-limited licence exceeded, no licence at all.
SIZE_LIMIT_EXCEEDED = 10010
NO_LICENSE = 10009

_EXACT_PARAMS: dict[str, Any] = {
    "OutputFlag": 0,
    "Threads": 1,
    "MIPGap": 0.0,
    "MIPGapAbs": 0.0,
    # Tightest tolerances Gurobi accepts (defaults 1e-6 / 1e-5 can admit points that violate
    # a float row by ~1e-6 once rounded); combopt's feasibility rule is 1e-9.
    "FeasibilityTol": 1e-9,
    "IntFeasTol": 1e-9,
    # Speed, not exactness: on the small ILPs of constraint learning the primal heuristics
    # and cutting planes cost more than they prune (Random Constraints n = 16: 3-8x faster
    # with both off; n = 49 to 100: 1.5-3x; the same optima). The search still proves
    # optimality; pass {"Heuristics": 0.05, "Cuts": -1} to restore Gurobi's defaults.
    "Heuristics": 0.0,
    "Cuts": 0,
    # Leave SIGINT to Python. Gurobi otherwise installs its own handler around every
    # optimize(); from several threads at once the handlers were restored out of order,
    # after which Ctrl-C killed the process or was lost. combopt stops solves itself
    # (interrupt(): Model.terminate). A hidden parameter of libgurobi, set like any other.
    "GURO_PAR_NOSIGNALS": 1,
    # Presolve too (exact either way): on these models it costs more than it removes
    # (dense Random Constraints m = 8: 2.30 against 2.53 ms; keypoints p = 7 of
    # mid-training: 4.6 against 8.5 ms, random initial ones 1.9 against 2.7 s; 9x9 Sudoku
    # with its true rules: 7.5 against 16 ms). {"Presolve": -1} restores it.
    "Presolve": 0,
}


def start_env(options: dict[str, Any]) -> gp.Env:
    """A started, silent, single-threaded, exact Gurobi environment with ``options`` applied."""
    env = gp.Env(empty=True)
    for key, value in {**_EXACT_PARAMS, **options}.items():
        env.setParam(key, value)
    env.start()
    return env


@contextlib.contextmanager
def _licence_errors(instance: ILPInstance) -> Iterator[None]:
    """Turn Gurobi's licence errors (size limit, no licence) into ``BackendUnavailableError``."""
    try:
        yield
    except gp.GurobiError as exc:
        if exc.errno in (SIZE_LIMIT_EXCEEDED, NO_LICENSE):
            raise _licence_error(exc, instance) from exc
        raise


def _licence_error(exc: gp.GurobiError, instance: ILPInstance) -> BackendUnavailableError:
    if exc.errno == SIZE_LIMIT_EXCEEDED:
        return BackendUnavailableError(
            f"gurobi: model too large for Gurobi's size-limited licence (n={instance.num_vars} "
            f"variables, m={instance.num_constraints + instance.num_equalities} constraint "
            "rows; the pip wheel's licence allows at most 2000 of each); install a full "
            "Gurobi licence or use another "
            f"backend (GurobiError {exc.errno}: {exc})"
        )
    return BackendUnavailableError(f"gurobi: no usable Gurobi licence ({exc})")


@dataclass
class _Loaded:
    """A thread's Gurobi model, its variables, and the constraints it holds."""

    model: gp.Model
    x: gp.MVar
    constraints: ConstraintSet


def _terminate(model: gp.Model) -> None:
    """Stop ``model``'s running solve (looked up per call, not bound at import, so that a
    patched ``gurobipy.Model`` in tests or tools does not break every solver)."""
    model.terminate()


class GurobiSolver:
    """Exact single-threaded Gurobi MIP solves.

    Args:
        options: extra Gurobi parameters (name -> value) set on every environment, e.g.
            ``{"Seed": 1}``; they override the exactness defaults, so keep gaps at zero.
        reuse_model: keep each thread's model between solves and, when ``A``, ``b`` and the
            bounds are unchanged, only replace the costs. ``False`` builds a fresh model for
            every instance.

    Thread-safe: one environment and one model per thread (Gurobi objects must not be shared
    between threads). Gurobi releases the GIL while it solves, so batches run on threads.
    """

    name = "gurobi"
    releases_gil = True
    parallelism = "threads"
    supports_equalities = True

    def __init__(self, options: dict[str, Any] | None = None, reuse_model: bool = True) -> None:
        self._options = dict(options or {})
        if self._options:
            check_options(self._options)
        self.reuse_model = bool(reuse_model)
        self._local = threading.local()
        self._running = RunningSolves(_terminate)

    def __getstate__(self) -> dict:
        # Environments and models stay with their threads; a copy starts its own.
        return {"_options": self._options, "reuse_model": self.reuse_model}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._running = RunningSolves(_terminate)

    def interrupt(self) -> None:
        """Stop every solve of this solver running now (any thread): each raises
        ``KeyboardInterrupt``."""
        self._running.stop()

    def _env(self) -> gp.Env:
        env = getattr(self._local, "env", None)
        if env is None:
            env = start_env(self._options)
            self._local.env = env
        return env

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        with _licence_errors(instance):
            return self._solve_loaded(self._load(instance), instance, time_limit)

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is loaded (or checked) once."""
        if not (problem.shared and self.reuse_model):
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        first = problem.instance(0)
        with _licence_errors(first):
            loaded = self._load(first)
            return [
                self._solve_loaded(loaded, problem.instance(i), time_limit)
                for i in range(problem.batch_size)
            ]

    def _load(self, instance: ILPInstance) -> _Loaded:
        """The thread's model holding ``instance``'s constraints (its costs set later)."""
        loaded = getattr(self._local, "loaded", None)
        if self.reuse_model and loaded is not None and loaded.constraints.matches(instance):
            return loaded
        if loaded is not None:
            self._local.loaded = None
            loaded.model.dispose()
        model = gp.Model(env=self._env())
        x = model.addMVar(instance.num_vars, lb=instance.lb, ub=instance.ub, vtype=GRB.INTEGER)
        if instance.num_constraints:
            model.addMConstr(instance.A, x, GRB.LESS_EQUAL, instance.b)
        if instance.num_equalities:
            model.addMConstr(instance.A_eq, x, GRB.EQUAL, instance.b_eq)
        loaded = _Loaded(model, x, ConstraintSet.of(instance))
        if self.reuse_model:
            self._local.loaded = loaded
        return loaded

    def _solve_loaded(
        self, loaded: _Loaded, instance: ILPInstance, time_limit: float | None
    ) -> Solution:
        """Set ``instance``'s costs on the loaded model and solve it."""
        model = loaded.model
        loaded.x.Obj = instance.c
        # A checked feasible point as MIP start; none clears the previous instance's start.
        loaded.x.Start = GRB.UNDEFINED if instance.start is None else instance.start
        model.Params.TimeLimit = GRB.INFINITY if time_limit is None else float(time_limit)
        try:
            start = time.perf_counter()
            with self._running.solving(model):
                model.optimize()
            elapsed = time.perf_counter() - start
            status = model.Status
            y = np.round(loaded.x.X) if model.SolCount > 0 else None
        finally:
            if not self.reuse_model:
                model.dispose()
        if status == GRB.INTERRUPTED:  # Ctrl-C while solving: stop the batch, as Python would
            raise KeyboardInterrupt
        if status == GRB.OPTIMAL:
            return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
        if status in (GRB.INFEASIBLE, GRB.INF_OR_UNBD):  # the box is bounded: infeasible
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message="infeasible")
        if status == GRB.TIME_LIMIT:
            obj = float(instance.c @ y) if y is not None else float("nan")
            return Solution(y, Status.TIME_LIMIT, obj, elapsed, message="time limit reached")
        return Solution(None, Status.ERROR, solve_time=elapsed, message=f"Gurobi status {status}")
