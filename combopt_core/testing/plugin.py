"""The conformance kit's pytest plugin, loaded by pytest through combopt's ``pytest11``
entry point (named ``combopt``; ``-p no:combopt`` turns it off).

``pytest --combopt-backend NAME`` (repeatable) runs the kit's tests
(``combopt_core.testing.conformance``) on backend ``NAME``, next to whatever else is
collected; a name that is not registered, or cannot run here, is a usage error. Without the
option nothing is added, and a test that takes ``combopt_backend`` (the kit's own, when a
test module imports them) runs once per backend ``list_backends()`` reports; those that
cannot run here are skipped with the reason.

Fixtures (session-scoped):
    combopt_backend: the backend's name (parametrized as above).
    combopt_solver: one solver of it for the whole session (``get_solver(name)``).
    combopt_limits: its ``BackendLimits`` (from its ``BackendSpec``; no limits if unset).
    combopt_check: the kit's ``Checker`` (assertions, and the per-backend tally).
    combopt_reference_solvers: every backend that can run here, by name.

Environment:
    COMBOPT_CONFORMANCE_REPORT: write ``{"instances": {backend: count}}`` as JSON there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ..limits import BackendLimits
from ..registry import get_solver, list_backends
from ..solver import ILPSolver
from .checks import Checker, backend_limits

KIT_MODULE = "combopt_core.testing.conformance"
REPORT_ENV_VAR = "COMBOPT_CONFORMANCE_REPORT"
_CHECKER = pytest.StashKey[Checker]()
_PARAMS = pytest.StashKey[list]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("combopt", "combopt backend conformance kit")
    group.addoption(
        "--combopt-backend",
        action="append",
        dest="combopt_backends",
        metavar="NAME",
        help="run combopt's conformance kit on backend NAME (repeatable)",
    )


def _chosen_params(names: list[str]) -> list:
    rows = {status.name: status for status in list_backends()}
    for name in names:
        if name not in rows:
            known = ", ".join(sorted(rows)) or "none"
            raise pytest.UsageError(
                f"--combopt-backend: no backend '{name}' is registered (known: {known}); "
                "is its package installed in this environment?"
            )
        if not rows[name].available:
            raise pytest.UsageError(
                f"--combopt-backend: backend '{name}' cannot run here: {rows[name].reason}"
            )
    return [pytest.param(name, id=name) for name in dict.fromkeys(names)]


def _all_params() -> list:
    params = []
    for status in list_backends():
        marks = (
            ()
            if status.available
            else pytest.mark.skip(reason=f"backend '{status.name}' unavailable: {status.reason}")
        )
        params.append(pytest.param(status.name, marks=marks, id=status.name))
    return params


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_CHECKER] = Checker()
    names = config.getoption("combopt_backends")
    if names:  # a wrong name stops the run before collection
        config.stash[_PARAMS] = _chosen_params(names)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combopt_backend" in metafunc.fixturenames:
        config = metafunc.config
        if _PARAMS not in config.stash:  # backends are listed only where a test needs them
            config.stash[_PARAMS] = _all_params()
        metafunc.parametrize("combopt_backend", config.stash[_PARAMS], scope="session")


def _from_kit(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    return getattr(function, "__module__", None) == KIT_MODULE


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """With ``--combopt-backend``, add the kit's tests unless a test module imported them."""
    if not config.getoption("combopt_backends") or any(_from_kit(item) for item in items):
        return
    from . import conformance

    path = Path(conformance.__file__)
    nodeid = "/".join(KIT_MODULE.split(".")) + ".py"  # as if collected from its package
    module = pytest.Module.from_parent(session, path=path, nodeid=nodeid)
    items.extend(session.genitems(module))


@pytest.fixture(scope="session")
def combopt_solver(combopt_backend: str) -> ILPSolver:
    """One solver per backend for the whole session (so model reuse across shapes is tested)."""
    return get_solver(combopt_backend)


@pytest.fixture(scope="session")
def combopt_limits(combopt_backend: str) -> BackendLimits:
    return backend_limits(combopt_backend)


@pytest.fixture(scope="session")
def combopt_check(request: pytest.FixtureRequest) -> Checker:
    return request.config.stash[_CHECKER]


@pytest.fixture(scope="session")
def combopt_reference_solvers() -> dict[str, ILPSolver]:
    """Every backend that can run here, by name (to compare with beyond enumeration)."""
    return {s.name: get_solver(s.name) for s in list_backends() if s.available}


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    tally = config.stash[_CHECKER].tally
    if not tally:
        return
    counts = ", ".join(f"{name} {count}" for name, count in sorted(tally.items()))
    terminalreporter.write_line(f"conformance instances checked per backend: {counts}")
    path = os.environ.get(REPORT_ENV_VAR)
    if path:
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"instances": dict(sorted(tally.items()))}, fh, indent=1)
