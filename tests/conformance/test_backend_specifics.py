"""What only one backend does: the oracle's own correctness, CP-SAT's scaling certificate,
Gurobi's licence handling, SCIP's model reuse."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from combopt_bruteforce.enumerate import enumerate_optima
from combopt_core import (
    BackendUnavailableError,
    SolverError,
    Status,
    get_solver,
    list_backends,
    make_problem,
)
from combopt_core.registry import Registry
from combopt_core.testing.strategies import CONFORMANCE_SETTINGS

AVAILABLE = {s.name for s in list_backends() if s.available}


def needs(name: str):
    return pytest.mark.skipif(name not in AVAILABLE, reason=f"backend '{name}' is not available")


# --- brute force: the oracle is checked against plain itertools -----------------------------


@CONFORMANCE_SETTINGS
@given(
    n=st.integers(1, 4),
    m=st.integers(0, 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_oracle_matches_itertools(n, m, seed):
    rng = np.random.default_rng(seed)
    lb = rng.integers(-2, 1, n).astype(float)
    ub = lb + rng.integers(0, 3, n)
    A, b = rng.integers(-3, 4, (m, n)).astype(float), rng.integers(-2, 5, m).astype(float)
    c = rng.integers(-2, 3, n).astype(float)
    inst = make_problem(c, A, b, lb, ub).instance(0)
    points = [
        np.array(p, dtype=float)
        for p in itertools.product(*(range(int(lo), int(hi) + 1) for lo, hi in zip(lb, ub)))
    ]
    feasible = [p for p in points if np.all(A @ p <= b)]
    found = enumerate_optima(inst)
    if not feasible:
        assert found.optimal.shape[0] == 0 and np.isnan(found.objective)
        return
    best = min(float(c @ p) for p in feasible)
    optima = [p for p in feasible if float(c @ p) == best]  # itertools order is lexicographic
    assert found.objective == best
    np.testing.assert_array_equal(found.optimal, np.array(optima))


def test_bruteforce_tie_rule_is_lexicographic():
    solver = get_solver("bruteforce")
    inst = make_problem([0.0, -1.0, 0.0], np.zeros((0, 3)), np.zeros(0), -1, 1).instance(0)
    np.testing.assert_array_equal(solver.solve(inst).y, [-1.0, 1.0, -1.0])


def test_bruteforce_refuses_large_boxes_clearly():
    inst = make_problem(np.ones(21), np.ones((1, 21)), [3.0], 0, 1).instance(0)
    with pytest.raises(SolverError, match=r"2097152 integer points.*max_points=1048576"):
        get_solver("bruteforce").solve(inst)
    assert get_solver("bruteforce", max_points=2**21).solve(inst).status == Status.OPTIMAL
    with pytest.raises(ValueError, match="max_points"):
        get_solver("bruteforce", max_points=0)


# --- CP-SAT: scaling keeps the integer feasible set, and the certificate catches the rest ---


@CONFORMANCE_SETTINGS
@given(
    A=arrays(np.float64, (3, 4), elements=st.floats(-10, 10, allow_nan=False)),
    b=arrays(np.float64, 3, elements=st.floats(-20, 20, allow_nan=False)),
    bits=st.sampled_from([10, 16, 24]),
)
def test_cpsat_scaling_brackets_the_float_rows(A, b, bits):
    pytest.importorskip("ortools")
    from combopt_cpsat.scaling import scale_rows
    from combopt_cpsat.solver import FEAS_TOL

    lb, ub = np.full(4, -3.0), np.full(4, 3.0)
    rows = scale_rows(A, b, lb, ub, bits, feas_tol=FEAS_TOL)
    for p in itertools.product(range(-3, 4), repeat=4):
        y = np.array(p, dtype=float)
        float_ok = np.all(A @ y <= b + FEAS_TOL * np.maximum(1.0, np.abs(b)))
        strict_ok = np.all(A @ y <= b)
        relaxed_ok = np.all(rows.coef @ y.astype(np.int64) <= rows.relaxed)
        tight_ok = np.all(rows.coef @ y.astype(np.int64) <= rows.tight)
        if rows.trivially_infeasible:
            assert not strict_ok
            continue
        assert relaxed_ok or not float_ok, "the relaxation lost a feasible point"
        assert float_ok or not tight_ok, "the restriction admitted an infeasible point"


@CONFORMANCE_SETTINGS
@given(
    c=arrays(np.float64, 5, elements=st.floats(-1e3, 1e3, allow_nan=False)),
    reach=st.integers(0, 1000),
)
def test_cpsat_objective_error_bound_holds(c, reach):
    pytest.importorskip("ortools")
    from combopt_cpsat.scaling import scale_objective

    lb, ub = np.full(5, -float(reach)), np.full(5, float(reach))
    obj = scale_objective(c, lb, ub)
    assert np.abs(obj.coef).astype(float) @ (ub + 1) < 2.0**52
    for y in (lb, ub, np.where(c > 0, lb, ub), np.zeros(5)):
        rounded = np.ldexp(float(obj.coef @ y.astype(np.int64)), -obj.exponent)
        assert abs(c @ y - rounded) <= obj.error * (1 + 1e-9) + 1e-12 * abs(c @ y)


def test_cpsat_scaling_is_exact_on_dyadic_rows():
    pytest.importorskip("ortools")
    from combopt_cpsat.scaling import scale_rows

    A = np.array([[0.5, -1.25, 3.0], [1.0, 1.0, 1.0]])
    rows = scale_rows(A, np.array([1.3, 2.0]), np.zeros(3), np.full(3, 5.0))
    assert rows.exact
    assert rows.coef.max() < 2**24


def test_cpsat_scaling_refuses_overflow():
    pytest.importorskip("ortools")
    from combopt_cpsat.scaling import scale_rows

    with pytest.raises(SolverError, match="variable bounds .* 64-bit"):
        scale_rows(np.array([[1.0, 1.0]]), np.array([1.0]), np.zeros(2), np.full(2, 2.0**52))
    with pytest.raises(SolverError, match="row 0 of A cannot be scaled"):
        scale_rows(np.array([[1.0, 1.0]]), np.array([1.0]), np.zeros(2), np.full(2, 2.0**45))
    wide = scale_rows(np.array([[1.0, 1.0]]), np.array([1.0]), np.zeros(2), np.full(2, 2.0**30))
    assert np.abs(wide.coef).max() * 2.0**31 <= 2.0**51  # fewer bits, exact activities


@needs("cpsat")
def test_cpsat_uncertifiable_optimum_is_reported_not_returned():
    """Coarse 10-bit scaling of 1.0001 y <= 5.0003: the relaxation allows y = 5 (float says
    no), the restriction only y = 4 (objective above the bound): an ERROR, not a wrong point."""
    solver = get_solver("cpsat", bits=10)
    inst = make_problem([-1.0], [[1.0001]], [5.0003], 0, 10).instance(0)
    sol = solver.solve(inst)
    assert sol.status == Status.ERROR and sol.y is None
    assert "cannot certify" in sol.message
    assert get_solver("cpsat").solve(inst).y.tolist() == [4.0]  # 24 bits resolve it


@needs("cpsat")
def test_cpsat_restriction_certifies_when_it_reaches_the_bound():
    solver = get_solver("cpsat", bits=10)
    inst = make_problem(
        [-1.0, -1.0], [[1.0001, 0.0], [1.0, 1.0]], [5.0003, 5.5], 0, [10, 1]
    ).instance(0)
    sol = solver.solve(inst)
    assert sol.status == Status.OPTIMAL, sol.message
    np.testing.assert_array_equal(sol.y, [4.0, 1.0])


# --- Gurobi: the size-limited licence gives a clear error, never a crash ---------------------


@needs("gurobi")
def test_gurobi_model_too_large_names_the_licence():
    """Above 2000 variables the wheel's licence refuses; a full licence solves it."""
    n = 2001
    inst = make_problem(-np.ones(n), np.ones((1, n)), [3.0], 0, 1).instance(0)
    try:
        sol = get_solver("gurobi").solve(inst)
    except BackendUnavailableError as exc:
        assert "size-limited licence" in str(exc) and "2000" in str(exc)
    else:  # a full licence is installed
        assert sol.status == Status.OPTIMAL and sol.objective == -3.0


