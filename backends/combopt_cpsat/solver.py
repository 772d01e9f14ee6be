"""``CpSatSolver``: ILPs with OR-Tools CP-SAT, certified against the float data.

Equality rows ``A_eq y == b_eq`` are scaled like two ``<=`` rows and written as one linear
constraint with both sides (``lower <= a' . y <= upper``, ``lower == upper`` for integral
data); the answer is checked against the float equality.

Model reuse: each thread keeps the CP-SAT model of the last constraint set it scaled. When
the next instance has the same ``A``, ``b``, bounds and equality rows (a shared constraint set, or unchanged
learned constraints between steps), the rows are not scaled again and the model is not
rebuilt: only the objective coefficients of its proto are replaced. CP-SAT carries nothing
from one solve to the next (every solve starts from the model alone), so a reused model
answers exactly as a fresh one would, ties included.

Warm starts: an instance's ``start`` (a feasible point the core has checked) becomes the
model's solution hint for that solve only; CP-SAT still proves optimality.

Interrupts: ``interrupt()`` (Ctrl-C, see ``combopt_core.interrupts``) calls
``stop_search()`` on every ``CpSolver`` solving now; the stopped solve raises
``KeyboardInterrupt`` (never a time-out or a feasible point).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from combopt_core import ConstraintSet, ILPInstance, ILPProblem, Solution, Status
from combopt_core.interrupts import RunningSolves
from combopt_core.verify import FEASIBILITY_TOL

from .options import check_options, set_options
from .scaling import DEFAULT_BITS, ScaledRows, scale_objective, scale_rows

FEAS_TOL = FEASIBILITY_TOL  # feasible: A y <= b + FEAS_TOL * max(1, |b|), row by row
_INT64_MIN = -(2**63)  # CP-SAT's "no lower bound" for a linear constraint's domain


class _CpModel(cp_model.CpModel):
    """``CpModel`` without the deprecated camelCase aliases that ortools 9.x attaches to every
    new model (about 4 ms per model, more than solving the paper's instances)."""

    def _add_pre_pep8_methods(self) -> None:
        pass


def build_model(
    lb: np.ndarray,
    ub: np.ndarray,
    coef: np.ndarray,
    rhs: np.ndarray,
    lower: np.ndarray | None = None,
) -> _CpModel:
    """The CP-SAT model ``lower <= coef @ y <= rhs``, ``lb <= y <= ub``, ``y`` integer,
    written straight into its proto (variable ``j`` is proto variable ``j``); ``lower``
    ``None`` (or a row's ``_INT64_MIN``) for no lower side.

    Its objective lists every variable with coefficient 0; :func:`set_objective` fills it in.
    """
    model = _CpModel()
    proto = model.proto
    n = lb.shape[0]
    for lo, hi in zip(lb.astype(np.int64).tolist(), ub.astype(np.int64).tolist()):
        proto.variables.add().domain.extend((lo, hi))
    lows = [_INT64_MIN] * len(rhs) if lower is None else lower.tolist()
    for row, lo, r in zip(coef.tolist(), lows, rhs.tolist()):
        linear = proto.constraints.add().linear
        linear.vars.extend(range(n))
        linear.coeffs.extend(row)
        linear.domain.extend((lo, r))
    proto.objective.vars.extend(range(n))
    proto.objective.coeffs.extend([0] * n)
    return model


def set_objective(model: _CpModel, coef: list[int]) -> None:
    """Replace the objective coefficients of a :func:`build_model` model by ``coef``."""
    coeffs = model.proto.objective.coeffs
    coeffs.clear()
    coeffs.extend(coef)


def set_hint(model: _CpModel, start: np.ndarray | None) -> None:
    """Make ``start`` the solution hint of a :func:`build_model` model (``None``: no hint)."""
    model.clear_hints()
    if start is not None:
        hint = model.proto.solution_hint
        hint.vars.extend(range(start.shape[0]))
        hint.values.extend(int(v) for v in np.round(start).tolist())


@dataclass(frozen=True)
class _Run:
    """One CP-SAT solve of the scaled model: status name, point (or ``None``), seconds."""

    status: str
    y: np.ndarray | None
    seconds: float
    detail: str = ""


def two_sided(
    coef: np.ndarray, rhs: np.ndarray, rows: np.ndarray, m: int, m_eq: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scaled ``<=`` rows as two-sided rows ``(coef, lower, upper)``: the two halves of an
    equality (original rows ``m + j`` and ``m + m_eq + j`` of ``[A; A_eq; -A_eq]``, both
    kept by the scaling, same coefficients up to sign) become one row
    ``-rhs_minus <= coef_plus . y <= rhs_plus``; every other row keeps ``lower = _INT64_MIN``.
    A pair whose sides cross (no integer value between) stays two rows, for CP-SAT to find
    infeasible."""
    position = {int(r): i for i, r in enumerate(rows.tolist())}
    lower = np.full(len(rows), _INT64_MIN, dtype=np.int64)
    merged = np.zeros(len(rows), dtype=bool)  # minus halves folded into their plus half
    for j in range(m_eq):
        plus, minus = position.get(m + j), position.get(m + m_eq + j)
        if plus is None or minus is None or -rhs[minus] > rhs[plus]:
            continue
        if np.array_equal(coef[plus], -coef[minus]):
            lower[plus] = -rhs[minus]
            merged[minus] = True
    return coef[~merged], lower[~merged], rhs[~merged]


class _Loaded:
    """A thread's scaled constraint set and its models, with the data they were built from.

    The rows are ``A y <= b`` followed by each equality row's two halves
    (``[A; A_eq; -A_eq]``, ``[b; b_eq; -b_eq]``: the float feasibility test of both halves is
    exactly the equality's), scaled together; in the models each equality is one linear
    constraint with both sides (``two_sided``), equal sides when the data is integral.
    ``relaxed`` is built with the rows (``None`` when the rows are trivially infeasible);
    ``tight``, the restriction, only when first needed.
    """

    def __init__(self, instance: ILPInstance, bits: int) -> None:
        self.constraints = ConstraintSet.of(instance)
        c = self.constraints
        self.A = np.concatenate([c.A, c.A_eq, -c.A_eq])
        self.b = np.concatenate([c.b, c.b_eq, -c.b_eq])
        self.lb, self.ub = c.lb, c.ub
        self._sizes = (c.A.shape[0], c.A_eq.shape[0])
        self.rows: ScaledRows = scale_rows(
            self.A, self.b, self.lb, self.ub, bits, feas_tol=FEAS_TOL
        )
        self.relaxed: _CpModel | None = None
        if not self.rows.trivially_infeasible:
            self.relaxed = self._build(self.rows.relaxed)
        self._tight: _CpModel | None = None
        self._slack = FEAS_TOL * np.maximum(1.0, np.abs(self.b))

    def holds(self, instance: ILPInstance) -> bool:
        """Whether this was built from ``instance``'s ``A``, ``b`` and bounds."""
        return self.constraints.matches(instance)

    def tight(self) -> _CpModel:
        """The restriction's model (built on the first call)."""
        if self._tight is None:
            self._tight = self._build(self.rows.tight)
        return self._tight

    def _build(self, rhs: np.ndarray) -> _CpModel:
        coef, lower, upper = two_sided(self.rows.coef, rhs, self.rows.rows, *self._sizes)
        return build_model(self.lb, self.ub, coef, upper, lower)

    def violated_rows(self, points: np.ndarray) -> np.ndarray:
        """For each row ``y`` of ``points`` ``(B, n)``, the first row of
        ``[A; A_eq; -A_eq] y <= [b; b_eq; -b_eq]`` it violates beyond
        ``FEAS_TOL * max(1, |b|)``, else -1."""
        over = points @ self.A.T - self.b > self._slack
        first = over.argmax(axis=1) if over.shape[1] else np.zeros(len(points), dtype=np.intp)
        return np.where(over.any(axis=1), first, -1)


class CpSatSolver:
    """Exact CP-SAT solves of ILPs with real-valued data.

    Each solve runs CP-SAT on the integer *relaxation* of the float rows (see ``scaling``):
    an optimum that satisfies the float constraints is then a certified optimum (of the costs
    rounded to about 40 significant bits: within ``2 * scale_objective(...).error`` of the
    float optimum). In the rare case it does not (its slack lies within the rounding
    resolution), the integer *restriction* is solved too, within what is left of the time
    limit; if its optimum reaches the relaxation's bound it is optimal, otherwise the
    instance is reported as ``ERROR`` with both bounds in the message.

    Args:
        bits: target size ``2**bits`` of each row's largest scaled coefficient (default 24).
        presolve: run CP-SAT's presolve (off by default: faster on small models and avoids
            presolve's known wrong answers on huge coefficients).
        Cutting planes are off too (``cut_level = 0``; CP-SAT's default is 1): on the ILPs
        of constraint learning they cost more than they prune, 1.4-2.8x per ILP on Random
        Constraints n = 16, 1.4-3x on the keypoint demo's n = 25 to 49, 1.5x on a 9x9
        Sudoku. ``options={"cut_level": 1}`` restores them.
        options: extra ``SatParameters`` fields (name -> value), e.g. ``{"random_seed": 1}``;
            ``max_time_in_seconds`` here replaces the ``time_limit`` of every solve.
        reuse_model: keep each thread's scaled rows and model while ``A``, ``b`` and the
            bounds are unchanged, replacing only the objective (default). ``False`` scales and
            builds them again for every instance (the benchmarks' "naive" mode).

    Thread-safe (one ``CpSolver`` and one model per thread) and picklable (the models are
    not pickled; each process builds its own).
    """

    name = "cpsat"
    releases_gil = True
    supports_equalities = True

    def __init__(
        self,
        bits: int = DEFAULT_BITS,
        presolve: bool = False,
        options: dict[str, Any] | None = None,
        reuse_model: bool = True,
    ) -> None:
        if not 10 <= int(bits) <= 40:
            raise ValueError(f"bits: must be between 10 and 40, got {bits!r}")
        self.bits = int(bits)
        self.presolve = bool(presolve)
        self._options = dict(options or {})
        if self._options:
            check_options(self._options)
        self.reuse_model = bool(reuse_model)
        self._local = threading.local()
        self._running = RunningSolves(cp_model.CpSolver.stop_search)

    def __getstate__(self) -> dict:
        return {
            "bits": self.bits,
            "presolve": self.presolve,
            "_options": self._options,
            "reuse_model": self.reuse_model,
        }

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._running = RunningSolves(cp_model.CpSolver.stop_search)

    def interrupt(self) -> None:
        """Stop every solve of this solver running now (any thread): each raises
        ``KeyboardInterrupt``."""
        self._running.stop()

    def _cp_solver(self) -> cp_model.CpSolver:
        """The thread's ``CpSolver``, its parameters set once (the time limit per solve)."""
        solver = getattr(self._local, "solver", None)
        if solver is None:
            solver = cp_model.CpSolver()
            params = solver.parameters
            params.num_workers = 1
            params.catch_sigint_signal = False  # Ctrl-C reaches Python as KeyboardInterrupt
            params.cp_model_presolve = self.presolve
            params.absolute_gap_limit = 0.0
            params.relative_gap_limit = 0.0
            params.cut_level = 0  # exact either way, faster here (see the docstring)
            set_options(params, self._options)
            self._local.solver = solver
        return solver

    def _load(self, instance: ILPInstance) -> _Loaded:
        """The thread's scaled rows and model of ``instance``'s constraints (built if new)."""
        loaded = getattr(self._local, "loaded", None)
        if not self.reuse_model:
            return _Loaded(instance, self.bits)
        if loaded is None or not loaded.holds(instance):
            loaded = self._local.loaded = _Loaded(instance, self.bits)
        return loaded

    def _run(
        self,
        model: _CpModel,
        coef: list[int],
        time_limit: float | None,
        start: np.ndarray | None = None,
    ) -> _Run:
        """Solve ``model`` with the integer objective ``coef`` (and ``start`` as hint)."""
        set_objective(model, coef)
        set_hint(model, start)
        solver = self._cp_solver()
        if "max_time_in_seconds" not in self._options:
            params = solver.parameters
            if time_limit is None:
                params.clear_max_time_in_seconds()
            else:
                params.max_time_in_seconds = max(float(time_limit), 1e-6)
        start = time.perf_counter()
        with self._running.solving(solver):
            code = solver.solve(model)
        seconds = time.perf_counter() - start
        y = None
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            y = np.fromiter(solver.response_proto.solution, np.float64, len(coef))
        detail = model.validate() if code == cp_model.MODEL_INVALID else ""
        return _Run(solver.status_name(code), y, seconds, detail)

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        loaded = self._load(instance)
        return self._solve_costs(loaded, instance.c[None], time_limit, [instance.start])[0]

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is scaled and built (or checked)
        once, and the costs are scaled and the points checked in one pass."""
        if not (problem.shared and self.reuse_model):
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        starts = [problem.instance(i).start for i in range(problem.batch_size)]
        return self._solve_costs(self._load(problem.instance(0)), problem.c, time_limit, starts)

    def _solve_costs(
        self,
        loaded: _Loaded,
        costs: np.ndarray,
        time_limit: float | None,
        starts: list[np.ndarray | None],
    ) -> list[Solution]:
        """Minimise ``c . y`` over ``loaded``'s constraints for each row ``c`` of ``costs``,
        each with its warm start (``None``: none) as the solution hint.

        The per-instance Python work is kept to the objective swap and the solve: costs are
        scaled, points checked against the float rows and objectives computed for the
        whole chunk at once.
        """
        if loaded.relaxed is None:
            why = "an all-zero row of A has b < 0 (or of A_eq has b_eq != 0)"
            return [Solution(None, Status.INFEASIBLE, message=why) for _ in costs]
        objective = scale_objective(costs, loaded.lb, loaded.ub)
        runs = [
            self._run(loaded.relaxed, coef, time_limit, start)
            for coef, start in zip(objective.coef.tolist(), starts)
        ]
        points = np.array([np.zeros(costs.shape[1]) if r.y is None else r.y for r in runs])
        bad = loaded.violated_rows(points).tolist()
        values = np.einsum("bn,bn->b", costs, points).tolist()
        return [
            self._answer(loaded, costs[i], objective.coef[i], run, bad[i], values[i], time_limit)
            for i, run in enumerate(runs)
        ]

    def _answer(
        self,
        loaded: _Loaded,
        c: np.ndarray,
        coef: np.ndarray,
        first: _Run,
        bad: int,
        value: float,
        time_limit: float | None,
    ) -> Solution:
        """The answer from the relaxation's run ``first``: its point violates float row
        ``bad`` (-1: none) and has objective ``value``."""
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
        if bad < 0:
            status = Status.OPTIMAL if first.status == "OPTIMAL" else Status.TIME_LIMIT
            message = "" if status == Status.OPTIMAL else "time limit reached"
            return Solution(first.y, status, value, first.seconds, message)
        if first.status != "OPTIMAL":
            return Solution(
                None,
                Status.TIME_LIMIT,
                solve_time=first.seconds,
                message="time limit reached; the incumbent violated the float "
                f"constraint {bad} and was dropped",
            )
        return self._restrict(loaded, c, coef, first, bad, value, time_limit)

    def _restrict(
        self,
        loaded: _Loaded,
        c: np.ndarray,
        coef: np.ndarray,
        first: _Run,
        bad: int,
        value: float,
        time_limit: float | None,
    ) -> Solution:
        """Second solve on the restriction, when the relaxation's optimum is not float-feasible."""
        bound = int(coef @ first.y.astype(np.int64))  # exact integer lower bound
        left = None if time_limit is None else time_limit - first.seconds
        second = self._run(loaded.tight(), coef.tolist(), left)
        seconds = first.seconds + second.seconds
        why = (
            f"the scaled model's optimum violates float constraint {bad} within the rounding "
            f"resolution of {self.bits}-bit scaling"
        )
        if second.y is not None and loaded.violated_rows(second.y[None])[0] < 0:
            obj = float(c @ second.y)
            reached = int(coef @ second.y.astype(np.int64)) <= bound
            if second.status == "OPTIMAL" and reached:
                return Solution(second.y, Status.OPTIMAL, obj, seconds)
            return Solution(
                None,
                Status.ERROR,
                solve_time=seconds,
                message=f"cpsat: cannot certify an optimum ({why}); best feasible "
                f"objective {obj:.10g}, lower bound {value:.10g}; "
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
