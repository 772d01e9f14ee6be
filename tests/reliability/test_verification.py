"""Area 4: verification mode. Every answer is checked against the original float problem;
a backend returning an infeasible, non-integral, out-of-box or malformed point is caught,
named (backend and instance), and never flows into training: a malformed answer always
raises; a wrong point raises under ``on_error="raise"`` and is flagged ``Status.ERROR``
(fallback point, zero gradient) under ``on_error="flag"``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from combopt_core import SolverError, Status, solve
from combopt_core.verify import FEASIBILITY_TOL
from combopt_torch import ILPLayer

from .helpers import TimeOutSolver, WrongSolver, random_problem, skip_unless_fits

#: caught only in verification mode (``verify=True``, the default)
VERIFIED = ("infeasible", "fractional", "out_of_bounds", "wrong_objective")
#: malformed answers, caught always
MALFORMED = tuple(k for k in WrongSolver.KINDS if k not in VERIFIED)

EXPECTED = {
    "infeasible": "violates constraint",
    "fractional": "not integral",
    "out_of_bounds": "outside the bounds",
    "wrong_objective": "objective",
    "nan_point": "NaN or inf",
    "wrong_shape": "shape",
    "optimal_without_point": "OPTIMAL without a point",
    "point_with_infeasible_status": "status INFEASIBLE",
    "not_a_solution": "not a combopt Solution",
    "string_point": "dtype str",
    "object_point": "dtype object, not real numbers",
    "complex_point": "dtype complex128, not real numbers",
}


def problem(B: int = 4, n: int = 4):
    """``sum(y) <= 1.5`` (normalised) plus random rows; the all-ones corner is infeasible."""
    c, A, b, lb, ub = random_problem(np.random.default_rng(0), B, n, 2)
    A[:, 0, :] = 1.0 / np.sqrt(n)
    b[:, 0] = 1.5 / np.sqrt(n)
    c[:, 0] = np.arange(B)  # instance key for WrongSolver.victim
    return c, A, b, lb, ub


@pytest.mark.parametrize("kind", WrongSolver.KINDS)
def test_wrong_answer_is_caught_naming_backend_and_instance(kind):
    with pytest.raises(SolverError) as info:
        solve(*problem(), solver=WrongSolver(kind, victim=2.0), workers=1)
    msg = str(info.value)
    assert "backend 'liar'" in msg and "instance 2" in msg and EXPECTED[kind] in msg


@pytest.mark.parametrize("kind", WrongSolver.KINDS)
def test_layer_never_trains_on_a_wrong_answer(kind):
    c, A, b = (torch.tensor(x) for x in problem()[:3])
    with pytest.raises(SolverError, match="backend 'liar'"):
        ILPLayer(0, 1, solver=WrongSolver(kind), on_error="raise")(c, A, b)


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_answers_raise_even_when_flagging(kind):
    c, A, b = (torch.tensor(x) for x in problem()[:3])
    with pytest.raises(SolverError, match="backend 'liar'"):
        ILPLayer(0, 1, solver=WrongSolver(kind), on_error="flag")(c, A, b)


@pytest.mark.parametrize("kind", VERIFIED)
def test_flagged_wrong_point_is_an_error_with_zero_gradient(kind):
    """Under ``on_error="flag"`` a wrong point does not stop training: instance 2 becomes
    ``Status.ERROR`` with the fallback point and no gradient; the others are untouched."""
    c, A, b = (torch.tensor(x, requires_grad=True) for x in problem()[:3])
    layer = ILPLayer(0, 1, solver=WrongSolver(kind, victim=2.0), on_error="flag")
    with pytest.warns(RuntimeWarning, match=f"instance 2: {EXPECTED[kind]}"):
        y, info = layer(c, A, b, return_info=True)
    assert info.status.tolist() == [Status.OPTIMAL, Status.OPTIMAL, Status.ERROR, Status.OPTIMAL]
    assert not y[2].any()  # the fallback point of the box [0, 1]
    y.sum().backward()
    assert not c.grad[2].any() and not A.grad[2].any() and not b.grad[2].any()
    assert c.grad[[0, 1, 3]].any()
    with pytest.warns(RuntimeWarning, match="1 instance"):
        res = solve(*problem(), solver=WrongSolver(kind, victim=2.0), workers=1, on_error="flag")
    assert res.failed.tolist() == [False, False, True, False] and not res.has_solution[2]
    assert np.isnan(res.objective[2]) and "instance 2" in res.messages[2]


def test_every_bad_instance_is_counted():
    with pytest.raises(SolverError, match=r"instance 0: .*\(4 bad instance\(s\)"):
        solve(*problem(), solver=WrongSolver("fractional"), workers=1)


@pytest.mark.parametrize("kind", VERIFIED)
def test_verification_can_be_turned_off(kind):
    res = solve(*problem(), solver=WrongSolver(kind, victim=2.0), workers=1, verify=False)
    assert res.optimal.all()


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_answers_are_caught_even_without_verification(kind):
    with pytest.raises(SolverError, match="backend 'liar'"):
        solve(*problem(), solver=WrongSolver(kind, victim=1.0), workers=1, verify=False)


def test_time_out_incumbent_is_verified_too():
    with pytest.raises(SolverError, match="backend 'timeout'.*violates constraint 0"):
        solve(*problem(), solver=TimeOutSolver(np.ones(4)), time_limit=1.0)


@pytest.mark.parametrize("scale", [1.0, 1e4])
def test_tolerance_is_relative_to_the_right_hand_side(scale):
    """``y = (1, 1)`` against ``y1 + y2 <= b``: within ``1e-9 * max(1, |b|)`` passes, the
    library's one tolerance (``FEASIBILITY_TOL``); 1e-8 beyond it does not."""
    assert FEASIBILITY_TOL == 1e-9
    c, A = np.array([[-1.0, -1.0]]), np.array([[[1.0, 1.0]]]) * scale
    solver = TimeOutSolver(np.array([1.0, 1.0]))
    solve(c, A, [[scale * (2 - 1e-9)]], 0, 1, solver=solver, time_limit=1)
    with pytest.raises(SolverError, match="violates constraint 0 of A y <= b by"):
        solve(c, A, [[scale * (2 - 2e-8)]], 0, 1, solver=solver, time_limit=1)


@pytest.mark.parametrize("dense", [False, True])
def test_real_backend_answers_pass_verification(backend, dense):
    skip_unless_fits(backend, 8, -5 if dense else 0, 5 if dense else 1)
    c, A, b, lb, ub = random_problem(np.random.default_rng(7), 16, 8, 4, dense=dense)
    res = solve(c, A, b, lb, ub, solver=backend, verify=True)
    assert res.optimal.all()
