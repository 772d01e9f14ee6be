"""``HighsSolver``: one ILP per call on a per-thread ``highspy.Highs`` object.

Equality rows ``A_eq y == b_eq`` are rows whose lower and upper bounds are both ``b_eq``.

Model reuse: each thread keeps its model; when the next instance has the same rows
and bounds (a shared constraint set, or unchanged learned constraints between steps), only
the costs are replaced, with ``changeColsCost``. HiGHS may then start from the previous
incumbent, which stays feasible since the constraints did not change.

Warm starts: an instance's ``start`` (a feasible point the core has checked) is handed to
``setSolution`` before the run, as HiGHS's first incumbent; the search still proves
optimality.

Interrupts: ``interrupt()`` (Ctrl-C, see ``combopt_core.interrupts``) sets a flag that a
MIP interrupt callback on each ``Highs`` object reads (thousands of times a second during
the search, at no measurable cost); the stopped solve raises ``KeyboardInterrupt``.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time

import highspy
import numpy as np

from combopt_core import ConstraintSet, ILPInstance, ILPProblem, Solution, Status
from combopt_core.interrupts import RunningSolves
from combopt_core.verify import FEASIBILITY_TOL

from .options import check_options

_INF = highspy.kHighsInf
_MS = highspy.HighsModelStatus


_BANNER_LOCK = threading.Lock()
_banner_silenced = False


def _new_highs() -> "highspy.Highs":
    """A ``Highs`` object, without the copyright banner HiGHS prints to stdout the first
    time one is made in a process (before any option, ``output_flag`` included, can apply).

    The first construction runs with file descriptor 1 pointed at ``os.devnull``.
    """
    global _banner_silenced
    with _BANNER_LOCK:
        if _banner_silenced:
            return highspy.Highs()
        _banner_silenced = True
        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highs = highspy.Highs()
            ctypes.CDLL(None).fflush(None)  # C stdio buffers go to devnull, not later to fd 1
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        return highs


class _Loaded:
    """A thread's ``Highs`` object and the constraints its model holds now."""

    def __init__(self, highs: highspy.Highs) -> None:
        self.highs = highs
        self.constraints: ConstraintSet | None = None  # those of the loaded model
        self.stop = False  # set from another thread to end the running solve
        highs.cbMipInterrupt.subscribe(self._check_stop)

    def _check_stop(self, event) -> None:
        if self.stop:
            event.interrupt()

    def holds(self, instance: ILPInstance) -> bool:
        return self.constraints is not None and self.constraints.matches(instance)


def _stop(loaded: _Loaded) -> None:
    loaded.stop = True


