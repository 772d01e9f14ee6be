"""Area 2: time limits, a backend failing on one instance, Ctrl-C during a parallel batch,
and batches in forked children. Failures are injected with scripted fake backends; the
time-limit and Ctrl-C behaviour is also checked on every real backend.
"""

from __future__ import annotations

import multiprocessing
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from combopt_core import SolverError, Status, combopt_gradients, make_problem, solve
from combopt_torch import ILPLayer
from demos.benchmarks.interrupts import hard_problem, process_running

from .helpers import (
    ScriptedSolver,
    TimeOutSolver,
    child_pids_of,
    random_problem,
    skip_unless_fits,
)

TESTS_DIR = str(Path(__file__).resolve().parents[1])


def marked_problem(B: int, n: int = 3, m: int = 2, seed: int = 0):
    """A small batch whose instance ``i`` has ``c[i, 0] = i`` (the fakes' instance key)."""
    c, A, b, lb, ub = random_problem(np.random.default_rng(seed), B, n, m)
    c[:, 0] = np.arange(B)
    return c, A, b, lb, ub


# --- time limits --------------------------------------------------------------------------


def layer_run(solver, c, A, b, lb, ub, **options):
    """Forward + backward of ``ILPLayer``; returns ``y``, info and the gradients.

    Every instance goes to ``solver`` (no exact skips): these tests are about what the
    layer does with the backend's answers.
    """
    ts = [torch.tensor(x, requires_grad=True) for x in (c, A, b)]
    options = {"skip": False, "enumeration": "never", **options}
    y, info = ILPLayer(lb, ub, solver=solver, **options)(*ts, return_info=True)
    dy = torch.linspace(-1.0, 1.0, y.shape[-1], dtype=y.dtype).expand_as(y)
    (y * dy).sum().backward()
    return y.detach().numpy(), info, [t.grad.numpy() for t in ts], dy.numpy()


def test_time_out_uses_incumbent_and_flags_it():
    c, A, b, lb, ub = marked_problem(4)
    incumbent = np.zeros(3)  # feasible (b > 0) but not optimal for these costs
    solver = TimeOutSolver(incumbent)
    y, info, (dc, dA, db), dy = layer_run(solver, c, A, b, lb, ub, time_limit=0.5)
    assert solver.seen_limits == [0.5] * 4
    np.testing.assert_array_equal(y, np.tile(incumbent, (4, 1)))
    assert (info.status == int(Status.TIME_LIMIT)).all()
    assert info.has_solution.all() and not info.infeasible.any()
    np.testing.assert_allclose(info.objective.numpy(), c @ incumbent)
    g = combopt_gradients(dy, y, A, b, np.full(3, lb), np.full(3, ub))
    np.testing.assert_allclose(dc, g.dc)
    np.testing.assert_allclose(dA, g.dA)


def test_time_out_without_incumbent_is_treated_like_infeasible():
    c, A, b, lb, ub = marked_problem(4)
    b[:] = -1.0  # every target of the fallback point violates: the push-out branch acts
    y, info, (dc, dA, db), dy = layer_run(TimeOutSolver(None), c, A, b, lb, ub, time_limit=1)
    problem = make_problem(c, A, b, lb, ub)
    np.testing.assert_array_equal(y, np.tile(problem.fallback_point(), (4, 1)))
    assert (info.status == int(Status.TIME_LIMIT)).all()
    assert not info.has_solution.any() and torch.isnan(info.objective).all()
    g = combopt_gradients(dy, y, A, b, problem.lb, problem.ub)
    np.testing.assert_allclose(db, g.db)
    assert np.abs(db).sum() > 0  # the fallback point still teaches the constraints


def test_real_backend_honours_the_time_limit(backend):
    """HiGHS needs 30-230 s per instance here without a limit."""
    skip_unless_fits(backend, 100, 0, 1)
    c, A, b, lb, ub = hard_problem(np.random.default_rng(0), 2)
    start = time.perf_counter()
    res = solve(c, A, b, lb, ub, solver=backend, workers=1, time_limit=0.05)
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"{backend} took {elapsed:.1f} s with a 0.05 s limit per instance"
    assert set(res.status.tolist()) <= {int(Status.OPTIMAL), int(Status.TIME_LIMIT)}
    # incumbents were verified; without one (a loaded machine) y is the fallback point
    np.testing.assert_array_equal(res.y[~res.has_solution], 0.0)


