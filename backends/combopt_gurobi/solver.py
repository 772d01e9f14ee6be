"""``GurobiSolver``: one ILP per call, on a per-thread Gurobi environment."""

from __future__ import annotations

import threading
import time
from typing import Any

import gurobipy as gp
import numpy as np
from gurobipy import GRB

from combopt_core import BackendUnavailableError, ILPInstance, Solution, Status

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
}


def start_env(options: dict[str, Any]) -> gp.Env:
    """A started, silent, single-threaded, exact Gurobi environment with ``options`` applied."""
    env = gp.Env(empty=True)
    for key, value in {**_EXACT_PARAMS, **options}.items():
        env.setParam(key, value)
    env.start()
    return env


def _licence_error(exc: gp.GurobiError, instance: ILPInstance) -> BackendUnavailableError:
    if exc.errno == SIZE_LIMIT_EXCEEDED:
        return BackendUnavailableError(
            f"gurobi: model too large for Gurobi's size-limited licence (n={instance.num_vars} "
            f"variables, m={instance.num_constraints} constraints; the pip wheel's licence "
            "allows at most 2000 of each); install a full Gurobi licence or use another "
            f"backend (GurobiError {exc.errno}: {exc})"
        )
    return BackendUnavailableError(f"gurobi: no usable Gurobi licence ({exc})")


class GurobiSolver:
    """Exact single-threaded Gurobi MIP solves.

    Args:
        options: extra Gurobi parameters (name -> value) set on every environment, e.g.
            ``{"Seed": 1}``; they override the exactness defaults, so keep gaps at zero.
    """

    name = "gurobi"
    releases_gil = True

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self._options = dict(options or {})
        self._local = threading.local()

    def _env(self) -> gp.Env:
        env = getattr(self._local, "env", None)
        if env is None:
            env = start_env(self._options)
            self._local.env = env
        return env

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        try:
            return self._solve(instance, time_limit)
        except gp.GurobiError as exc:
            if exc.errno in (SIZE_LIMIT_EXCEEDED, NO_LICENSE):
                raise _licence_error(exc, instance) from exc
            raise

    def _solve(self, instance: ILPInstance, time_limit: float | None) -> Solution:
        with gp.Model(env=self._env()) as model:
            x = model.addVars(
                instance.num_vars,
                lb=instance.lb.tolist(),
                ub=instance.ub.tolist(),
                obj=instance.c.tolist(),
                vtype=GRB.INTEGER,
            )
            xs = x.values()
            for row, rhs in zip(instance.A.tolist(), instance.b.tolist()):
                model.addLConstr(gp.LinExpr(row, xs), GRB.LESS_EQUAL, rhs)
            model.Params.TimeLimit = GRB.INFINITY if time_limit is None else float(time_limit)
            start = time.perf_counter()
            model.optimize()
            elapsed = time.perf_counter() - start
            status = model.Status
            y = np.round(np.array(model.getAttr("X", xs))) if model.SolCount > 0 else None
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