class HighsSolver:
    """Exact single-threaded HiGHS MIP solves.

    Args:
        options: extra HiGHS options (name -> Python ``int``/``float``/``bool``/``str``),
            applied to every ``Highs`` object, e.g. ``{"presolve": "off"}``.
        reuse_model: keep each thread's model between solves and, when ``A``, ``b`` and the
            bounds are unchanged, only replace the costs (``changeColsCost``) instead of
            passing a new model. ``False`` passes a fresh model for every instance.

    Thread-safe (one ``Highs`` object per thread) and picklable (the ``Highs`` objects are
    not pickled; each process makes its own).
    """

    name = "highs"
    releases_gil = True
    parallelism = "threads"
    supports_equalities = True

    def __init__(self, options: dict | None = None, reuse_model: bool = True) -> None:
        self._options = dict(options or {})
        if self._options:
            check_options(self._options, _new_highs())
        self.reuse_model = bool(reuse_model)
        self._local = threading.local()
        self._running = RunningSolves(_stop)

    def __getstate__(self) -> dict:
        return {"_options": self._options, "reuse_model": self.reuse_model}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()
        self._running = RunningSolves(_stop)

    def interrupt(self) -> None:
        """Stop every solve of this solver running now (any thread): each raises
        ``KeyboardInterrupt``."""
        self._running.stop()

    def _loaded(self) -> _Loaded:
        loaded = getattr(self._local, "loaded", None)
        if loaded is None:
            h = _new_highs()
            h.setOptionValue("output_flag", False)
            h.setOptionValue("threads", 1)
            h.setOptionValue("mip_rel_gap", 0.0)
            h.setOptionValue("mip_abs_gap", 0.0)
            # combopt's one feasibility tolerance (defaults 1e-6 / 1e-7 let OPTIMAL points
            # violate a row by 6e-7, or cost 6.5e-7 more than the optimum, on the paper's data)
            h.setOptionValue("mip_feasibility_tolerance", FEASIBILITY_TOL)
            h.setOptionValue("primal_feasibility_tolerance", FEASIBILITY_TOL)
            # Speed, not exactness: restarting the search after root presolve costs more
            # than it saves on small ILPs (Random Constraints n = 16: 1.1-1.3x faster
            # without; n = 49: 1.8x; the same optima). {"mip_allow_restart": True} restores.
            h.setOptionValue("mip_allow_restart", False)
            for key, value in self._options.items():
                h.setOptionValue(key, value)
            loaded = self._local.loaded = _Loaded(h)
        return loaded

    def _load(self, instance: ILPInstance) -> _Loaded:
        """The thread's ``Highs`` object holding ``instance``'s constraints (costs not set)."""
        loaded = self._loaded()
        lb, ub = instance.lb, instance.ub
        if self.reuse_model and loaded.holds(instance):
            return loaded
        # Rows: A y <= b, then the equality rows as rows with equal lower and upper bounds.
        A = np.concatenate([instance.A, instance.A_eq])
        n, m = instance.num_vars, A.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = instance.c
        lp.col_lower_ = lb
        lp.col_upper_ = ub
        lp.row_lower_ = np.concatenate([np.full(instance.num_constraints, -_INF), instance.b_eq])
        lp.row_upper_ = np.concatenate([instance.b, instance.b_eq])
        # Column-wise dense storage of the rows (HiGHS' default format).
        matrix = lp.a_matrix_
        matrix.format_ = highspy.MatrixFormat.kColwise
        matrix.start_ = np.arange(n + 1, dtype=np.int32) * m  # also right for m = 0
        matrix.index_ = np.tile(np.arange(m, dtype=np.int32), n)
        matrix.value_ = np.ascontiguousarray(A.T).ravel()
        lp.a_matrix_ = matrix
        lp.integrality_ = [highspy.HighsVarType.kInteger] * n
        loaded.highs.clearModel()
        loaded.highs.passModel(lp)
        loaded.constraints = ConstraintSet.of(instance)
        return loaded

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        loaded = self._load(instance)
        return self._solve_loaded(loaded, instance.c, time_limit, instance.start)

    def solve_many(self, problem: ILPProblem, time_limit: float | None = None) -> list[Solution]:
        """Solve a chunk in order; a shared constraint set is loaded (or checked) once."""
        if not (problem.shared and self.reuse_model):
            return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]
        loaded = self._load(problem.instance(0))
        return [
            self._solve_loaded(loaded, problem.c[i], time_limit, problem.instance(i).start)
            for i in range(problem.batch_size)
        ]

    def _solve_loaded(
        self,
        loaded: _Loaded,
        c: np.ndarray,
        time_limit: float | None,
        start: np.ndarray | None = None,
    ) -> Solution:
        """Set the costs ``c`` (and the warm start, if any) on the loaded model and solve it."""
        h = loaded.highs
        n = c.shape[0]
        h.changeColsCost(n, np.arange(n, dtype=np.int32), c)
        if start is not None:  # a checked feasible point: HiGHS's first incumbent
            h.setSolution(n, np.arange(n, dtype=np.int32), np.asarray(start, dtype=np.float64))
        h.setOptionValue("time_limit", float(time_limit) if time_limit is not None else _INF)
        start = time.perf_counter()
        loaded.stop = False
        with self._running.solving(loaded):
            h.run()
        elapsed = time.perf_counter() - start
        status = h.getModelStatus()
        has_point = h.getInfo().primal_solution_status == 2  # kSolutionStatusFeasible
        y = np.round(np.asarray(h.getSolution().col_value, dtype=np.float64)) if has_point else None
        if status == _MS.kOptimal:
            return Solution(y, Status.OPTIMAL, float(c @ y), elapsed)
        if status in (_MS.kInfeasible, _MS.kUnboundedOrInfeasible):
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message=str(status))
        if status == _MS.kTimeLimit:
            obj = float(c @ y) if y is not None else float("nan")
            return Solution(y, Status.TIME_LIMIT, obj, elapsed, message="time limit reached")
        return Solution(None, Status.ERROR, solve_time=elapsed, message=f"HiGHS status {status}")
