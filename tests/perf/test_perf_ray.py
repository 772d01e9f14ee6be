"""The Ray executor against a local Ray instance started here (skipped without ray)."""

from __future__ import annotations

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'combopt[ray]')")

from combopt_core import SolverError, get_solver, solve_batch
from combopt_core.ray_executor import RayExecutor

from . import perf_helpers
from .perf_helpers import BruteForceSolver, random_problem


@pytest.fixture(scope="module")
def local_ray():
    if ray.is_initialized():
        pytest.skip("a Ray instance is already running in this process")
    # The test helpers are not installed: ship them to Ray's workers by value.
    ray.cloudpickle.register_pickle_by_value(perf_helpers)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()
    ray.cloudpickle.unregister_pickle_by_value(perf_helpers)


@pytest.mark.parametrize("shared", [True, False])
def test_ray_matches_the_serial_reference(local_ray, shared):
    p = random_problem(21, 8, 3, shared=shared, seed=7)
    reference = solve_batch(BruteForceSolver(), p, executor="serial")
    with RayExecutor(workers=2) as ex:
        assert ex.workers == 2
        got = solve_batch(get_solver("highs"), p, executor=ex)
        again = solve_batch(get_solver("highs"), p, executor=ex)  # a new solver: new actors
    np.testing.assert_array_equal(got.y, reference.y)
    np.testing.assert_array_equal(again.y, reference.y)
    assert ray.is_initialized()  # the executor did not start Ray, so it leaves it running


def test_ray_runs_in_other_processes_and_names_failures(local_ray):
    p = random_problem(10, 6, 2, shared=True, seed=8)
    with RayExecutor(workers=2) as ex:
        got = solve_batch(BruteForceSolver(), p, executor=ex)
        assert {m.split()[1] for m in got.messages}.isdisjoint({str(__import__("os").getpid())})
        failing = BruteForceSolver(fail_on=float(p.c[6, 0]))
        with pytest.raises(SolverError, match=r"failed on instance 6\b"):
            solve_batch(failing, p, executor=ex)


def test_ray_executor_refuses_work_after_close(local_ray):
    ex = RayExecutor(workers=1)
    ex.close()
    with pytest.raises(RuntimeError, match="after close"):
        solve_batch(get_solver("highs"), random_problem(3, 4, 1, shared=True, seed=0), executor=ex)
