"""HiGHS-specific model reuse: the solver pickles without its live models.

The reuse rules every backend shares are in ``test_perf_model_reuse.py``.
"""

from __future__ import annotations

import pickle

import numpy as np

from combopt_core import SerialExecutor, solve_batch
from combopt_highs.solver import HighsSolver

from .perf_helpers import BruteForceSolver, random_problem


def test_highs_solver_pickles_and_solves_after():
    solver = HighsSolver(options={"presolve": "off"}, reuse_model=False)
    p = random_problem(4, 6, 2, shared=True, seed=3)
    solve_batch(solver, p, executor=SerialExecutor())  # a live model must not block pickling
    clone = pickle.loads(pickle.dumps(solver))
    assert clone.reuse_model is False and clone._options == {"presolve": "off"}
    np.testing.assert_array_equal(
        solve_batch(clone, p, executor=SerialExecutor()).y, solve_batch(BruteForceSolver(), p).y
    )
