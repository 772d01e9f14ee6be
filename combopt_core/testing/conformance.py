"""The conformance kit's tests: one backend against the brute-force oracle, the paper's
data, every other backend, and the registry's rules of selection.

Every test takes the ``combopt_backend`` fixture of the kit's pytest plugin
(``combopt_core.testing.plugin``). Run them with ``pytest --combopt-backend NAME``, or
collect them in a test module of your own with
``from combopt_core.testing.conformance import *``. A backend is asked only what its
``BackendSpec.limits`` allow: a refused generated example is dropped, a refused fixed
problem skips its test with the reason. Problems with equality rows reach a backend as the
batch solver hands them over (``checks.asked``): as they are when it declares
``supports_equalities``, else with each equality as its two ``<=`` halves.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from hypothesis import assume, given

from combopt_bruteforce.enumerate import enumerate_optima

from ..batch import solve, solve_batch
from ..cli import main as cli_main
from ..interrupts import interruptible
from ..limits import BackendLimits
from ..registry import DEFAULT_BACKEND, SOLVER_ENV_VAR, get_solver
from ..result import BatchSolution, Solution, Status
from ..spec import ILPInstance, make_problem
from .checks import FEAS_TOL, OBJ_RTOL, asked, backend_limits
from .problems import (
    MEDIUM_CASES,
    equality_chunk,
    equality_instances,
    hard_instances,
    infeasible_shared_chunk,
    interrupt_instances,
    medium_instances,
    random_constraints,
    set_covers,
    solve_many_chunk,
    thread_batch,
    wide_box,
)
from .strategies import (
    CONFORMANCE_SETTINGS,
    equality_infeasible_ilps,
    integer_infeasible_ilps,
    small_ilps,
    small_ilps_with_equalities,
)

RANDOM_CONSTRAINTS = random_constraints()
LABEL_GAP = 1e-4  # Gurobi's default relative MIP gap, at which the paper's labels were solved


def _skip_if_refused(limits: BackendLimits, inst: ILPInstance) -> None:
    """Skip when the backend declared it cannot be asked ``inst`` (not inside ``@given``:
    there ``assume`` drops one example instead of skipping the whole test)."""
    reason = limits.refuses(inst)
    if reason:
        pytest.skip(reason)


# --- exactness: the oracle, infeasibility, bounds, ties, the paper's data -------------------


@CONFORMANCE_SETTINGS
@given(inst=small_ilps())
def test_matches_bruteforce(combopt_backend, combopt_solver, combopt_limits, combopt_check, inst):
    """Same status and objective as enumeration; a point from the optimal set (ties allowed)."""
    assume(combopt_limits.refuses(inst) is None)
    _against_the_oracle(combopt_backend, combopt_solver, combopt_check, inst)


def _against_the_oracle(name: str, solver, check, inst: ILPInstance) -> None:
    """``solver``'s answer to ``inst`` (as the batch solver would ask it) is enumeration's."""
    truth = enumerate_optima(inst)
    sol = solver.solve(asked(solver, inst))
    check.count(name)
    if truth.optimal.shape[0] == 0:
        check.infeasible(name, sol)
        return
    check.optimal(name, inst, sol, truth.objective)
    if truth.unique:
        np.testing.assert_array_equal(sol.y, truth.optimal[0], err_msg=f"{name}: argmin")
    else:  # ties: any optimal point is right, but it must be one of them
        assert (truth.optimal == sol.y).all(axis=1).any(), f"{name}: {sol.y} not optimal"


@CONFORMANCE_SETTINGS
@given(inst=integer_infeasible_ilps())
def test_integer_infeasible_is_reported(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, inst
):
    assume(combopt_limits.refuses(inst) is None)
    combopt_check.count(combopt_backend)
    combopt_check.infeasible(combopt_backend, combopt_solver.solve(inst))


def test_bounds_honoured_on_wide_boxes(
    combopt_backend, combopt_solver, combopt_limits, combopt_check
):
    """Without constraints each variable goes to the bound its cost points at."""
    inst = wide_box()
    _skip_if_refused(combopt_limits, inst)
    sol = combopt_solver.solve(inst)
    combopt_check.count(combopt_backend)
    expected = np.where(inst.c > 0, inst.lb, inst.ub)
    combopt_check.optimal(combopt_backend, inst, sol, float(inst.c @ expected))
    np.testing.assert_array_equal(sol.y, expected)


def test_ties_objectives_agree(combopt_backend, combopt_solver, combopt_limits, combopt_check):
    """Unit-cost set cover has many optima: compare objectives and optimality, not argmins."""
    name, tied = combopt_backend, 0
    for inst in set_covers():
        _skip_if_refused(combopt_limits, inst)
        truth = enumerate_optima(inst)
        sol = combopt_solver.solve(inst)
        combopt_check.count(name)
        combopt_check.optimal(name, inst, sol, truth.objective)
        assert (truth.optimal == sol.y).all(axis=1).any(), f"{name}: {sol.y} not optimal"
        tied += not truth.unique
    assert tied >= 10, "the set-cover sample should be dominated by ties"


@pytest.mark.parametrize("rc", RANDOM_CONSTRAINTS, ids=[rc.name for rc in RANDOM_CONSTRAINTS])
def test_random_constraints_reproduced_exactly(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, rc
):
    """A seeded sample of every Random Constraints dataset: the published optimum, exactly.

    The labels come from Gurobi at its default relative MIP gap of 1e-4, so a label may be
    slightly suboptimal (seen: ``dense_m4_seed3`` test row 8). An exact backend may then
    return a different point only if it is feasible and cheaper by at most that gap.
    """
    name, problem = combopt_backend, rc.problem()
    _skip_if_refused(combopt_limits, problem.instance(0))
    result = solve_batch(combopt_solver, problem, workers=2)
    combopt_check.count(name, len(rc.rows))
    assert result.optimal.all(), f"{name}: statuses {result.status}, {result.messages}"
    label_cost = np.einsum("bn,bn->b", rc.c, rc.labels)
    for i in np.flatnonzero((result.y != rc.labels).any(axis=1)):
        gain = label_cost[i] - result.objective[i]
        assert 0 < gain <= LABEL_GAP * abs(label_cost[i]), f"{name}: argmin of row {rc.rows[i]}"
        assert np.all(rc.A @ result.y[i] <= rc.b + FEAS_TOL), f"{name}: row {rc.rows[i]}"


@pytest.mark.parametrize("case", list(MEDIUM_CASES))
def test_agrees_with_every_backend_beyond_enumeration(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, combopt_reference_solvers, case
):
    """Where enumeration is out of reach, the backend agrees with every other backend that
    can run here (and may be asked the instance)."""
    name, compared = combopt_backend, 0
    for inst in medium_instances(case):
        _skip_if_refused(combopt_limits, inst)
        sol = combopt_solver.solve(inst)
        combopt_check.count(name)
        assert sol.status == Status.OPTIMAL, f"{name}: {sol.status.name}: {sol.message}"
        combopt_check.feasible_point(name, inst, sol)
        objectives = {name: sol.objective}
        for other, solver in combopt_reference_solvers.items():
            if other == name or backend_limits(other).refuses(inst):
                continue
            ref = solver.solve(inst)
            assert ref.status == Status.OPTIMAL, f"{other}: {ref.status.name}: {ref.message}"
            objectives[other] = ref.objective
        tol = OBJ_RTOL * max(1.0, abs(sol.objective))
        assert all(abs(v - sol.objective) <= tol for v in objectives.values()), (
            f"backends disagree: {objectives}"
        )
        compared += len(objectives) - 1
    if not compared:
        pytest.skip("no other backend here may be asked these instances")


# --- time limits, threads, solve_many -------------------------------------------------------


def test_time_limit_is_respected(combopt_backend, combopt_solver, combopt_limits, combopt_check):
    """A tiny limit on the largest hard instance the backend accepts: TIME_LIMIT quickly, any
    incumbent feasible."""
    name = combopt_backend
    inst = next((i for i in hard_instances() if combopt_limits.refuses(i) is None), None)
    if inst is None:
        pytest.skip("the backend's limits refuse every hard instance")
    start = time.perf_counter()
    sol = combopt_solver.solve(inst, time_limit=1e-3)
    elapsed = time.perf_counter() - start
    combopt_check.count(name)
    assert sol.status == Status.TIME_LIMIT, f"{name}: {sol.status.name} {sol.message}"
    assert elapsed < 2.0, f"{name}: a 1 ms limit took {elapsed:.2f} s"
    if sol.y is not None:
        combopt_check.feasible_point(name, inst, sol)
    else:
        assert np.isnan(sol.objective)


def test_threads_do_not_change_answers(
    combopt_backend, combopt_solver, combopt_limits, combopt_check
):
    """Per-thread models: a 2-thread batch equals the serial one, instance by instance."""
    problem = thread_batch()
    _skip_if_refused(combopt_limits, problem.instance(0))
    serial = solve_batch(combopt_solver, problem, workers=1)
    threaded = solve_batch(combopt_solver, problem, workers=2)
    combopt_check.count(combopt_backend, problem.batch_size)
    np.testing.assert_array_equal(serial.status, threaded.status)
    np.testing.assert_array_equal(serial.y, threaded.y)


def _needs_solve_many(backend: str, solver) -> None:
    if not hasattr(solver, "solve_many"):
        pytest.skip(f"backend '{backend}' has no solve_many (the executors call solve)")


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-instance"])
def test_solve_many_answers_as_solve(combopt_backend, combopt_solver, combopt_check, shared):
    """``solve_many`` on a chunk gives, instance by instance, what ``solve`` gives: the
    enumerated optimum (unique here) or ``INFEASIBLE``."""
    name, solver = combopt_backend, combopt_solver
    _needs_solve_many(name, solver)
    problem = solve_many_chunk(shared)
    many = solver.solve_many(problem)
    assert len(many) == problem.batch_size
    for i, sol in enumerate(many):
        inst = problem.instance(i)
        one = solver.solve(inst)
        truth = enumerate_optima(inst)
        combopt_check.count(name)
        assert sol.status == one.status, f"{name}: instance {i}: {sol.status} vs {one.status}"
        if truth.optimal.shape[0] == 0:
            combopt_check.infeasible(name, sol)
            continue
        combopt_check.optimal(name, inst, sol, truth.objective)
        np.testing.assert_array_equal(sol.y, one.y, err_msg=f"{name}: instance {i}")
    if not shared:
        assert many[2].status == Status.INFEASIBLE and many[9].status == Status.INFEASIBLE


def test_solve_many_infeasible_shared_chunk(combopt_backend, combopt_solver, combopt_check):
    """A shared constraint set with no integer point: every instance of the chunk says so."""
    _needs_solve_many(combopt_backend, combopt_solver)
    for sol in combopt_solver.solve_many(infeasible_shared_chunk()):
        combopt_check.count(combopt_backend)
        combopt_check.infeasible(combopt_backend, sol)


def test_solve_many_respects_the_time_limit(
    combopt_backend, combopt_solver, combopt_limits, combopt_check
):
    """A tiny limit on a chunk of hard instances: each stops with TIME_LIMIT, quickly."""
    name = combopt_backend
    _needs_solve_many(name, combopt_solver)
    inst = hard_instances()[0]
    _skip_if_refused(combopt_limits, inst)
    c = np.random.default_rng(8).uniform(-1, 1, (3, inst.num_vars))
    problem = make_problem(c, inst.A, inst.b, inst.lb, inst.ub)
    start = time.perf_counter()
    many = combopt_solver.solve_many(problem, time_limit=1e-3)
    elapsed = time.perf_counter() - start
    assert elapsed < 6.0, f"{name}: three 1 ms limits took {elapsed:.2f} s"
    for i, sol in enumerate(many):
        combopt_check.count(name)
        assert sol.status == Status.TIME_LIMIT, f"{name}: {sol.status.name} {sol.message}"
        if sol.y is not None:
            combopt_check.feasible_point(name, problem.instance(i), sol)


# --- interrupt() ---------------------------------------------------------------------------

#: Seconds after the first ``interrupt()`` request within which the solve must have ended
#: (the target is well under a second; a loaded machine gets a margin).
INTERRUPT_LATENCY = 1.0
#: Seconds the solve runs before it is interrupted, and between repeated requests.
INTERRUPT_AFTER, INTERRUPT_EVERY = 0.05, 0.01


def test_interrupt_stops_a_running_solve(
    combopt_backend, combopt_solver, combopt_limits, combopt_check
):
    """``interrupt()``, called from another thread while ``solve`` runs without a time limit
    on a long instance, ends that solve with ``KeyboardInterrupt`` in its own thread within
    ``INTERRUPT_LATENCY`` s; a solve started afterwards is not stopped."""
    name, solver = combopt_backend, combopt_solver
    if not interruptible(solver):
        pytest.skip(
            f"backend '{name}' has no interrupt(): Ctrl-C waits for its running solves "
            "(see 'Writing a backend')"
        )
    inst = next((i for i in interrupt_instances() if combopt_limits.refuses(i) is None), None)
    if inst is None:
        pytest.skip("the backend's limits refuse every interrupt instance")
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(solver.solve(inst))
        except KeyboardInterrupt:
            outcome.append(KeyboardInterrupt)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            outcome.append(exc)
        outcome.append(time.perf_counter())

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    time.sleep(INTERRUPT_AFTER)
    first = time.perf_counter()
    while worker.is_alive() and time.perf_counter() - first < INTERRUPT_LATENCY:
        solver.interrupt()  # repeated: a solve that was just starting may miss one request
        worker.join(INTERRUPT_EVERY)
    assert not worker.is_alive(), (
        f"{name}: solve still running {INTERRUPT_LATENCY} s after interrupt() was asked"
    )
    result, ended = outcome
    combopt_check.count(name)
    if isinstance(result, Solution) and ended < first:
        pytest.skip(f"{name}: solved the instance before it could be interrupted")
    assert result is KeyboardInterrupt, (
        f"{name}: an interrupted solve must raise KeyboardInterrupt, got {result!r}"
    )
    after = solver.solve(set_covers(1)[0])
    combopt_check.count(name)
    assert after.status == Status.OPTIMAL, f"{name}: the solve after an interrupt: {after}"


# --- equality rows ------------------------------------------------------------------------


@CONFORMANCE_SETTINGS
@given(inst=small_ilps_with_equalities())
def test_equalities_match_bruteforce(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, inst
):
    """Equality rows ``A_eq y == b_eq`` beside ``<=`` rows: enumeration's status, objective
    and optimal set."""
    assume(combopt_limits.refuses(inst) is None)
    _against_the_oracle(combopt_backend, combopt_solver, combopt_check, inst)


@CONFORMANCE_SETTINGS
@given(inst=equality_infeasible_ilps())
def test_integer_infeasible_equality_is_reported(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, inst
):
    """One equality row ``2 y0 + 2 y1 == 1``: LP-feasible, no integer point."""
    assume(combopt_limits.refuses(inst) is None)
    combopt_check.count(combopt_backend)
    sol = combopt_solver.solve(asked(combopt_solver, inst))
    combopt_check.infeasible(combopt_backend, sol)


@pytest.mark.parametrize("problem", sorted(equality_instances()))
def test_fixed_equality_problems(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, problem
):
    """Each fixed equality problem, asked directly and through ``solve_batch`` (which
    verifies every point, equalities included): enumeration's answer both ways."""
    name, inst = combopt_backend, equality_instances()[problem]
    _skip_if_refused(combopt_limits, inst)
    _against_the_oracle(name, combopt_solver, combopt_check, inst)
    truth = enumerate_optima(inst)
    batch = make_problem(inst.c[None], inst.A, inst.b, inst.lb, inst.ub, inst.A_eq, inst.b_eq)
    sol = _solutions(solve_batch(combopt_solver, batch, workers=1))[0]
    if truth.optimal.shape[0] == 0:
        combopt_check.infeasible(name, sol)
    else:
        combopt_check.optimal(name, inst, sol, truth.objective)


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per-instance"])
def test_equality_chunk_through_solve_batch_and_solve_many(
    combopt_backend, combopt_solver, combopt_limits, combopt_check, shared
):
    """A chunk with equality rows (per instance: one set repeated back to back, one out of
    reach, one differing only in ``b_eq``): ``solve_batch`` on 1 and 2 workers and, where the
    backend has it, ``solve_many`` give enumeration's answer for every instance."""
    name, solver = combopt_backend, combopt_solver
    problem = equality_chunk(shared)
    _skip_if_refused(combopt_limits, problem.instance(0))
    truths = [enumerate_optima(problem.instance(i)) for i in range(problem.batch_size)]
    answers = [_solutions(solve_batch(solver, problem, workers=w)) for w in (1, 2)]
    if hasattr(solver, "solve_many"):
        answers.append(list(solver.solve_many(asked(solver, problem))))
    for i, truth in enumerate(truths):
        for answer in answers:
            combopt_check.count(name)
            if truth.optimal.shape[0] == 0:
                combopt_check.infeasible(name, answer[i])
            else:
                combopt_check.optimal(name, problem.instance(i), answer[i], truth.objective)
    if not shared:
        assert truths[1].optimal.shape[0] == 0  # the out-of-reach instance is in the chunk
    assert sum(t.optimal.shape[0] > 0 for t in truths) >= problem.batch_size // 2


