"""``CpSatSolver``: one ILP per call with OR-Tools CP-SAT, certified against the float data."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from combopt_core import ILPInstance, Solution, Status

from .scaling import DEFAULT_BITS, ScaledObjective, ScaledRows, scale_objective, scale_rows

FEAS_TOL = 1e-9  # a point is feasible when A y <= b + FEAS_TOL * max(1, |b|), row by row


class _CpModel(cp_model.CpModel):
    """``CpModel`` without the deprecated camelCase aliases that ortools 9.x attaches to every
    new model (about 4 ms per model, more than solving the paper's instances)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


@dataclass(frozen=True)
class _Run:
    """One CP-SAT solve of the scaled model: status name, point (or ``None``), seconds."""

    status: str
    y: np.ndarray | None
    seconds: float
    detail: str = ""


def violated_row(instance: ILPInstance, y: np.ndarray) -> int | None:
    """The first row of ``A y <= b`` that ``y`` violates beyond ``FEAS_TOL``, else ``None``."""
    excess = instance.A @ y - instance.b - FEAS_TOL * np.maximum(1.0, np.abs(instance.b))
    bad = np.flatnonzero(excess > 0)
    return int(bad[0]) if bad.size else None


class CpSatSolver:
    """Exact CP-SAT solves of ILPs with real-valued data.

    Each solve runs CP-SAT on the integer *relaxation* of the float rows (see ``scaling``):
    an optimum that satisfies the float constraints is then a certified optimum (of the costs
    rounded to about 40 significant bits: within ``2 * scale_objective(...).error`` of the
    float optimum). In the rare case it does not (its slack lies within the rounding
    resolution), the integer *restriction* is solved too; if its optimum reaches the
    relaxation's bound it is optimal, otherwise the instance is reported as ``ERROR`` with
    both bounds in the message.

    Args:
        bits: target size ``2**bits`` of each row's largest scaled coefficient (default 24).
        presolve: run CP-SAT's presolve (off by default: faster on small models and avoids
            presolve's known wrong answers on huge coefficients).
        options: extra ``SatParameters`` fields (name -> value), e.g. ``{"random_seed": 1}``.
    """

    name = "cpsat"
    releases_gil = True

    def __init__(
        self,
        bits: int = DEFAULT_BITS,
        presolve: bool = False,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not 10 <= int(bits) <= 40:
            raise ValueError(f"bits: must be between 10 and 40, got {bits!r}")
        self.bits = int(bits)
        self.presolve = bool(presolve)
        self._options = dict(options or {})

    def _run(
        self,
        inst: ILPInstance,
        coef: np.ndarray,
        rhs: np.ndarray,
        objective: ScaledObjective,
        time_limit: float | None,
    ) -> _Run:
        model = _CpModel()
        xs = [model.new_int_var(int(lo), int(hi), "") for lo, hi in zip(inst.lb, inst.ub)]
        for row, r in zip(coef.tolist(), rhs.tolist()):
            model.add(cp_model.LinearExpr.weighted_sum(xs, row) <= r)
        model.minimize(cp_model.LinearExpr.weighted_sum(xs, objective.coef.tolist()))
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.catch_sigint_signal = False  # Ctrl-C reaches Python as KeyboardInterrupt
        params.cp_model_presolve = self.presolve
        params.absolute_gap_limit = 0.0
        params.relative_gap_limit = 0.0
        if time_limit is not None:
            params.max_time_in_seconds = max(float(time_limit), 1e-6)
        for key, value in self._options.items():
            setattr(params, key, value)
        start = time.perf_counter()
        code = solver.solve(model)
        seconds = time.perf_counter() - start
        status = solver.status_name(code)
        y = None
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            y = np.array([solver.value(x) for x in xs], dtype=np.float64)
        detail = model.validate() if code == cp_model.MODEL_INVALID else ""
        return _Run(status, y, seconds, detail)

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        start = time.perf_counter()
        rows = scale_rows(
            instance.A, instance.b, instance.lb, instance.ub, self.bits, feas_tol=FEAS_TOL
        )
        if rows.trivially_infeasible:
            return Solution(None, Status.INFEASIBLE, message="an all-zero row of A has b < 0")
        objective = scale_objective(instance.c, instance.lb, instance.ub)
        first = self._run(instance, rows.coef, rows.relaxed, objective, time_limit)
        if first.status == "INFEASIBLE":  # the relaxation is infeasible, so is the problem
            return Solution(None, Status.INFEASIBLE, solve_time=first.seconds, message="infeasible")
        if first.status == "MODEL_INVALID":
            return Solution(
                None,
                Status.ERROR,
                solve_time=first.seconds,
                message=f"CP-SAT rejected the scaled model: {first.detail}",
            )
        if first.y is None:  # UNKNOWN: stopped before finding any point
            return self._no_point(first, time_limit)
        bad = violated_row(instance, first.y)
        if bad is None:
            status = Status.OPTIMAL if first.status == "OPTIMAL" else Status.TIME_LIMIT
            message = "" if status == Status.OPTIMAL else "time limit reached"
            return Solution(first.y, status, float(instance.c @ first.y), first.seconds, message)
        if first.status != "OPTIMAL":
            return Solution(
                None,
                Status.TIME_LIMIT,
                solve_time=first.seconds,
                message="time limit reached; the incumbent violated the float "
                f"constraint {bad} and was dropped",
            )
        return self._restrict(instance, rows, objective, first, bad, start, time_limit)

    def _restrict(
        self,
        inst: ILPInstance,
        rows: ScaledRows,
        objective: ScaledObjective,
        first: _Run,
        bad: int,
        start: float,
        time_limit: float | None,
    ) -> Solution:
        """Second solve on the restriction, when the relaxation's optimum is not float-feasible."""
        bound = int(objective.coef @ first.y.astype(np.int64))  # exact integer lower bound
        left = None if time_limit is None else time_limit - (time.perf_counter() - start)
        second = self._run(inst, rows.coef, rows.tight, objective, left)
        seconds = first.seconds + second.seconds
        why = (
            f"the scaled model's optimum violates float constraint {bad} within the rounding "
            f"resolution of {self.bits}-bit scaling"
        )
        if second.y is not None and violated_row(inst, second.y) is None:
            obj = float(inst.c @ second.y)
            reached = int(objective.coef @ second.y.astype(np.int64)) <= bound
            if second.status == "OPTIMAL" and reached:
                return Solution(second.y, Status.OPTIMAL, obj, seconds)
            return Solution(
                None,
                Status.ERROR,
                solve_time=seconds,
                message=f"cpsat: cannot certify an optimum ({why}); best feasible "
                f"objective {obj:.10g}, lower bound {float(inst.c @ first.y):.10g}; "
                "use a floating-point backend or more bits",
            )
        return Solution(
            None,
            Status.ERROR,
            solve_time=seconds,
            message=f"cpsat: cannot decide ({why}; the restricted model is "
            f"{second.status}); use a floating-point backend or more bits",
        )

    @staticmethod
    def _no_point(run: _Run, time_limit: float | None) -> Solution:
        if time_limit is not None:
            return Solution(
                None,
                Status.TIME_LIMIT,
                solve_time=run.seconds,
                message="time limit reached without a feasible point",
            )
        return Solution(
            None, Status.ERROR, solve_time=run.seconds, message=f"CP-SAT status {run.status}"
        )
