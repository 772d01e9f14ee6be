"""The API reference (docs/api.md, rendered by mkdocstrings) names every public name."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"
PACKAGES = ["combopt_core", "combopt_torch", "combopt_jax"]


def documented() -> set[str]:
    """The objects the page renders: its ``::: dotted.name`` directives."""
    return set(re.findall(r"^::: (\S+)\s*$", API_PAGE.read_text(encoding="utf-8"), re.M))


@pytest.mark.parametrize("package", PACKAGES)
def test_every_name_in_all_is_in_the_api_reference(package):
    module = pytest.importorskip(package)
    missing = [name for name in module.__all__ if f"{package}.{name}" not in documented()]
    assert not missing, f"add '::: {package}.NAME' to docs/api.md for: {', '.join(missing)}"


def test_every_directive_names_an_object_that_exists():
    for dotted in sorted(documented()):
        module_name, _, attribute = dotted.rpartition(".")
        try:
            module = importlib.import_module(dotted)  # a whole module (the CLI)
        except ImportError:
            module = importlib.import_module(module_name)
            assert hasattr(module, attribute), f"docs/api.md: {dotted} does not exist"
