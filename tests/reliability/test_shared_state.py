"""Area 7b: state shared between instances, solves and copies.

A backend sees read-only views of its inputs, so one that edits them in place fails loudly
instead of changing the later instances of a shared ``A`` (or the bounds the answers are
verified against). A layer deep-copies and pickles with everything it may hold: a
``SolutionCache``, a ``SolutionPool``, a ``SolutionMemory``, a used thread or process
executor, a used solver object.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from combopt_core import (
    PermanentSolverError,
    ProcessExecutor,
    SolutionCache,
    SolutionMemory,
    SolutionPool,
    SolverError,
    ThreadExecutor,
    solve,
)
from combopt_core.ray_executor import RayExecutor
from combopt_torch import ILPLayer

from .helpers import available_backends, brute_force, random_problem


@dataclass
class Vandal:
    """Edits its input in place (``what``) on the instances with ``c[0]`` in ``on`` (all
    when ``None``), then answers like the reference."""

    what: str
    on: frozenset | None = None
    name: str = "vandal"
    releases_gil: bool = False

    def solve(self, instance, time_limit=None):
        if self.on is None or float(instance.c[0]) in self.on:
            if self.what == "A":
                instance.A[...] = 0.0  # shared: every later instance would lose its rows
            elif self.what == "b":
                instance.b[...] = 1e9
            elif self.what == "c":
                instance.c *= -1.0
            else:
                instance.ub[...] = 0.0  # the bounds the answers are verified against
        return brute_force(instance)


def shared_problem(B: int = 5):
    c, A, b, lb, ub = random_problem(np.random.default_rng(1), B, 4, 3)
    c[:, 0] = np.arange(B)
    return c, A[0], b[0], lb, ub


@pytest.mark.parametrize("what", ["A", "b", "c", "ub"])
def test_a_backend_cannot_edit_its_inputs_in_place(what):
    c, A, b, lb, ub = shared_problem()
    given = [x.copy() for x in (c, A, b)]
    with pytest.raises(PermanentSolverError, match="read-only"):
        solve(c, A, b, lb, ub, solver=Vandal(what), workers=1, on_error="flag")
    for before, after in zip(given, (c, A, b)):
        np.testing.assert_array_equal(before, after)  # the caller's data are untouched
        assert after.flags.writeable  # and still the caller's to change


@pytest.mark.parametrize("what", ["A", "ub"])
def test_one_vandalised_instance_does_not_corrupt_the_others(what):
    c, A, b, lb, ub = shared_problem()
    clean = solve(c, A, b, lb, ub, solver="highs" if "highs" in available_backends() else None)
    with pytest.warns(RuntimeWarning, match="read-only"):
        res = solve(c, A, b, lb, ub, solver=Vandal(what, frozenset({1.0})), on_error="flag")
    assert res.failed.tolist() == [False, True, False, False, False]
    keep = ~res.failed
    np.testing.assert_array_equal(res.objective[keep], clean.objective[keep])
    with pytest.raises(SolverError, match="instance 1: .*read-only"):
        solve(c, A, b, lb, ub, solver=Vandal(what, frozenset({1.0})), on_error="raise")


def _copies(layer):
    yield "deepcopy", copy.deepcopy(layer)
    yield "pickle", pickle.loads(pickle.dumps(layer))


def _tensors(B=4, n=3, m=2, seed=0):
    c, A, b, _, _ = random_problem(np.random.default_rng(seed), B, n, m)
    return [torch.tensor(x) for x in (c, A, b)]


@pytest.mark.parametrize(
    "holds",
    [
        lambda: {"cache": SolutionCache()},
        lambda: {"pool": SolutionPool(0.5, seed=0)},
        lambda: {"memory": SolutionMemory()},
        lambda: {"executor": ThreadExecutor(2)},
    ],
    ids=["cache", "pool", "memory", "thread-executor"],
)
def test_a_used_layer_copies_with_what_it_holds(holds):
    layer = ILPLayer(0, 1, solver="highs", skip=False, enumeration="never", **holds())
    tensors = _tensors()
    y = layer(*tensors)
    for how, other in _copies(layer):
        np.testing.assert_array_equal(other(*tensors).numpy(), y.numpy(), err_msg=how)


def test_a_copied_cache_has_the_entries_and_its_own_lock():
    layer = ILPLayer(0, 1, solver="highs", skip=False, enumeration="never", cache=SolutionCache())
    tensors = _tensors()
    layer(*tensors)
    cache = layer.options.cache
    for how, other in _copies(layer):
        copied = other.options.cache
        assert copied is not cache and len(copied) == len(cache) == 4, how
        other(*tensors)
        assert copied.hits == cache.hits + 4, how  # answered from the copied entries
        assert copied._lock is not cache._lock


def test_a_copied_executor_starts_its_own_pool():
    for executor in (ThreadExecutor(2), ProcessExecutor(2)):
        with executor:
            c, A, b, lb, ub = random_problem(np.random.default_rng(0), 4, 3, 2)
            if isinstance(executor, ThreadExecutor):  # a process pool takes seconds
                solve(c, A, b, lb, ub, solver="highs", executor=executor)
            for copied in (copy.deepcopy(executor), pickle.loads(pickle.dumps(executor))):
                assert copied._pool is None and copied.workers == 2
                assert type(copied) is type(executor)


@pytest.mark.skipif("gurobi" not in available_backends(), reason="needs Gurobi")
def test_a_used_gurobi_solver_object_copies():
    from combopt_gurobi.solver import GurobiSolver

    layer = ILPLayer(0, 1, solver=GurobiSolver(), skip=False, enumeration="never", workers=2)
    tensors = _tensors()
    y = layer(*tensors)
    for how, other in _copies(layer):
        np.testing.assert_array_equal(other(*tensors).numpy(), y.numpy(), err_msg=how)


def test_a_ray_executor_refuses_to_copy_with_a_reason():
    ray_executor = object.__new__(RayExecutor)  # without starting Ray
    with pytest.raises(TypeError, match="RayExecutor: cannot be pickled.*executor='ray'"):
        pickle.dumps(ray_executor)
