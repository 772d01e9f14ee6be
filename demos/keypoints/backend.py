"""Which ILP backend the keypoint demo uses when the user does not name one.

``--solver`` > ``$COMBOPT_SOLVER`` > the first available backend of ``PREFERRED``, the exact
backends ordered by their measured speed on these ILPs (``demos/benchmarks/
keypoint_solvers.py``; the numbers are in ``docs/keypoints.md``). With none of them
available, the library's default (HiGHS) is returned, so the layer raises its usual error.

The backend's options likewise: ``--solver-options`` (JSON) > ``TUNED_OPTIONS`` for the
chosen backend > the backend's own defaults.
"""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np

from combopt_core import list_backends
from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR

PREFERRED = ("cpsat", "gurobi", "highs", "scip")

# Options measured faster on these ILPs, to the same proven optima (docs/keypoints.md):
# CP-SAT without its LP relaxation (linearization_level 0) solves the half-learned p = 5
# systems of mid-training about 6x faster than with it.
TUNED_OPTIONS: dict[str, dict] = {"cpsat": {"options": {"linearization_level": 0}}}


def choose_solver(requested: str | None = None) -> tuple[str, str]:
    """``(backend name, why it was chosen)`` for ``requested`` (``None``: not named)."""
    if requested:
        return requested, "--solver"
    from_env = os.environ.get(SOLVER_ENV_VAR)
    if from_env:
        return from_env, f"${SOLVER_ENV_VAR}"
    available = {s.name for s in list_backends() if s.available}
    for name in PREFERRED:
        if name in available:
            return name, "fastest available on these ILPs"
    return DEFAULT_BACKEND, "library default (no preferred backend available)"


def parse_options(text: str, argument: str) -> dict:
    """Backend keyword options from the JSON object ``text`` given as ``argument``."""
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{argument}: not valid JSON ({exc}): {text!r}") from exc
    if not isinstance(options, dict):  # a bad value of a string argument, hence ValueError
        raise ValueError(f"{argument}: expected a JSON object, got {text!r}")  # noqa: TRY004
    return options


def choose_options(solver: str, requested: str | None = None) -> tuple[dict, str]:
    """``(backend options, why)`` for ``solver``; ``requested`` is JSON (``None``: not given)."""
    if requested is not None:
        return parse_options(requested, "--solver-options"), "--solver-options"
    if solver in TUNED_OPTIONS:
        return TUNED_OPTIONS[solver], "tuned for these ILPs"
    return {}, "backend defaults"


class CardinalitySplit:
    """An exact wrapper for binary ILPs: branch once on the hyperplane ``sum y``, then solve
    both halves with ``inner``.

    Every integer point of ``[0, 1]^n`` has ``sum y <= k`` or ``sum y >= k + 1``, so
    ``min c.y`` is the smaller optimum of the two halves; the second half also gets the row
    ``c.y <= c.y_a`` (the first half's optimum ``y_a``, ties admitted), so it only has to
    prove that nothing with more ones is cheaper. ``k = floor(LP max of sum y) - 1`` (one LP
    per constraint set, shared by a batch); the LP only places the split, the partition is
    exact for any ``k``. On the keypoint ILPs of mid-training (all costs negative, dense
    packing rows) branching on single variables leaves the LP bound weak for thousands of
    nodes; the split separates the optimum's side (``p`` ones) from the larger sets the
    learned rows barely cut off (``docs/keypoints.md``).

    Instances outside a binary box, with equality rows or without rows, and those whose LP
    is infeasible or whose ``k`` is out of ``0 .. n - 1``, go to ``inner`` unchanged.
    ``time_limit`` bounds both halves together; if a half stops on it, the best point found
    is returned with ``TIME_LIMIT`` (feasible, not proven optimal). Thread-safe if ``inner``
    is (the LP's split is cached per thread).
    """

    def __init__(self, inner) -> None:
        self.inner = inner
        self.name = inner.name
        self.releases_gil = getattr(inner, "releases_gil", False)
        self.supports_equalities = getattr(inner, "supports_equalities", False)
        self._local = threading.local()

    def __getstate__(self) -> dict:
        return {"inner": self.inner}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["inner"])

    def split_at(self, instance) -> int | None:
        """``floor(LP max of sum y) - 1`` for ``instance``'s ``A, b`` (cached for the last
        constraint set of this thread), ``None`` where no split applies."""
        key = instance.A.tobytes() + instance.b.tobytes()
        cached = getattr(self._local, "split", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        from scipy.optimize import linprog

        n = instance.num_vars
        lp = linprog(-np.ones(n), A_ub=instance.A, b_ub=instance.b, bounds=(0, 1), method="highs")
        k = int(np.floor(-lp.fun + 1e-6)) - 1 if lp.status == 0 else None
        k = k if k is not None and 0 <= k < n else None
        self._local.split = (key, k)
        return k

    def solve(self, instance, time_limit: float | None = None):
        from combopt_core import ILPInstance, Solution, Status

        binary = np.all(instance.lb == 0) and np.all(instance.ub == 1)
        if not binary or instance.num_equalities or instance.num_constraints == 0:
            return self.inner.solve(instance, time_limit)
        k = self.split_at(instance)
        if k is None:
            return self.inner.solve(instance, time_limit)
        began = time.perf_counter()
        n, start = instance.num_vars, instance.start
        ones = np.ones((1, n))

        def half(A_extra, b_extra, start_ok: bool):
            left = None
            if time_limit is not None:
                left = time_limit - (time.perf_counter() - began)
                if left <= 0:
                    return Solution(None, Status.TIME_LIMIT, message="no time left")
            rows = ILPInstance(
                instance.c,
                np.vstack([instance.A, A_extra]),
                np.concatenate([instance.b, b_extra]),
                instance.lb,
                instance.ub,
                start if start_ok else None,
            )
            return self.inner.solve(rows, left)

        few = start is not None and start.sum() <= k + 0.5
        a = half(ones, [k], few)
        if a.status == Status.OPTIMAL:  # the rest only has to beat a
            b = half(np.vstack([-ones, instance.c[None]]), [-(k + 1), a.objective], False)
        else:
            b = half(-ones, [-(k + 1)], start is not None and not few)
        statuses = {a.status, b.status}
        proven = statuses <= {Status.OPTIMAL, Status.INFEASIBLE}
        found = [s for s in (a, b) if s.y is not None]
        seconds = time.perf_counter() - began
        if not found:
            status = (
                Status.INFEASIBLE
                if statuses == {Status.INFEASIBLE}
                else (Status.TIME_LIMIT if Status.TIME_LIMIT in statuses else b.status)
            )
            message = "" if proven else (a.message or b.message)
            return Solution(None, status, float("nan"), seconds, message)
        y = np.array(min(found, key=lambda s: float(instance.c @ s.y)).y, dtype=np.float64)
        if proven:
            status, message = Status.OPTIMAL, ""
        elif Status.TIME_LIMIT in statuses:
            status, message = Status.TIME_LIMIT, "time limit in one half of the cardinality split"
        else:
            bad = a if a.status not in (Status.OPTIMAL, Status.INFEASIBLE) else b
            status, message = bad.status, bad.message
        return Solution(y, status, float(instance.c @ y), seconds, message)
