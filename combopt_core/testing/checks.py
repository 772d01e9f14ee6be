"""The assertions every backend's answers must pass, and the tolerances they use.

Feasibility is the brute-force oracle's rule, ``A y <= b + FEAS_TOL * max(1, |b|)`` and
``|A_eq y - b_eq| <= FEAS_TOL * max(1, |b_eq|)``; two objectives agree when
``|obj - reference| <= OBJ_RTOL * max(1, |reference|)``.

``asked(solver, inst)`` is what the batch solver hands a backend: the instance itself when
the backend declares ``supports_equalities``, else its equality rows as two ``<=`` rows each.
The kit asks backends through it, so a backend written before equality rows existed is tested
on the form it really receives.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np

from ..limits import BackendLimits
from ..registry import default_registry
from ..result import Solution, Status
from ..spec import ILPInstance, ILPProblem, lower_equalities, make_problem

FEAS_TOL = 1e-9
OBJ_RTOL = 1e-6
# The reported objective must be c.y itself, to within float rounding.
OBJ_IS_CY_TOL = 1e-12


def asked(solver: object, x: ILPInstance | ILPProblem) -> ILPInstance | ILPProblem:
    """``x`` as the batch solver would hand it to ``solver`` (see the module docstring)."""
    if getattr(solver, "supports_equalities", False):
        return x
    if isinstance(x, ILPProblem):
        return lower_equalities(x)
    if x.num_equalities == 0:
        return x
    one = make_problem(x.c, x.A, x.b, x.lb, x.ub, x.A_eq, x.b_eq)
    return dataclasses.replace(lower_equalities(one).instance(0), start=x.start)


def backend_limits(name: str) -> BackendLimits:
    """What backend ``name`` declared in its ``BackendSpec`` it cannot be asked (no limits
    when it declared none)."""
    spec, _ = default_registry().specs()[name]
    return spec.limits or BackendLimits()


class Checker:
    """Assertions on returned solutions; ``tally`` counts the instances checked per backend.

    Every message starts with the backend's name.
    """

    def __init__(self) -> None:
        self.tally: Counter[str] = Counter()

    def feasible_point(self, name: str, inst: ILPInstance, sol: Solution) -> np.ndarray:
        """``sol`` has an integral point in the box that satisfies ``A y <= b`` and
        ``A_eq y == b_eq``; returns it."""
        y = sol.y
        assert y is not None, f"{name}: no point returned ({sol.status.name}: {sol.message})"
        assert y.shape == (inst.num_vars,), f"{name}: y has shape {y.shape}"
        assert np.array_equal(y, np.round(y)), f"{name}: y is not integral: {y}"
        assert np.all(y >= inst.lb) and np.all(y <= inst.ub), f"{name}: y={y} leaves the box"
        excess = inst.A @ y - inst.b - FEAS_TOL * np.maximum(1.0, np.abs(inst.b))
        assert np.all(excess <= 0), f"{name}: y={y} violates A y <= b by {excess.max():.3g}"
        off = np.abs(inst.A_eq @ y - inst.b_eq) - FEAS_TOL * np.maximum(1.0, np.abs(inst.b_eq))
        assert np.all(off <= 0), (
            f"{name}: y={y} violates A_eq y == b_eq by {off.max(initial=0.0):.3g}"
        )
        cy = float(inst.c @ y)
        assert abs(sol.objective - cy) <= OBJ_IS_CY_TOL * max(1.0, abs(cy)), (
            f"{name}: objective {sol.objective} != c.y = {cy}"
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
        """``sol`` reports an infeasible problem, without a point."""
        assert sol.status == Status.INFEASIBLE, (
            f"{name}: an infeasible problem was reported {sol.status.name}: {sol.message}"
        )
        assert sol.y is None, f"{name}: an infeasible problem returned a point"

    def count(self, name: str, instances: int = 1) -> None:
        self.tally[name] += instances
