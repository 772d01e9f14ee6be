"""Choosing a backend: the default without ``$COMBOPT_SOLVER``, an unknown name in it, and the
``combopt backends`` listing (per-backend selection is part of the conformance kit)."""

from __future__ import annotations

import pytest

from combopt_core import BackendNotFoundError, get_solver, list_backends
from combopt_core.cli import main as cli_main
from combopt_core.registry import DEFAULT_BACKEND, DEFAULT_PREFERENCE, SOLVER_ENV_VAR


def test_default_without_environment_is_the_first_preferred_backend_installed(monkeypatch):
    monkeypatch.delenv(SOLVER_ENV_VAR, raising=False)
    available = {s.name for s in list_backends() if s.available}
    expected = next((n for n in DEFAULT_PREFERENCE if n in available), DEFAULT_BACKEND)
    assert get_solver().name == expected


def test_default_falls_back_to_highs_when_cpsat_cannot_run(monkeypatch):
    from combopt_core import registry as registry_module

    monkeypatch.delenv(SOLVER_ENV_VAR, raising=False)
    specs = registry_module.default_registry().specs()
    cpsat = specs["cpsat"][0]
    monkeypatch.setattr(
        type(cpsat),
        "unavailable_reason",
        lambda self: "pretend ortools is missing" if self.name == "cpsat" else None,
    )
    assert registry_module.default_registry().default_name() == "highs"


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
