"""Area 5: determinism. The same inputs give the same outputs run to run on every backend:
with one or several worker threads, in any batch order (no state carried from one solve to
the next), with a fresh solver, in a fresh process, and through the layer's backward.

Ties between optimal points are met by the backend: each backend returns the same optimum
for the same inputs every time, but two backends may return different optima of equal
objective (see docs/reliability.md). The problems here are full of ties (unit-cost set
cover), which is what makes these checks sharp.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch

from combopt_core import ILPSolver, get_solver, solve
from combopt_torch import CombOptNet

from .helpers import available_backends, digest, set_cover

TESTS_DIR = str(Path(__file__).resolve().parents[1])


def determinism_problems(make_solver: Callable[[], ILPSolver], shared: bool = False) -> list[str]:
    """What differs from a first single-threaded run: more workers, a fresh solver, the
    batch reversed or shuffled (nothing may carry over from one solve to the next).

    ``shared``: one constraint set for the batch (CombOptNet's case, where a backend may
    keep its model between instances and only change the costs) and costs in {1, 2}."""
    c, A, b, lb, ub = set_cover()
    if shared:
        A, b = A[0], b[0]
        c = 1.0 + (np.random.default_rng(3).random(c.shape) < 0.3)
    solver = make_solver()
    first = solve(c, A, b, lb, ub, solver=solver, workers=1)
    assert first.optimal.all()
    found = []
    runs = {f"workers={w}": (solver, w, np.arange(len(c))) for w in (1, 2, 3)}
    runs["fresh solver"] = (make_solver(), 2, np.arange(len(c)))
    runs["reversed batch"] = (solver, 2, np.arange(len(c))[::-1])
    runs["shuffled batch"] = (solver, 1, np.random.default_rng(2).permutation(len(c)))
    for what, (s, workers, perm) in runs.items():
        A_p, b_p = (A, b) if shared else (A[perm], b[perm])
        y = solve(c[perm], A_p, b_p, lb, ub, solver=s, workers=workers).y
        if not np.array_equal(y, first.y[perm]):
            found.append(what)
    return found


#: Backends whose reused model (``reuse_model=True``, the default) starts each solve of a
#: shared constraint set from the previous solve's information (basis, incumbent): among
#: tied optima, the point then depends on the solve before it in that thread, so on batch
#: order and worker count. The objective does not (``test_history_only_breaks_ties``).
HISTORY_DEPENDENT_TIES = {"gurobi"}


@pytest.mark.parametrize("shared", [False, True], ids=["per-instance", "shared-constraints"])
def test_backend_is_deterministic(backend, shared):
    options = {"reuse_model": False} if shared and backend in HISTORY_DEPENDENT_TIES else {}
    assert determinism_problems(lambda: get_solver(backend, **options), shared) == []


@pytest.mark.parametrize("backend", sorted(HISTORY_DEPENDENT_TIES & set(available_backends())))
def test_history_only_breaks_ties(backend):
    """With the reused model the points may differ, but every answer is optimal with the
    same objective, in any order and with any worker count."""
    c, A, b, lb, ub = set_cover()
    A, b = A[0], b[0]
    c = 1.0 + (np.random.default_rng(3).random(c.shape) < 0.3)
    solver = get_solver(backend)
    first = solve(c, A, b, lb, ub, solver=solver, workers=1)
    for workers, perm in [(1, np.arange(len(c))), (2, np.arange(len(c))[::-1]), (3, None)]:
        perm = np.random.default_rng(workers).permutation(len(c)) if perm is None else perm
        again = solve(c[perm], A, b, lb, ub, solver=solver, workers=workers)
        assert again.optimal.all()
        np.testing.assert_array_equal(again.objective, first.objective[perm])


@pytest.mark.skipif("highs" not in available_backends(), reason="needs HiGHS")
def test_the_check_catches_a_solver_seeded_differently_each_time():
    """Without a fixed seed, HiGHS breaks ties differently: what the guard prevents."""
    seeds = itertools.count()

    class Reseeding:
        name, releases_gil = "reseeding-highs", True

        def solve(self, instance, time_limit=None):
            return get_solver("highs", options={"random_seed": next(seeds)}).solve(instance)

    assert len(determinism_problems(Reseeding)) >= 4


CHILD = textwrap.dedent(
    """
    import hashlib, sys
    sys.path.insert(0, {tests!r})
    from reliability.helpers import digest, set_cover
    from combopt_core import solve
    print(digest(solve(*set_cover(), solver={backend!r}, workers=2).y))
    """
)


def test_same_answer_in_a_fresh_process(backend):
    expected = digest(solve(*set_cover(), solver=backend, workers=1).y)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    for _ in range(2):
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(tests=TESTS_DIR, backend=backend)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=True,
        ).stdout
        assert out.strip().splitlines()[-1] == expected


def test_layer_forward_and_backward_are_repeatable(backend):
    def run():
        model = CombOptNet(8, 3, 0, 1, generator=torch.Generator().manual_seed(3), solver=backend)
        c = torch.tensor(np.random.default_rng(4).normal(size=(16, 8)), dtype=torch.float32)
        y = model(c)
        (y * torch.linspace(-1, 1, 8)).sum().backward()
        return y.detach(), [p.grad.clone() for p in model.parameters()]

    y1, g1 = run()
    y2, g2 = run()
    assert torch.equal(y1, y2)
    for a, b in zip(g1, g2):
        assert torch.equal(a, b)
