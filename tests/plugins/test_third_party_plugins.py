"""Third-party plugins, for real: two separately packaged plugins (``example_plugin``: a
working ``scipy-milp`` backend; ``broken_plugin``: one whose import fails) are pip-installed
into a temporary directory and found through the ``combopt.backends`` entry-point group."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from combopt_bruteforce.enumerate import enumerate_optima
from combopt_core import Status, list_backends, make_problem
from combopt_core.registry import SOLVER_ENV_VAR, Registry

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PACKAGES = ("example_plugin", "broken_plugin")
BUILTIN = {s.name for s in list_backends() if s.available}


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory) -> Path:
    """Both plugin packages installed with pip into a fresh ``--target`` directory."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("building the test plugins needs setuptools: pip install 'combopt[test]'")
    tmp = tmp_path_factory.mktemp("plugins")
    sources = []
    for name in PACKAGES:  # build from copies: pip would write build/ into the source tree
        shutil.copytree(
            HERE / name,
            tmp / name,
            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
        )
        sources.append(str(tmp / name))
    site = tmp / "site"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--target",
        str(site),
        *sources,
    ]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"pip could not install the test plugins:\n{proc.stderr}"
    return site


@pytest.fixture()
def registry(plugin_site, monkeypatch) -> Registry:
    """A fresh registry that sees the installed plugins (the default one is left alone)."""
    monkeypatch.syspath_prepend(str(plugin_site))
    monkeypatch.delenv("COMBOPT_LOAD_PLUGINS", raising=False)
    return Registry()


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    env.pop(SOLVER_ENV_VAR, None)
    return env


def test_plugin_found_through_its_entry_point(registry):
    rows = {s.name: s for s in registry.statuses()}
    milp = rows["scipy-milp"]
    assert milp.available and milp.plugin == "scipy-milp"
    assert milp.version == importlib.metadata.version("scipy")


def test_broken_plugin_is_reported_and_others_still_work(registry):
    rows = {s.name: s for s in registry.statuses()}
    broken = rows["broken-example"]
    assert not broken.available
    assert "broken plugin" in broken.reason and "combopt_missing_dependency_for_tests" in (
        broken.reason
    )
    assert "broken-example" in registry.broken
    for name in BUILTIN | {"scipy-milp"}:
        assert rows[name].available, f"{name} stopped working next to a broken plugin"
    inst = make_problem([-1.0, -2.0], [[1.0, 1.0]], [1.0]).instance(0)
    assert registry.get_solver("highs").solve(inst).y.tolist() == [0.0, 1.0]


def test_plugin_backend_solves_like_the_oracle(registry):
    solver = registry.get_solver("scipy-milp")
    rng = np.random.default_rng(11)
    for _ in range(10):
        A = rng.integers(-3, 4, (3, 6)).astype(float)
        inst = make_problem(rng.uniform(-1, 1, 6), A, rng.integers(-1, 5, 3), -1, 2).instance(0)
        truth, sol = enumerate_optima(inst), solver.solve(inst)
        if truth.optimal.shape[0] == 0:
            assert sol.status == Status.INFEASIBLE
        else:
            assert sol.status == Status.OPTIMAL
            assert sol.objective == pytest.approx(truth.objective, abs=1e-9)


def test_plugin_selected_by_environment(registry, monkeypatch):
    monkeypatch.setenv(SOLVER_ENV_VAR, "scipy-milp")
    assert registry.get_solver().name == "scipy-milp"
    assert registry.get_solver("bruteforce").name == "bruteforce"


def test_cli_lists_plugins_and_broken_ones(plugin_site):
    proc = subprocess.run(
        [sys.executable, "-m", "combopt_core.cli", "backends"],
        check=False,
        capture_output=True,
        text=True,
        env=_env(plugin_site),
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines() if line.strip()}
    assert " yes " in rows["scipy-milp"]
    assert (
        " no " in rows["broken-example"]
        and "combopt_missing_dependency_for_tests" in (rows["broken-example"])
    )
    for name in BUILTIN:
        assert " yes " in rows[name]


def test_conformance_kit_checks_the_plugin(plugin_site, tmp_path):
    """A plugin author runs the conformance kit on their backend: ``--combopt-backend``."""
    report = tmp_path / "report.json"
    env = _env(plugin_site)
    env.update(COMBOPT_CONFORMANCE_EXAMPLES="8", COMBOPT_CONFORMANCE_REPORT=str(report))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        + ["--combopt-backend", "scipy-milp"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        cwd=tmp_path,  # outside the checkout: the kit comes with combopt, not its tests
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    instances = json.loads(report.read_text())["instances"]
    assert list(instances) == ["scipy-milp"] and instances["scipy-milp"] > 100