def test_real_backend_time_out_without_incumbent_gives_fallback(backend):
    skip_unless_fits(backend, 100, 0, 1)
    c, A, b, lb, ub = hard_problem(np.random.default_rng(1), 2)
    # a covering row (sum y >= 15) makes the easy points infeasible; the packing rows allow
    # at most 16, so few points are left (at 30 the instance was infeasible, which Gurobi
    # without presolve proves within the 1 ms limit)
    A = np.concatenate([A, -np.ones((2, 1, 100)) / 10], axis=1)
    b = np.concatenate([b, np.full((2, 1), -1.5)], axis=1)
    res = solve(c, A, b, lb, ub, solver=backend, workers=1, time_limit=0.001)
    assert res.timed_out.any() or res.optimal.all()
    lost = res.timed_out & ~res.has_solution
    np.testing.assert_array_equal(res.y[lost], np.zeros((lost.sum(), 100)))
    assert np.isnan(res.objective[lost]).all()


# --- a backend failing on one instance ----------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_exception_names_backend_and_instance(workers):
    solver = ScriptedSolver(fail_on=frozenset({5.0}))
    expected = r"backend 'scripted' failed on instance 5: .*injected"
    with pytest.raises(SolverError, match=expected) as info:
        solve(*marked_problem(8), solver=solver, workers=workers)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_returned_error_status_names_backend_and_instance():
    solver = ScriptedSolver(error_on=frozenset({2.0}))
    with pytest.raises(SolverError, match=r"'scripted' failed on instance 2: injected error"):
        solve(*marked_problem(4), solver=solver, workers=1)


def test_no_solve_keeps_running_after_the_error():
    """The batch's queued instances are cancelled and running ones awaited before raising."""
    solver = ScriptedSolver(fail_on=frozenset({0.0}), delay=0.1)
    with pytest.raises(SolverError, match="instance 0"):
        solve(*marked_problem(40), solver=solver, workers=2)
    calls, in_flight = solver.calls, solver.in_flight
    time.sleep(0.3)
    assert in_flight == 0
    assert solver.calls == calls, "instances kept being solved after solve() raised"
    assert calls < 10  # the other 30+ instances were never started


def test_repeated_failures_leave_no_threads_behind():
    solver = ScriptedSolver(fail_on=frozenset({1.0}))
    solve(*marked_problem(4), solver=ScriptedSolver(), workers=2)  # warm the shared pool
    before = threading.active_count()
    for _ in range(5):
        with pytest.raises(SolverError):
            solve(*marked_problem(6), solver=solver, workers=2)
    assert threading.active_count() == before


def test_flagged_failure_solves_the_rest_and_warns():
    c, A, b, lb, ub = marked_problem(6)
    clean = solve(c, A, b, lb, ub, solver=ScriptedSolver(), workers=2)
    for kind in ("fail_on", "error_on"):
        solver = ScriptedSolver(**{kind: frozenset({3.0})})
        with pytest.warns(RuntimeWarning, match=r"1 instance\(s\) flagged.*instance 3"):
            res = solve(c, A, b, lb, ub, solver=solver, workers=2, on_error="flag")
        assert res.status.tolist() == [0, 0, 0, int(Status.ERROR), 0, 0]
        assert res.failed.tolist() == [False] * 3 + [True] + [False] * 2
        assert "instance 3" in res.messages[3] and not res.has_solution[3]
        keep = np.arange(6) != 3
        np.testing.assert_array_equal(res.y[keep], clean.y[keep])
        np.testing.assert_array_equal(res.y[3], np.zeros(3))


