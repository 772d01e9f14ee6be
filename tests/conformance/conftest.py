"""Fixtures of the backend conformance suite.

Every test that takes the ``backend`` fixture runs once per backend that
``combopt_core.list_backends()`` reports (built-in or third-party plugin). Backends that are
registered but cannot run here (package or licence missing, broken plugin) appear as skips
with the reason, so ``pytest -ra`` shows what was not checked and why.

``conformance_rules.RULES`` is the only place where a backend may be treated differently
(size limits it cannot meet, with the reason); the shared tolerances live there too.

Environment:
    COMBOPT_CONFORMANCE_EXAMPLES: hypothesis examples per generated test (default 40).
    COMBOPT_CONFORMANCE_REPORT: write ``{"instances": {backend: count}}`` as JSON to this path.
"""

from __future__ import annotations

import json
import os

import pytest

from combopt_core import ILPSolver, get_solver, list_backends

from .conformance_rules import NO_RULES, RULES, TALLY, Checker, Rules


def _backend_params() -> list:
    params = []
    for status in list_backends():
        marks = (
            ()
            if status.available
            else pytest.mark.skip(reason=f"backend '{status.name}' unavailable: {status.reason}")
        )
        params.append(pytest.param(status.name, marks=marks, id=status.name))
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", _backend_params(), scope="session")


@pytest.fixture(scope="session")
def solver(backend: str) -> ILPSolver:
    """One solver per backend for the whole session (so model reuse across shapes is tested)."""
    return get_solver(backend)


@pytest.fixture(scope="session")
def rules(backend: str) -> Rules:
    return RULES.get(backend, NO_RULES)


@pytest.fixture(scope="session")
def available_solvers() -> dict[str, ILPSolver]:
    """Every backend that can run here, by name."""
    return {s.name: get_solver(s.name) for s in list_backends() if s.available}


@pytest.fixture(scope="session")
def check() -> Checker:
    return Checker()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not TALLY:
        return
    counts = ", ".join(f"{name} {count}" for name, count in sorted(TALLY.items()))
    terminalreporter.write_line(f"conformance instances checked per backend: {counts}")
    path = os.environ.get("COMBOPT_CONFORMANCE_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"instances": dict(sorted(TALLY.items()))}, fh, indent=1)
