"""``HighsSolver``: one ILP per call on a per-thread ``highspy.Highs`` object."""

from __future__ import annotations

import threading
import time

import highspy
import numpy as np

from combopt_core import ILPInstance, Solution, Status

_INF = highspy.kHighsInf
_MS = highspy.HighsModelStatus


class HighsSolver:
    """Exact single-threaded HiGHS MIP solves.

    Args:
        options: extra HiGHS options (name -> Python ``int``/``float``/``bool``/``str``),
            applied to every ``Highs`` object, e.g. ``{"presolve": "off"}``.
    """

    name = "highs"
    releases_gil = True

    def __init__(self, options: dict | None = None) -> None:
        self._options = dict(options or {})
        self._local = threading.local()

    def _highs(self) -> "highspy.Highs":
        h = getattr(self._local, "highs", None)
        if h is None:
            h = highspy.Highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", 0.0)
            for key, value in self._options.items():
                h.setOptionValue(key, value)
            self._local.highs = h
        return h

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        h = self._highs()
        n, m = instance.num_vars, instance.num_constraints
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = instance.c
        lp.col_lower_ = instance.lb
        lp.col_upper_ = instance.ub
        lp.row_lower_ = np.full(m, -_INF)
        lp.row_upper_ = instance.b
        # Column-wise dense storage of A (HiGHS' default format).
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kColwise
        matrix.start_ = np.arange(n + 1, dtype=np.int32) * m  # also right for m = 0
        matrix.index_ = np.tile(np.arange(m, dtype=np.int32), n)
        matrix.value_ = np.ascontiguousarray(instance.A.T).ravel()
        lp.a_matrix_ = matrix
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        h.clearModel()
        h.passModel(lp)
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else _INF)
        start = time.perf_counter()
        h.run()
        elapsed = time.perf_counter() - start
        status = h.getModelStatus()
        has_point = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        y = np.round(np.asarray(h.getSolution().col_value, dtype=np.float64)) if has_point else None
        if status == _MS.kOptimal:
            return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)
        if status in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message=str(status))
        if status == _MS.kTimeLimit:
            obj = float(instance.c @ y) if y is not None else float("nan")
            return Solution(y, Status.TIME_LIMIT, obj, elapsed, message="time limit reached")
        return Solution(None, Status.ERROR, solve_time=elapsed, message=f"HiGHS status {status}")
