"""``ScipSolver``: one ILP per call on a per-thread, reused ``pyscipopt.Model``.

Equality rows ``A_eq y == b_eq`` are linear constraints with equal sides (``lhs = rhs``).

Model reuse: each thread keeps its model; for the next instance with the same shape and
bounds only what differs (costs, coefficients, right-hand sides) is changed, after
``freeTransform()``. A reused model starts each solve from its problem alone:
``misc/transsolsorig = False`` keeps ``freeTransform()`` from storing the previous solve's
solutions, which SCIP would otherwise try as starting points (and which could then decide
among tied optima).

Interrupts: ``interrupt()`` (Ctrl-C, see ``combopt_core.interrupts``) calls
``interruptSolve()`` on every model solving now; the stopped solve raises
``KeyboardInterrupt`` and its model is rebuilt next time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyscipopt

from combopt_core import ILPInstance, ILPProblem, Solution, Status
from combopt_core.interrupts import RunningSolves

from .options import check_options

_EXACT_PARAMS: dict[str, Any] = {
    "limits/gap": 0.0,
    "limits/absgap": 0.0,
    # SCIP's default 1e-6 relative feasibility tolerance accepted points that violate a row
    # of the paper's data by 2e-6 (dense_m1_seed3); combopt's rule is 1e-9.
    "numerics/feastol": 1e-9,
    "lp/threads": 1,
    "parallel/maxnthreads": 1,
    # Ctrl-C must reach Python as KeyboardInterrupt, not end the solve as 'userinterrupt'.
    "misc/catchctrlc": False,
    # No solution survives freeTransform(): a reused model's answer does not depend on history.
    "misc/transsolsorig": False,
}
_NO_LIMIT = 1e20  # SCIP's infinity for limits/time
_HAS_NOGIL = hasattr(pyscipopt.Model, "optimizeNogil")


@dataclass
class _Cached:
    """A thread's model and the data it holds (to change only what differs); bounds fixed."""

    model: pyscipopt.Model
    xs: list
    conss: list
    c: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    conss_eq: list
    A_eq: np.ndarray
    b_eq: np.ndarray


