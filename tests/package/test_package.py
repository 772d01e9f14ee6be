"""The package as an installer and a type checker meet it: versions, markers, licence, names."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = [
    "combopt",
    "combopt_core",
    "combopt_highs",
    "combopt_bruteforce",
    "combopt_gurobi",
    "combopt_scip",
    "combopt_cpsat",
    "combopt_torch",
    "combopt_jax",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_package_has_the_distribution_version_and_a_py_typed_marker(name):
    module = importlib.import_module(name)
    assert module.__version__ == importlib.metadata.version("combopt")
    assert (Path(module.__file__).parent / "py.typed").is_file()


def test_py_typed_is_shipped_as_package_data_and_the_licence_as_a_licence_file():
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_import_combopt_is_the_core_public_api():
    import combopt
    import combopt_core

    assert combopt.__all__ == combopt_core.__all__
    for name in combopt_core.__all__:
        assert getattr(combopt, name) is getattr(combopt_core, name)


@pytest.mark.parametrize(
    ("adapter", "framework", "hint"),
    [
        ("combopt_torch", "torch", 'pip install "torch==2.13.0" "combopt[torch]"'),
        ("combopt_jax", "jax", 'pip install "combopt[jax]"'),
    ],
)
def test_an_adapter_without_its_framework_says_how_to_install_it(adapter, framework, hint):
    # sys.modules[name] = None makes ``import name`` fail as if it were not installed.
    code = f"import sys; sys.modules[{framework!r}] = None; import {adapter}"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:") and hint in last, done.stderr
