"""The conformance kit's own parts: the shipped data sample, declared limits, the named
problems, and the pytest plugin's ``--combopt-backend`` option."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from combopt_core import BackendLimits, make_problem
from combopt_core.registry import SOLVER_ENV_VAR
from combopt_core.testing import backend_limits, conformance_problems
from combopt_core.testing.problems import _sample

from .rc_sample import build_sample


def test_shipped_sample_is_the_data_sampled():
    shipped, built = _sample(), build_sample()
    assert sorted(shipped) == sorted(built)
    for key in built:
        np.testing.assert_array_equal(shipped[key], built[key], err_msg=key)


def test_limits_refuse_with_what_and_why():
    box = make_problem(np.ones(21), np.ones((1, 21)), [3.0], 0, 1).instance(0)
    limits = BackendLimits(max_points=2**20, reason="it enumerates")
    assert limits.refuses(box) == (
        "2.097e+06 integer points in the box exceed max_points=1048576; it enumerates"
    )
    assert limits.refuses(make_problem(np.ones(20), np.ones((1, 20)), [3.0]).instance(0)) is None
    assert "n=21 variables, m=1 constraints exceed max_size=20" in BackendLimits(
        max_size=20
    ).refuses(box)
    fractional = make_problem([1.0, 2.0], [[0.5, 1.0]], [1.0]).instance(0)
    assert BackendLimits(integer_data=True).refuses(fractional) == "A is not integral " + (
        "(integer_data=True)"
    )
    assert BackendLimits(integer_data=True).refuses(box) is None
    assert BackendLimits().refuses(box) is None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_points": 0}, ValueError, "max_points: must be at least 1, got 0"),
        ({"max_size": 2.5}, TypeError, "max_size: expected an int or None, got float"),
        ({"max_points": True}, TypeError, "max_points: expected an int or None, got bool"),
    ],
)
def test_limits_reject_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        BackendLimits(**kwargs)


def test_our_backends_declare_their_limits():
    assert backend_limits("bruteforce").max_points == 2**20
    assert backend_limits("gurobi").max_size == 2000
    assert backend_limits("highs") == BackendLimits()


def test_conformance_problems_are_named_once_and_valid():
    found = list(conformance_problems())
    names = [p.name for p in found]
    assert len(names) == len(set(names))
    assert sum(name.startswith("random-constraints/") for name in names) == 40
    assert {"wide-box", "threads", "solve-many-shared", "infeasible-chunk"} <= set(names)
    for p in found:
        assert p.problem.batch_size >= 1 and p.note, p.name


def _pytest(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """pytest run in an empty folder (no conftest, no test files), the kit's plugin only."""
    env = {k: v for k, v in os.environ.items() if k != SOLVER_ENV_VAR}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_option_runs_the_kit_where_there_are_no_tests(tmp_path):
    proc = _pytest(tmp_path, "--combopt-backend", "bruteforce", "-k", "argument_selects", "-v")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "conformance.py::test_argument_selects[bruteforce] PASSED" in proc.stdout


def test_option_names_an_unknown_backend(tmp_path):
    proc = _pytest(tmp_path, "--combopt-backend", "no-such-solver")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--combopt-backend: no backend 'no-such-solver' is registered" in proc.stderr