class ScipSolver:
    """Exact single-threaded SCIP solves.

    Args:
        options: extra SCIP parameters (name -> value), e.g. ``{"presolving/maxrounds": 0}``.
        reuse_model: keep one model per thread and update it in place (default; about 3x
            faster on tiny models). It is deterministic: no solution is carried from one
            solve to the next (see the module docstring), and the tie-heavy determinism
            suite (``tests/reliability/test_determinism.py``: set cover with unit costs,
            batches reversed and shuffled) returns the same points as fresh models.
            ``False`` builds a fresh model per instance.

    Thread-safe (one model per thread) and picklable (the models are not pickled; each
    process builds its own).
    """

    name = "scip"
    releases_gil = _HAS_NOGIL
    supports_equalities = True

    def __init__(self, options: dict[str, Any] | None = None, reuse_model: bool = True) -> None:
        self._options = dict(options or {})
        if self._options:
            check_options(self._options)
        self._reuse = bool(reuse_model)
        self._local = threading.local()
        self._running = RunningSolves(pyscipopt.Model.interruptSolve)

    def __getstate__(self) -> dict:
        return {"_options": self._options, "_reuse": self._reuse}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._running = RunningSolves(pyscipopt.Model.interruptSolve)

    def interrupt(self) -> None:
        """Stop every solve of this solver running now (any thread): each raises
        ``KeyboardInterrupt``."""
        self._running.stop()

    def _build(self, inst: ILPInstance) -> _Cached:
        model = pyscipopt.Model()
        model.hideOutput()
        for key, value in {**_EXACT_PARAMS, **self._options}.items():
            model.setParam(key, value)
        xs = [
            model.addVar(vtype="I", lb=float(lo), ub=float(hi), obj=float(cj))
            for lo, hi, cj in zip(inst.lb, inst.ub, inst.c)
        ]
        conss = [
            model.addCons(pyscipopt.quicksum(a * x for a, x in zip(row, xs)) <= rhs)
            for row, rhs in zip(inst.A.tolist(), inst.b.tolist())
        ]
        conss_eq = [
            model.addCons(pyscipopt.quicksum(a * x for a, x in zip(row, xs)) == rhs)
            for row, rhs in zip(inst.A_eq.tolist(), inst.b_eq.tolist())
        ]
        return _Cached(
            model,
            xs,
            conss,
            inst.c.copy(),
            inst.A.copy(),
            inst.b.copy(),
            inst.lb.copy(),
            inst.ub.copy(),
            conss_eq,
            inst.A_eq.copy(),
            inst.b_eq.copy(),
        )

    def _update(self, cached: _Cached, inst: ILPInstance) -> None:
        """Turn the cached model (same n, m, bounds) into ``inst``, touching only what changed.

        Bounds are never changed in place: SCIP turns an integer variable with bounds [0, 1]
        into a binary one, which then refuses other bounds.
        """
        model, xs = cached.model, cached.xs
        self._set_costs(cached, inst.c)
        for i, j in zip(*np.nonzero(inst.A != cached.A)):
            model.chgCoefLinear(cached.conss[i], xs[j], float(inst.A[i, j]))
        for i in np.flatnonzero(inst.b != cached.b):
            model.chgRhs(cached.conss[i], float(inst.b[i]))
        cached.A[:], cached.b[:] = inst.A, inst.b
        for i, j in zip(*np.nonzero(inst.A_eq != cached.A_eq)):
            model.chgCoefLinear(cached.conss_eq[i], xs[j], float(inst.A_eq[i, j]))
        for i in np.flatnonzero(inst.b_eq != cached.b_eq):
            value, cons = float(inst.b_eq[i]), cached.conss_eq[i]
            # keep lhs <= rhs at every step: move the side towards the new value first
            first, second = (model.chgRhs, model.chgLhs)
            if value < cached.b_eq[i]:
                first, second = second, first
            first(cons, value)
            second(cons, value)
        cached.A_eq[:], cached.b_eq[:] = inst.A_eq, inst.b_eq

    @staticmethod
    def _set_costs(cached: _Cached, c: np.ndarray) -> None:
        """Free the cached model's transformed problem and set the costs ``c`` if they differ."""
        cached.model.freeTransform()
        if np.any(c != cached.c):
            cached.model.setObjective(
                pyscipopt.quicksum(float(cj) * x for cj, x in zip(c.tolist(), cached.xs))
            )
            cached.c[:] = c

    def _model(self, inst: ILPInstance) -> _Cached:
        cached = getattr(self._local, "cached", None) if self._reuse else None
        if (
            cached is not None
            and cached.A.shape == inst.A.shape
            and cached.A_eq.shape == inst.A_eq.shape
            and np.array_equal(cached.lb, inst.lb)
            and np.array_equal(cached.ub, inst.ub)
        ):
            try:
                self._update(cached, inst)
                return cached
            except Exception:  # noqa: BLE001 - a half-updated model is rebuilt from scratch
                self._local.cached = None
        cached = self._build(inst)
        if self._reuse:
            self._local.cached = cached
        return cached

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        return self._optimize(self._model(instance), instance, time_limit)

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is built (or checked) once and
        only the costs change between instances."""
        if not (problem.shared and self._reuse):
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        cached = self._model(problem.instance(0))
        solutions = [self._optimize(cached, problem.instance(0), time_limit)]
        for i in range(1, problem.batch_size):
            try:
                self._set_costs(cached, problem.c[i])
            except Exception:
                self._local.cached = None  # never reuse a model left half-updated
                raise
            solutions.append(self._optimize(cached, problem.instance(i), time_limit))
        return solutions

    def _optimize(
        self, cached: _Cached, instance: ILPInstance, time_limit: float | None
    ) -> Solution:
        """Solve the model, which holds ``instance``, and read its answer."""
        model = cached.model
        model.setParam("limits/time", _NO_LIMIT if time_limit is None else float(time_limit))
        if instance.start is not None:  # a checked feasible point: SCIP's first incumbent
            hint = model.createSol()
            for x, value in zip(cached.xs, instance.start.tolist()):
                model.setSolVal(hint, x, value)
            model.addSol(hint, free=True)
        start = time.perf_counter()
        try:
            with self._running.solving(model):
                if _HAS_NOGIL:
                    model.optimizeNogil()
                else:
                    model.optimize()
        except BaseException:
            self._local.cached = None  # never reuse a model left in an unknown stage
            raise
        elapsed = time.perf_counter() - start
        status = model.getStatus()
        y = None
        if model.getNSols() > 0:
            best = model.getBestSol()
            y = np.round(np.array([model.getSolVal(best, x) for x in cached.xs]))
        if status == "optimal":
            return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
        if status in ("infeasible", "inforunbd"):  # the box is bounded: infeasible
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message=status)
        if status == "timelimit":
            obj = float(instance.c @ y) if y is not None else float("nan")
            return Solution(y, Status.TIME_LIMIT, obj, elapsed, message="time limit reached")
        return Solution(None, Status.ERROR, solve_time=elapsed, message=f"SCIP status '{status}'")
