"""Area 6: plugins are code. Third-party entry points load only when the registry is first
used; ``COMBOPT_LOAD_PLUGINS`` restricts which are imported at all; a plugin that raises on
import (even ``SystemExit``) or in its hook is reported and isolated.

The plugins here are real entry points: a fake installed distribution (a ``.dist-info``
folder with ``entry_points.txt``) put on ``sys.path``, exactly what ``pip install`` leaves.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from combopt_core import (
    BackendNotFoundError,
    BackendSpec,
    CombOptError,
    Registry,
    hookimpl,
    solve,
)

PLUGIN_MODULES = ("combopt_test_badfake", "combopt_test_exitfake", "combopt_test_goodfake")

GOOD = '''
import os
from combopt_core import BackendSpec, Solution, Status, hookimpl

with open(os.environ["COMBOPT_TEST_MARKERS"], "a") as fh:
    fh.write("goodfake imported\\n")


class Zero:
    name, releases_gil = "goodfake", False

    def solve(self, instance, time_limit=None):
        y = instance.lb.copy()
        return Solution(y, Status.OPTIMAL, float(instance.c @ y))


@hookimpl
def register_backends(register):
    register(BackendSpec(name="goodfake", factory=Zero, description="test plugin"))
'''

BAD = '''
import os
with open(os.environ["COMBOPT_TEST_MARKERS"], "a") as fh:
    fh.write("badfake imported\\n")
raise RuntimeError("boom from badfake")
'''

EXIT = "raise SystemExit(3)\n"


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder holding an installed distribution with three combopt backend entry points
    (the broken ones first, so they are tried before the good one)."""
    dist = tmp_path / "combopt_test_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: combopt-test-plugins\nVersion: 1.0\n"
    )
    (dist / "entry_points.txt").write_text(
        "[combopt.backends]\n"
        "badfake = combopt_test_badfake\n"
        "exitfake = combopt_test_exitfake\n"
        "goodfake = combopt_test_goodfake\n"
    )
    (tmp_path / "combopt_test_goodfake.py").write_text(GOOD)
    (tmp_path / "combopt_test_badfake.py").write_text(BAD)
    (tmp_path / "combopt_test_exitfake.py").write_text(EXIT)
    markers = tmp_path / "markers.txt"
    markers.write_text("")
    monkeypatch.setenv("COMBOPT_TEST_MARKERS", str(markers))
    monkeypatch.delenv("COMBOPT_LOAD_PLUGINS", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in PLUGIN_MODULES:
        sys.modules.pop(name, None)


def imported(site: Path) -> list[str]:
    return (site / "markers.txt").read_text().split("\n")[:-1]


def by_name(registry: Registry) -> dict:
    return {s.name: s for s in registry.statuses()}


def test_broken_plugins_are_reported_and_isolated(site):
    registry = Registry()
    rows = by_name(registry)
    assert rows["goodfake"].available and rows["goodfake"].plugin == "goodfake"
    assert "highs" in rows  # the installed backends still load
    assert not rows["badfake"].available
    assert "broken plugin" in rows["badfake"].reason
    assert "boom from badfake" in rows["badfake"].reason
    assert "SystemExit" in rows["exitfake"].reason
    res = solve([[1.0, 2.0]], np.zeros((0, 2)), np.zeros(0), solver=registry.get_solver("goodfake"))
    assert res.y.tolist() == [[0.0, 0.0]]
    with pytest.raises(BackendNotFoundError, match="broken plugins: badfake, exitfake"):
        registry.get_solver("badfake")


def test_entry_points_load_once(site):
    registry = Registry()
    for _ in range(3):
        registry.statuses()
        registry.get_solver("goodfake")
    assert imported(site) == ["badfake imported", "goodfake imported"]


@pytest.mark.parametrize(
    "allowed, loaded",
    [
        ("goodfake", {"goodfake"}),
        (" goodfake , highs ", {"goodfake", "highs"}),
        ("highs", {"highs"}),
        ("", set()),
    ],
)
def test_load_plugins_variable_restricts_what_is_imported(site, monkeypatch, allowed, loaded):
    monkeypatch.setenv("COMBOPT_LOAD_PLUGINS", allowed)
    registry = Registry()
    assert set(registry.specs()) == loaded
    assert registry.broken == {}  # the broken plugins were never imported
    assert "badfake imported" not in imported(site)
    assert ("goodfake imported" in imported(site)) == ("goodfake" in loaded)
    with pytest.raises(BackendNotFoundError, match=r"left out by \$COMBOPT_LOAD_PLUGINS: badfake"):
        registry.get_solver("badfake")


def test_plugin_hooks_that_misbehave_are_isolated():
    class Raises:
        @hookimpl
        def register_backends(self, register):
            raise ValueError("hook exploded")

    class NotASpec:
        @hookimpl
        def register_backends(self, register):
            register({"name": "dict-instead-of-spec"})

    class Fine:
        @hookimpl
        def register_backends(self, register):
            register(BackendSpec(name="fine", factory=lambda: None))

    registry = Registry()
    for plugin, name in ((Raises(), "raises"), (NotASpec(), "notaspec"), (Fine(), "fine")):
        registry.register_plugin(plugin, name=name)
    assert "fine" in registry.specs()
    assert "hook exploded" in registry.broken["raises"]
    assert "expected a BackendSpec" in registry.broken["notaspec"]
    assert issubclass(BackendNotFoundError, CombOptError)


LAZY = textwrap.dedent(
    """
    import json, sys
    import combopt_core, combopt_torch
    from combopt_core.registry import default_registry
    before = sorted(m for m in sys.modules if m.startswith(("combopt_test_", "combopt_highs")))
    loaded_before = default_registry()._loaded
    rows = {s.name: s.available for s in combopt_core.list_backends()}
    after = sorted(m for m in sys.modules if m.startswith(("combopt_test_", "combopt_highs")))
    print(json.dumps(dict(before=before, loaded_before=loaded_before, after=after, rows=rows)))
    """
)


def test_entry_points_load_on_first_registry_use_not_on_import(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-c", LAZY], env=env, capture_output=True, text=True, timeout=120,
        check=True,
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["before"] == [] and got["loaded_before"] is False
    assert "combopt_test_goodfake" in got["after"] and "combopt_highs" in got["after"]
    assert got["rows"]["goodfake"] is True and got["rows"]["badfake"] is False
    assert imported(site) == ["badfake imported", "goodfake imported"]


def test_cli_lists_broken_plugins(site):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    out = subprocess.run(
        [sys.executable, "-m", "combopt_core.cli", "backends"], env=env, capture_output=True,
        text=True, timeout=120, check=True,
    ).stdout
    assert "goodfake" in out and "boom from badfake" in out and "SystemExit" in out


def test_unknown_name_in_load_plugins_is_an_error(site, monkeypatch):
    monkeypatch.setenv("COMBOPT_LOAD_PLUGINS", "goodfake,hihgs")
    registry = Registry()
    with pytest.raises(BackendNotFoundError, match=r"COMBOPT_LOAD_PLUGINS: .*'hihgs'.*installed"):
        registry.specs()
    monkeypatch.setenv("COMBOPT_LOAD_PLUGINS", "goodfake")  # fixed: the registry loads now
    assert set(registry.specs()) == {"goodfake"}


def test_a_plugin_cannot_take_a_builtin_backend_name():
    """Whatever the registration order, ``highs`` stays the built-in; the impostor is
    reported broken."""

    class Impostor:
        @hookimpl
        def register_backends(self, register):
            register(BackendSpec(name="highs", factory=lambda: "impostor"))

    for first in (True, False):
        registry = Registry()
        if first:
            registry.register_plugin(Impostor(), name="impostor")
        registry.load_entry_points()
        if not first:
            registry.register_plugin(Impostor(), name="impostor")
        spec, plugin = registry.specs()["highs"]
        assert plugin == "highs" and registry.get_solver("highs") != "impostor"
        assert "built-in plugin 'highs'" in registry.broken["impostor"]


def test_two_plugins_claiming_one_name_make_it_unavailable():
    def claimant(tag):
        class Plugin:
            @hookimpl
            def register_backends(self, register):
                register(BackendSpec(name="shared", factory=lambda: tag))

        return Plugin()

    registry = Registry()
    registry.register_plugin(claimant("a"), name="a")
    registry.register_plugin(claimant("b"), name="b")
    rows = by_name(registry)
    assert not rows["shared"].available and "several plugins (a, b)" in rows["shared"].reason
    assert "as do plugins: b" in registry.broken["a"]


def test_ctrl_c_while_loading_leaves_the_registry_unloaded(site, monkeypatch):
    """An interrupt in the middle of loading undoes it: the next use loads everything."""
    registry = Registry()
    real = importlib.metadata.EntryPoint.load
    calls = []

    def interrupted(ep):
        calls.append(ep.name)
        if ep.name == "goodfake" and calls.count("goodfake") == 1:
            raise KeyboardInterrupt
        return real(ep)

    monkeypatch.setattr(importlib.metadata.EntryPoint, "load", interrupted)
    with pytest.raises(KeyboardInterrupt):
        registry.specs()
    assert not registry._loaded and registry._pm.list_name_plugin() == []
    assert registry.skipped == [] and registry.broken == {}
    specs = registry.specs()
    assert "goodfake" in specs and "highs" in specs and "badfake" in registry.broken
