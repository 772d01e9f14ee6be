"""``ScipyMilpSolver``: one ILP per call through ``scipy.optimize.milp``."""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from combopt_core import ILPInstance, Solution, Status


class ScipyMilpSolver:
    """Exact (``mip_rel_gap = 0``) MILP solves with SciPy's HiGHS; stateless, GIL released."""

    name = "scipy-milp"
    releases_gil = True

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        constraints = []
        if instance.num_constraints:
            constraints.append(LinearConstraint(instance.A, -np.inf, instance.b))
        options = {"mip_rel_gap": 0.0, "disp": False}
        if time_limit is not None:
            options["time_limit"] = float(time_limit)
        start = time.perf_counter()
        res = milp(
            instance.c,
            integrality=np.ones(instance.num_vars),
            bounds=Bounds(instance.lb, instance.ub),
            constraints=constraints,
            options=options,
        )
        elapsed = time.perf_counter() - start
        y = None if res.x is None else np.round(res.x)
        if res.status == 0:
            return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
        if res.status == 2:
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message=res.message)
        if res.status == 1:
            obj = float(instance.c @ y) if y is not None else float("nan")
            return Solution(y, Status.TIME_LIMIT, obj, elapsed, message=res.message)
        return Solution(None, Status.ERROR, solve_time=elapsed, message=res.message)
