"""The pluggy registry: entry-point discovery, selection order, clear errors, the CLI."""

from __future__ import annotations

import types

import pytest

from combopt_core import (
    BackendNotFoundError,
    BackendSpec,
    BackendUnavailableError,
    Registry,
    get_solver,
    hookimpl,
    list_backends,
)
from combopt_core.cli import main as cli_main
from combopt_core.registry import default_registry


class EchoSolver:
    releases_gil = False

    def __init__(self, name, **options):
        self.name = name
        self.options = options

    def solve(self, instance, time_limit=None):  # pragma: no cover - never solved here
        raise NotImplementedError


def plugin(*specs):
    """An in-process plugin module registering ``specs``."""
    module = types.ModuleType("fake_plugin")

    @hookimpl
    def register_backends(register):
        for spec in specs:
            register(spec)

    module.register_backends = register_backends
    return module


def spec(name, **kwargs):
    return BackendSpec(name=name, factory=lambda **o: EchoSolver(name, **o), **kwargs)


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.delenv("COMBOPT_SOLVER", raising=False)
    reg = Registry(group="combopt.no_such_group")
    reg.register_plugin(plugin(spec("alpha"), spec("highs"), spec("beta")), name="fake")
    return reg


def test_highs_is_discovered_through_its_entry_point():
    rows = {row.name: row for row in list_backends()}
    assert rows["highs"].available and rows["highs"].plugin == "highs"
    assert rows["highs"].version


def test_selection_order_argument_then_environment_then_default(registry, monkeypatch):
    assert registry.get_solver().name == "highs"
    monkeypatch.setenv("COMBOPT_SOLVER", "beta")
    assert registry.get_solver().name == "beta"
    assert registry.get_solver("alpha").name == "alpha"


def test_default_registry_honours_the_environment(monkeypatch):
    monkeypatch.setenv("COMBOPT_SOLVER", "no-such-solver")
    with pytest.raises(BackendNotFoundError, match=r"'no-such-solver' \(from \$COMBOPT_SOLVER"):
        get_solver()
    monkeypatch.delenv("COMBOPT_SOLVER")
    assert get_solver().name == default_registry().default_name()


def test_unknown_backend_lists_the_known_ones(registry):
    with pytest.raises(BackendNotFoundError, match=r"unknown backend 'gamma'.*alpha, beta, highs"):
        registry.get_solver("gamma")


def test_options_reach_the_factory(registry):
    assert registry.get_solver("alpha", threads=3).options == {"threads": 3}


def test_missing_package_makes_a_backend_unavailable_with_its_install_hint(registry):
    registry.register_plugin(
        plugin(spec("ghost", module="surely_not_installed_pkg", install_hint="pip install ghost")),
        name="ghost-plugin",
    )
    row = {r.name: r for r in registry.statuses()}["ghost"]
    assert not row.available and "pip install ghost" in row.reason
    with pytest.raises(
        BackendUnavailableError, match="surely_not_installed_pkg.*pip install ghost"
    ):
        registry.get_solver("ghost")


def test_failing_check_makes_a_backend_unavailable(registry):
    registry.register_plugin(plugin(spec("lic", check=lambda: "no licence found")), name="lic")
    with pytest.raises(BackendUnavailableError, match="no licence found"):
        registry.get_solver("lic")


def test_a_plugin_whose_hook_raises_is_reported_and_the_others_still_work(registry):
    bad = types.ModuleType("bad_plugin")

    @hookimpl
    def register_backends(register):
        raise RuntimeError("boom")

    bad.register_backends = register_backends
    registry.register_plugin(bad, name="bad")
    assert registry.get_solver("alpha").name == "alpha"
    rows = {r.name: r for r in registry.statuses()}
    assert not rows["bad"].available and "boom" in rows["bad"].reason


def test_cli_prints_the_backend_table(capsys):
    assert cli_main(["backends"]) == 0
    out = capsys.readouterr().out
    assert f"{default_registry().default_name()} (selected)" in out and "yes" in out
    assert cli_main(["backends", "--require", "no-such-solver"]) == 1
