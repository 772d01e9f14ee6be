"""Choosing a backend: argument > $COMBOPT_SOLVER > default, for every backend; and the
``combopt backends`` listing."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import BackendNotFoundError, get_solver, list_backends, solve
from combopt_core.cli import main as cli_main
from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR


def _other(backend: str) -> str:
    return "bruteforce" if backend != "bruteforce" else DEFAULT_BACKEND


def test_argument_selects(backend):
    assert get_solver(backend).name == backend


def test_environment_selects(backend, monkeypatch):
    monkeypatch.setenv(SOLVER_ENV_VAR, backend)
    assert get_solver().name == backend
    result = solve([-1.0, -1.0], [[1.0, 1.0]], [1.0])  # solver=None: the variable decides
    assert result.objective[0] == -1.0


def test_argument_beats_environment(backend, monkeypatch):
    monkeypatch.setenv(SOLVER_ENV_VAR, backend)
    assert get_solver(_other(backend)).name == _other(backend)
    monkeypatch.setenv(SOLVER_ENV_VAR, _other(backend))
    assert get_solver(backend).name == backend


def test_default_without_environment(monkeypatch):
    monkeypatch.delenv(SOLVER_ENV_VAR, raising=False)
    assert get_solver().name == DEFAULT_BACKEND


def test_unknown_environment_value_names_the_variable(monkeypatch):
    monkeypatch.setenv(SOLVER_ENV_VAR, "no-such-solver")
    with pytest.raises(BackendNotFoundError, match=rf"no-such-solver.*\${SOLVER_ENV_VAR}"):
        get_solver()


def test_cli_lists_every_backend_with_version_and_availability(capsys):
    assert cli_main(["backends"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for status in list_backends():
        row = next((line for line in lines if line.split()[:1] == [status.name]), None)
        assert row is not None, f"{status.name} missing from 'combopt backends'"
        assert (status.version or "-") in row
        assert ("yes" if status.available else "no") in row.split()
        if not status.available:
            assert status.reason[:30] in row


def test_cli_require(backend):
    assert cli_main(["backends", "--require", backend]) == 0
    assert cli_main(["backends", "--require", "no-such-solver"]) == 1


def test_backends_solve_the_same_tiny_problem(backend):
    """Smoke check through the public ``solve`` entry with the backend named."""
    result = solve(np.array([[-2.0, -3.0, -1.0]]), [[1.0, 1.0, 1.0]], [2.0], solver=backend)
    np.testing.assert_array_equal(result.y, [[1.0, 1.0, 0.0]])