def _solutions(result: BatchSolution) -> list[Solution]:
    """A batch's answers as one ``Solution`` per instance (``y`` only where it has one)."""
    return [
        Solution(
            result.y[i] if result.has_solution[i] else None,
            Status(result.status[i]),
            float(result.objective[i]),
            message=result.messages[i],
        )
        for i in range(len(result.status))
    ]


# --- selection: argument > $COMBOPT_SOLVER > default, the CLI -------------------------------


def _other(backend: str) -> str:
    return "bruteforce" if backend != "bruteforce" else DEFAULT_BACKEND


def test_argument_selects(combopt_backend):
    """The solver's ``name`` is the name it is registered under."""
    assert get_solver(combopt_backend).name == combopt_backend


def test_environment_selects(combopt_backend, monkeypatch):
    monkeypatch.setenv(SOLVER_ENV_VAR, combopt_backend)
    assert get_solver().name == combopt_backend
    result = solve([-1.0, -1.0], [[1.0, 1.0]], [1.0])  # solver=None: the variable decides
    assert result.objective[0] == -1.0


def test_argument_beats_environment(combopt_backend, monkeypatch):
    other = _other(combopt_backend)
    monkeypatch.setenv(SOLVER_ENV_VAR, combopt_backend)
    assert get_solver(other).name == other
    monkeypatch.setenv(SOLVER_ENV_VAR, other)
    assert get_solver(combopt_backend).name == combopt_backend


def test_cli_require(combopt_backend):
    assert cli_main(["backends", "--require", combopt_backend]) == 0
    assert cli_main(["backends", "--require", "no-such-solver"]) == 1


def test_backends_solve_the_same_tiny_problem(combopt_backend):
    """Smoke check through the public ``solve`` entry with the backend named."""
    result = solve(np.array([[-2.0, -3.0, -1.0]]), [[1.0, 1.0, 1.0]], [2.0], solver=combopt_backend)
    np.testing.assert_array_equal(result.y, [[1.0, 1.0, 0.0]])
