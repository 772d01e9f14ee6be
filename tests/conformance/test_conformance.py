"""Every backend against the brute-force oracle, each other, and the paper's data.

Generated instances use coefficients on grids (multiples of 1/4, 1/7 or 1/100), so that any
integer point's slack is either zero or far above every solver's tolerance: "feasible" and
"optimal" are then unambiguous, and any disagreement is a real bug.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from combopt_bruteforce.enumerate import enumerate_optima
from combopt_core import ILPInstance, Status, make_problem, solve_batch

from .conformance_rules import CONFORMANCE_SETTINGS, FEAS_TOL, NO_RULES, OBJ_RTOL, RULES

DATA = Path(__file__).resolve().parents[2] / "demos" / "data" / "random_constraints"
RC_FILES = sorted(DATA.glob("*.npz"))
RC_SAMPLE = 8  # test rows per data file, per backend
LABEL_GAP = 1e-4  # Gurobi's default relative MIP gap, at which the paper's labels were solved


def _grid(draw, shape, low: int, high: int) -> np.ndarray:
    denominator = draw(st.sampled_from([1, 4, 7, 100]))
    ints = draw(arrays(np.int64, shape, elements=st.integers(low, high)))
    return ints / denominator


@st.composite
def small_ilps(draw, max_vars: int = 6, max_width: int = 3) -> ILPInstance:
    """Boxes of at most ``(max_width + 1) ** max_vars`` points, per-variable bounds."""
    n = draw(st.integers(1, max_vars))
    lb = draw(arrays(np.int64, n, elements=st.integers(-3, 2))).astype(float)
    ub = lb + draw(arrays(np.int64, n, elements=st.integers(0, max_width)))
    m = draw(st.integers(0, 4))
    A = _grid(draw, (m, n), -8, 8).reshape(m, n)
    b = _grid(draw, (m,), -10, 30)
    ties = draw(st.booleans())
    c = (
        draw(arrays(np.int64, n, elements=st.integers(-2, 2))).astype(float)
        if ties
        else draw(arrays(np.float64, n, elements=st.floats(-1, 1, allow_nan=False, width=32)))
    )
    return make_problem(c, A, b, lb, ub).instance(0)


@st.composite
def integer_infeasible_ilps(draw) -> ILPInstance:
    """``2 y_0 + 2 y_1 == 1`` (as two rows) plus random rows: LP-feasible, integer-infeasible."""
    base = draw(small_ilps(max_vars=5))
    n = max(base.num_vars, 2)
    extra = n - base.num_vars

    def pad(v: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([v, np.full(extra, fill)])

    lb, ub = pad(base.lb, 0.0), pad(base.ub, 1.0)
    lb[:2], ub[:2] = 0.0, 1.0
    row = np.zeros(n)
    row[:2] = 2.0
    A = np.vstack([np.hstack([base.A, np.zeros((base.num_constraints, extra))]), row, -row])
    b = np.concatenate([base.b, [1.0, -1.0]])
    return make_problem(pad(base.c, 0.0), A, b, lb, ub).instance(0)


def _applies(rules, inst: ILPInstance) -> None:
    """Skip the test when ``RULES`` says this backend cannot be asked ``inst`` (not inside
    ``@given``: there ``assume`` drops one example instead of skipping the whole test)."""
    reason = rules.refuses(inst)
    if reason:
        pytest.skip(reason)


@CONFORMANCE_SETTINGS
@given(inst=small_ilps())
def test_matches_bruteforce(backend, solver, rules, check, inst):
    """Same status and objective as enumeration; a point from the optimal set (ties allowed)."""
    assume(rules.refuses(inst) is None)
    truth = enumerate_optima(inst)
    sol = solver.solve(inst)
    check.count(backend)
    if truth.optimal.shape[0] == 0:
        check.infeasible(backend, sol)
        return
    check.optimal(backend, inst, sol, truth.objective)
    if truth.unique:
        np.testing.assert_array_equal(sol.y, truth.optimal[0], err_msg=f"{backend}: argmin")
    else:  # ties: any optimal point is right, but it must be one of them
        assert (truth.optimal == sol.y).all(axis=1).any(), f"{backend}: {sol.y} not optimal"


@CONFORMANCE_SETTINGS
@given(inst=integer_infeasible_ilps())
def test_integer_infeasible_is_reported(backend, solver, rules, check, inst):
    assume(rules.refuses(inst) is None)
    check.count(backend)
    check.infeasible(backend, solver.solve(inst))


def test_bounds_honoured_on_wide_boxes(backend, solver, rules, check):
    """Without constraints each variable goes to the bound its cost points at."""
    lb = np.array([-1000.0, -3.0, 0.0, 7.0, -20.0, 5.0])
    ub = np.array([1000.0, -3.0, 1.0, 9.0, 20.0, 5.0])
    c = np.array([1.0, -1.0, -0.5, -2.0, 0.25, 3.0])
    inst = make_problem(c, np.zeros((0, 6)), np.zeros(0), lb, ub).instance(0)
    _applies(rules, inst)
    sol = solver.solve(inst)
    check.count(backend)
    expected = np.where(c > 0, lb, ub)
    check.optimal(backend, inst, sol, float(c @ expected))
    np.testing.assert_array_equal(sol.y, expected)


def _set_cover(rng: np.random.Generator, n: int = 12, elements: int = 8) -> ILPInstance:
    cover = rng.random((elements, n)) < 0.3
    cover[np.arange(elements), rng.integers(0, n, elements)] = True  # every element coverable
    return make_problem(np.ones(n), -cover.astype(float), -np.ones(elements), 0, 1).instance(0)


def test_ties_objectives_agree(backend, solver, check):
    """Unit-cost set cover has many optima: compare objectives and optimality, not argmins."""
    rng = np.random.default_rng(2021)
    tied = 0
    for _ in range(20):
        inst = _set_cover(rng)
        truth = enumerate_optima(inst)
        sol = solver.solve(inst)
        check.count(backend)
        check.optimal(backend, inst, sol, truth.objective)
        assert (truth.optimal == sol.y).all(axis=1).any(), f"{backend}: {sol.y} not optimal"
        tied += not truth.unique
    assert tied >= 10, "the set-cover sample should be dominated by ties"


@pytest.mark.parametrize("path", RC_FILES, ids=[p.stem for p in RC_FILES])
def test_random_constraints_reproduced_exactly(backend, solver, rules, check, path):
    """A seeded sample of every Random Constraints file: the published optimum, exactly.

    The labels come from Gurobi at its default relative MIP gap of 1e-4, so a label may be
    slightly suboptimal (seen: ``dense_m4_seed3`` train row 8). An exact backend may then
    return a different point only if it is feasible and cheaper by at most that gap.
    """
    data = np.load(path)
    rows = np.random.default_rng(zlib.crc32(path.stem.encode())).choice(
        len(data["c_test"]), RC_SAMPLE, replace=False
    )
    c, labels = data["c_test"][rows], data["y_test"][rows]
    problem = make_problem(c, data["A"], data["b"], data["lb"], data["ub"])
    _applies(rules, problem.instance(0))
    result = solve_batch(solver, problem, workers=2)
    check.count(backend, len(rows))
    assert result.optimal.all(), f"{backend}: statuses {result.status}, {result.messages}"
    label_cost = np.einsum("bn,bn->b", c, labels)
    for i in np.flatnonzero((result.y != labels).any(axis=1)):
        gain = label_cost[i] - result.objective[i]
        assert 0 < gain <= LABEL_GAP * abs(label_cost[i]), f"{backend}: argmin of row {rows[i]}"
        assert np.all(data["A"] @ result.y[i] <= data["b"] + FEAS_TOL), f"{backend}: row {rows[i]}"


def _medium(rng: np.random.Generator, n: int, m: int, lo: float, hi: float) -> ILPInstance:
    A = rng.normal(size=(m, n))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    b = rng.uniform(0.0, 1.0, m) * np.sqrt(n) * 0.5
    return make_problem(rng.uniform(-1, 1, n), A, b, lo, hi).instance(0)


@pytest.mark.parametrize(
    "n, m, lo, hi", [(30, 8, 0, 1), (12, 6, -4, 4)], ids=["binary-n30", "int-n12"]
)
def test_backends_agree_beyond_enumeration(available_solvers, check, n, m, lo, hi):
    """Where enumeration is out of reach, every backend must agree with every other."""
    rng = np.random.default_rng(n * 100 + m)
    for _ in range(6):
        inst = _medium(rng, n, m, lo, hi)
        objectives = {}
        for name, solver in available_solvers.items():
            if RULES.get(name, NO_RULES).refuses(inst):
                continue
            sol = solver.solve(inst)
            check.count(name)
            assert sol.status == Status.OPTIMAL, f"{name}: {sol.status.name}: {sol.message}"
            check.feasible_point(name, inst, sol)
            objectives[name] = sol.objective
        assert len(objectives) >= 1
        ref = min(objectives.values())
        far = {k: v for k, v in objectives.items() if abs(v - ref) > OBJ_RTOL * max(1, abs(ref))}
        assert not far, f"backends disagree: {objectives}"


def test_time_limit_is_respected(backend, solver, rules, check):
    """A tiny limit on a hard instance: TIME_LIMIT quickly, any incumbent feasible."""
    if backend == "bruteforce":
        inst = make_problem(np.ones(20), np.ones((8, 20)), np.full(8, 10.0), 0, 1).instance(0)
    else:
        inst = _medium(np.random.default_rng(7), 100, 20, 0, 1)
    _applies(rules, inst)
    start = time.perf_counter()
    sol = solver.solve(inst, time_limit=1e-3)
    elapsed = time.perf_counter() - start
    check.count(backend)
    assert sol.status == Status.TIME_LIMIT, f"{backend}: {sol.status.name} {sol.message}"
    assert elapsed < 2.0, f"{backend}: a 1 ms limit took {elapsed:.2f} s"
    if sol.y is not None:
        check.feasible_point(backend, inst, sol)
    else:
        assert np.isnan(sol.objective)


def test_threads_do_not_change_answers(backend, solver, check):
    """Per-thread models: a 2-thread batch equals the serial one, instance by instance."""
    data = np.load(DATA / "binary_m2_seed1.npz")
    rng = np.random.default_rng(5)
    c = data["c_test"][:16]
    A = data["A"][None] + rng.normal(0, 0.05, (16, *data["A"].shape))  # per-instance A
    problem = make_problem(c, A, np.broadcast_to(data["b"], (16, len(data["b"]))), 0, 1)
    serial = solve_batch(solver, problem, workers=1)
    threaded = solve_batch(solver, problem, workers=2)
    check.count(backend, 16)
    np.testing.assert_array_equal(serial.status, threaded.status)
    np.testing.assert_array_equal(serial.y, threaded.y)


def _needs_solve_many(backend: str, solver) -> None:
    if not hasattr(solver, "solve_many"):
        pytest.skip(f"backend '{backend}' has no solve_many (the executors call solve)")


def _quarter_grid_chunk(rng: np.random.Generator, shared: bool, batch: int = 12):
    """Rows on a 1/4 grid (no tolerance decides feasibility), continuous costs (one optimum
    each), box [-1, 1]^6. Per-instance: instances 4-6 repeat one constraint set back to back
    (a kept model is reused), 2 is integer-infeasible, 9 has an empty box row."""
    n, m = 6, 3
    shape = (m, n) if shared else (batch, m, n)
    A = rng.integers(-4, 5, shape) / 4.0
    b = rng.integers(0, 8, shape[:-1]) / 4.0
    if not shared:
        A[4:7], b[4:7] = A[4], b[4]
        row = np.where(np.arange(n) < 2, 2.0, 0.0)  # 2 y0 + 2 y1 == 1 has no integer point
        A[2, 0], b[2, 0] = row, 1.0
        A[2, 1], b[2, 1] = -row, -1.0
        A[9, 0], b[9, 0] = np.eye(n)[0], -2.0  # y0 <= -2 leaves the box
    c = rng.uniform(-1, 1, (batch, n))
    return make_problem(c, A, b, -1, 1)


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-instance"])
def test_solve_many_answers_as_solve(backend, solver, check, shared):
    """``solve_many`` on a chunk gives, instance by instance, what ``solve`` gives: the
    enumerated optimum (unique here) or ``INFEASIBLE``."""
    _needs_solve_many(backend, solver)
    problem = _quarter_grid_chunk(np.random.default_rng(11 if shared else 12), shared)
    many = solver.solve_many(problem)
    assert len(many) == problem.batch_size
    for i, sol in enumerate(many):
        inst = problem.instance(i)
        one = solver.solve(inst)
        truth = enumerate_optima(inst)
        check.count(backend)
        assert sol.status == one.status, f"{backend}: instance {i}: {sol.status} vs {one.status}"
        if truth.optimal.shape[0] == 0:
            check.infeasible(backend, sol)
            continue
        check.optimal(backend, inst, sol, truth.objective)
        np.testing.assert_array_equal(sol.y, one.y, err_msg=f"{backend}: instance {i}")
    if not shared:
        assert many[2].status == Status.INFEASIBLE and many[9].status == Status.INFEASIBLE


def test_solve_many_infeasible_shared_chunk(backend, solver, check):
    """A shared constraint set with no integer point: every instance of the chunk says so."""
    _needs_solve_many(backend, solver)
    A = np.array([[2.0, 2.0, 0.0], [-2.0, -2.0, 0.0]])
    problem = make_problem(np.eye(3), A, np.array([1.0, -1.0]), 0, 1)
    for sol in solver.solve_many(problem):
        check.count(backend)
        check.infeasible(backend, sol)


def test_solve_many_respects_the_time_limit(backend, solver, rules, check):
    """A tiny limit on a chunk of hard instances: each stops with TIME_LIMIT, quickly."""
    _needs_solve_many(backend, solver)
    inst = _medium(np.random.default_rng(7), 100, 20, 0, 1)
    _applies(rules, inst)
    c = np.random.default_rng(8).uniform(-1, 1, (3, inst.num_vars))
    problem = make_problem(c, inst.A, inst.b, inst.lb, inst.ub)
    start = time.perf_counter()
    many = solver.solve_many(problem, time_limit=1e-3)
    elapsed = time.perf_counter() - start
    assert elapsed < 6.0, f"{backend}: three 1 ms limits took {elapsed:.2f} s"
    for i, sol in enumerate(many):
        check.count(backend)
        assert sol.status == Status.TIME_LIMIT, f"{backend}: {sol.status.name} {sol.message}"
        if sol.y is not None:
            check.feasible_point(backend, problem.instance(i), sol)
