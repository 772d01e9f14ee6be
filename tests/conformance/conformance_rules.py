"""The ONE place where backends are allowed to differ in the conformance suite, and the
checks every backend's answers must pass.

``RULES`` lists what a backend cannot be asked (size limits), each with its reason; the
tolerances below are shared by every backend. Add a third-party backend's limits here.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

from combopt_core import ILPInstance, Solution, Status

# Feasibility: A y <= b + FEAS_TOL * max(1, |b|), the rule of the brute-force oracle.
FEAS_TOL = 1e-9
# Objective agreement: |obj - reference| <= OBJ_RTOL * max(1, |reference|).
OBJ_RTOL = 1e-6


@dataclass(frozen=True)
class Rules:
    """What a backend cannot be asked, each limit with why. ``None`` means no limit."""

    max_points: int | None = None  # largest number of integer points in the box
    max_size: int | None = None  # largest n and largest m
    reason: str = ""

    def refuses(self, instance: ILPInstance) -> str | None:
        """Why this backend is not run on ``instance``, or ``None``."""
        n, m = instance.num_vars, instance.num_constraints
        if self.max_size is not None and max(n, m) > self.max_size:
            return self.reason
        points = float(np.prod(instance.ub - instance.lb + 1.0))
        if self.max_points is not None and points > self.max_points:
            return self.reason
        return None


RULES: dict[str, Rules] = {
    "bruteforce": Rules(
        max_points=2**20,
        reason="bruteforce enumerates the box and refuses more than 2^20 integer points",
    ),
    "gurobi": Rules(
        max_size=2000,
        reason="the gurobipy wheel's size-limited licence allows at most 2000 variables and "
        "2000 constraints",
    ),
}
NO_RULES = Rules()

settings.register_profile(
    "combopt-conformance",
    max_examples=int(os.environ.get("COMBOPT_CONFORMANCE_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,  # the same instances on every CI run; raise examples locally to explore
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
CONFORMANCE_SETTINGS = settings.get_profile("combopt-conformance")

TALLY: Counter[str] = Counter()


class Checker:
    """Assertions every returned solution must pass; counts instances checked per backend."""

    def feasible_point(self, name: str, inst: ILPInstance, sol: Solution) -> np.ndarray:
        """``sol`` has an integral point in the box that satisfies ``A y <= b``; returns it."""
        y = sol.y
        assert y is not None, f"{name}: no point returned ({sol.status.name}: {sol.message})"
        assert y.shape == (inst.num_vars,), f"{name}: y has shape {y.shape}"
        assert np.array_equal(y, np.round(y)), f"{name}: y is not integral: {y}"
        assert np.all(y >= inst.lb) and np.all(y <= inst.ub), f"{name}: y={y} leaves the box"
        excess = inst.A @ y - inst.b - FEAS_TOL * np.maximum(1.0, np.abs(inst.b))
        assert np.all(excess <= 0), f"{name}: y={y} violates A y <= b by {excess.max():.3g}"
        assert sol.objective == pytest.approx(float(inst.c @ y), rel=1e-12, abs=1e-12), (
            f"{name}: objective {sol.objective} != c.y"
        )
        return y

    def optimal(self, name: str, inst: ILPInstance, sol: Solution, objective: float) -> None:
        """``sol`` is an optimal, feasible point whose objective equals ``objective``."""
        assert sol.status == Status.OPTIMAL, f"{name}: status {sol.status.name}: {sol.message}"
        self.feasible_point(name, inst, sol)
        tol = OBJ_RTOL * max(1.0, abs(objective))
        assert abs(sol.objective - objective) <= tol, (
            f"{name}: objective {sol.objective!r} disagrees with the reference {objective!r}"
        )

    def infeasible(self, name: str, sol: Solution) -> None:
        assert sol.status == Status.INFEASIBLE, (
            f"{name}: an infeasible problem was reported {sol.status.name}: {sol.message}"
        )
        assert sol.y is None, f"{name}: an infeasible problem returned a point"

    def count(self, name: str, instances: int = 1) -> None:
        TALLY[name] += instances