def test_layer_flags_a_failed_instance_and_gives_it_no_gradient():
    c, A, b, lb, ub = marked_problem(4)
    with pytest.warns(RuntimeWarning, match="instance 2"):
        y, info, grads, _ = layer_run(ScriptedSolver(fail_on=frozenset({2.0})), c, A, b, lb, ub)
    _, _, clean_grads, _ = layer_run(ScriptedSolver(), c, A, b, lb, ub)
    assert info.status.tolist() == [0, 0, int(Status.ERROR), 0]
    assert not info.has_solution[2] and not info.infeasible[2]
    for g, clean in zip(grads, clean_grads):
        assert not g[2].any(), "a failed instance must not move c, A or b"
        keep = np.arange(4) != 2
        np.testing.assert_allclose(g[keep], clean[keep])


def test_layer_can_raise_instead():
    c, A, b, lb, ub = marked_problem(4)
    with pytest.raises(SolverError, match="instance 1"):
        layer_run(ScriptedSolver(fail_on=frozenset({1.0})), c, A, b, lb, ub, on_error="raise")


# --- Ctrl-C during a parallel batch ---------------------------------------------------------


@pytest.mark.parametrize("on_error", ["raise", "flag"])
def test_interrupt_raised_by_a_backend_is_never_flagged_away(on_error):
    """A solver library that catches Ctrl-C itself makes its backend raise
    KeyboardInterrupt: it must stop the batch, not become one flagged instance."""
    solver = ScriptedSolver(interrupt_on=frozenset({3.0}), delay=0.02)
    with pytest.raises(KeyboardInterrupt):
        solve(*marked_problem(40), solver=solver, workers=2, on_error=on_error)
    calls = solver.calls
    time.sleep(0.1)
    assert solver.in_flight == 0 and solver.calls == calls < 10


INTERRUPT_SCRIPT = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    sys.path.insert(0, {tests!r})
    import combopt_core as co
    from reliability.helpers import ScriptedSolver, random_problem

    solver = ScriptedSolver(delay=0.1)
    problem = co.make_problem(*random_problem(np.random.default_rng(0), 200, 3, 2))
    print("READY", flush=True)
    try:
        co.solve_batch(solver, problem, workers=2)   # 10 s on 2 workers
        print("FINISHED", flush=True)
    except KeyboardInterrupt:
        calls, cpu = solver.calls, time.process_time()
        time.sleep(0.5)
        print("INTERRUPTED", solver.calls - calls, round(time.process_time() - cpu, 3),
              flush=True)
        sys.exit(130)
    """
)


def test_ctrl_c_stops_a_parallel_batch_promptly_with_no_orphans():
    """A backend without ``interrupt()``: queued instances never start, running ones end.
    Real backends, whose running solves are interrupted: ``test_interrupts.py``."""
    script = INTERRUPT_SCRIPT.format(tests=TESTS_DIR)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(1.0)
        children = child_pids_of(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    started_after, cpu_after = out.split("INTERRUPTED")[1].split()
    assert int(started_after) == 0, "solves kept starting after Ctrl-C"
    assert float(cpu_after) < 0.1, "solver threads kept computing after Ctrl-C"
    assert took < 4.0, f"exit took {took:.1f} s after Ctrl-C (the whole batch takes 10 s)"
    assert not [pid for pid in children if process_running(pid)], "orphan child processes"


# --- forked children -------------------------------------------------------------------------


def _solve_in_child(backend, queue):
    c, A, b, lb, ub = random_problem(np.random.default_rng(5), 6, 4, 2)
    queue.put(solve(c, A, b, lb, ub, solver=backend, workers=2).y)


def test_forked_child_solves_after_parent_used_the_pool(backend):
    c, A, b, lb, ub = random_problem(np.random.default_rng(5), 6, 4, 2)
    expected = solve(c, A, b, lb, ub, solver=backend, workers=2).y  # the pool now exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_solve_in_child, args=(backend, queue))
    child.start()
    child.join(30)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("a forked child hung on the parent's (dead) solver threads")
    assert child.exitcode == 0
    np.testing.assert_array_equal(queue.get(timeout=5), expected)