@needs("gurobi")
def test_gurobi_without_licence_is_unavailable_with_reason(monkeypatch):
    import gurobipy as gp

    import combopt_gurobi
    import combopt_gurobi.solver

    def no_licence(options):
        raise gp.GurobiError(10009, "No Gurobi license found")

    monkeypatch.setattr(combopt_gurobi.solver, "start_env", no_licence)
    combopt_gurobi.licence_problem.cache_clear()
    try:
        row = {s.name: s for s in Registry().statuses()}["gurobi"]
        assert not row.available and "no usable Gurobi licence" in row.reason
        with pytest.raises(BackendUnavailableError, match="licence"):
            Registry().get_solver("gurobi")
    finally:
        combopt_gurobi.licence_problem.cache_clear()


# --- SCIP: the reused model answers as a fresh one would -------------------------------------


@needs("scip")
def test_scip_reused_model_equals_fresh_models():
    rng = np.random.default_rng(3)
    reused, fresh = get_solver("scip"), get_solver("scip", reuse_model=False)
    for k in range(12):
        lo, hi = (0, 1) if k % 3 else (-3, 0)  # bounds change: a [0, 1] var turns binary
        A = rng.integers(-4, 5, (3, 5)).astype(float)
        inst = make_problem(rng.uniform(-1, 1, 5), A, rng.integers(0, 4, 3), lo, hi).instance(0)
        a, b = reused.solve(inst), fresh.solve(inst)
        assert a.status == b.status
        assert a.objective == pytest.approx(b.objective) or (a.y is None and b.y is None)
