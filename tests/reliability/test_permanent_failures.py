"""Area 2b: failures that no instance escapes raise at once, even under ``on_error="flag"``.

Flagging them would mark every instance ``Status.ERROR``, warn once and let training go on
with zero gradients. Permanent: a backend raising ``BackendUnavailableError`` (licence or
size limit) or ``SolverOptionError`` (an option rejected at solve time) on any instance, and
two or more instances that all fail with the same error. A failure of one instance, or
different failures, stay flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from combopt_core import (
    BackendUnavailableError,
    PermanentSolverError,
    Solution,
    SolverError,
    SolverOptionError,
    solve,
)
from combopt_torch import ILPLayer

from .helpers import ScriptedSolver, available_backends, brute_force, random_problem


def marked_problem(B: int, n: int = 3, m: int = 2):
    """Instance ``i`` has ``c[i, 0] = i``."""
    c, A, b, lb, ub = random_problem(np.random.default_rng(0), B, n, m)
    c[:, 0] = np.arange(B)
    return c, A, b, lb, ub


@dataclass
class RaisingSolver:
    """Raises ``error`` on the instances with ``c[0]`` in ``on`` (every one when ``None``)."""

    error: Exception
    on: frozenset | None = None
    name: str = "raising"
    releases_gil: bool = False
    calls: int = 0

    def solve(self, instance, time_limit=None) -> Solution:
        self.calls += 1
        if self.on is None or float(instance.c[0]) in self.on:
            raise self.error
        return brute_force(instance)


@pytest.mark.parametrize(
    "error",
    [
        BackendUnavailableError("raising: model too large for the size-limited licence"),
        SolverOptionError("raising: option 'Presolve' rejected: value 7 out of range"),
    ],
)
@pytest.mark.parametrize("on", [None, frozenset({2.0})])
def test_licence_and_option_errors_raise_even_when_flagging(error, on):
    solver = RaisingSolver(error, on)
    with pytest.raises(PermanentSolverError) as info:
        solve(*marked_problem(8), solver=solver, workers=1, on_error="flag")
    msg = str(info.value)
    assert "backend 'raising'" in msg and str(error) in msg and "on_error='flag'" in msg
    assert info.value.__cause__ is error
    assert solver.calls <= 3, "the batch went on after a permanent failure"


@pytest.mark.parametrize("workers", [1, 2])
def test_the_same_error_on_every_instance_raises(workers):
    solver = RaisingSolver(RuntimeError("libsolver.so: undefined symbol"))
    with pytest.raises(PermanentSolverError) as info:
        solve(*marked_problem(6), solver=solver, workers=workers, on_error="flag")
    msg = str(info.value)
    assert "failed on all 6 instances" in msg and "undefined symbol" in msg
    assert "choose another backend" in msg


def test_the_same_error_status_on_every_instance_raises():
    solver = ScriptedSolver(error_on=frozenset(range(4)))
    with pytest.raises(PermanentSolverError, match="all 4 instances.*injected error status"):
        solve(*marked_problem(4), solver=solver, workers=1, on_error="flag")


def test_different_errors_on_every_instance_stay_flagged():
    """``ScriptedSolver``'s failure message names the instance's key: per-instance causes."""
    solver = ScriptedSolver(fail_on=frozenset(range(4)))
    with pytest.warns(RuntimeWarning, match=r"4 instance\(s\) flagged"):
        res = solve(*marked_problem(4), solver=solver, workers=1, on_error="flag")
    assert res.failed.all()


def test_one_failed_instance_of_one_stays_flagged():
    solver = RaisingSolver(RuntimeError("numerical trouble"))
    with pytest.warns(RuntimeWarning, match="numerical trouble"):
        res = solve(*marked_problem(1), solver=solver, on_error="flag")
    assert res.failed.all()


def test_some_failed_instances_stay_flagged():
    solver = RaisingSolver(RuntimeError("numerical trouble"), on=frozenset({1.0, 3.0}))
    with pytest.warns(RuntimeWarning, match=r"2 instance\(s\) flagged"):
        res = solve(*marked_problem(5), solver=solver, workers=1, on_error="flag")
    assert res.failed.tolist() == [False, True, False, True, False]


def test_layer_training_stops_on_a_permanent_failure():
    c, A, b, lb, ub = marked_problem(4)
    solver = RaisingSolver(RuntimeError("licence server down"))
    layer = ILPLayer(lb, ub, solver=solver, skip=False)  # every instance reaches it
    with pytest.raises(PermanentSolverError, match="licence server down"):
        layer(*(torch.tensor(x) for x in (c, A, b)))


def test_permanent_failure_is_a_solver_error():
    """Code that catches ``SolverError`` (``on_error="raise"``) keeps working."""
    assert issubclass(PermanentSolverError, SolverError)
    with pytest.raises(SolverError):
        solve(*marked_problem(3), solver=RaisingSolver(RuntimeError("x")), on_error="raise")


def _gurobi_size_limited() -> bool:
    if "gurobi" not in available_backends():
        return False
    import gurobipy as gp

    with gp.Env(params={"OutputFlag": 0}) as env, gp.Model(env=env) as model:
        model.addMVar(2001, ub=1.0)
        try:
            model.optimize()
        except gp.GurobiError as exc:
            return exc.errno == 10010
    return False


@pytest.mark.skipif(not _gurobi_size_limited(), reason="needs Gurobi's size-limited licence")
def test_gurobi_model_over_the_licence_limit_raises_when_flagging():
    n = 2001
    c = -np.ones((3, n))
    A = np.ones((1, n))
    with pytest.raises(PermanentSolverError, match="size-limited licence.*another backend"):
        solve(c, A, [3.0], 0, 1, solver="gurobi", on_error="flag", workers=1)
