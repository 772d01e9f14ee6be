"""Choosing a backend: the default without ``$COMBOPT_SOLVER``, an unknown name in it, and the
``combopt backends`` listing (per-backend selection is part of the conformance kit)."""

from __future__ import annotations

import pytest

from combopt_core import BackendNotFoundError, get_solver, list_backends
from combopt_core.cli import main as cli_main
from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR


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
