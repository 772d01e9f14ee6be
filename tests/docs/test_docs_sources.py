"""The documentation's sources stay in step with the code.

The strict site build (``mkdocs build --strict``) checks links and the API reference; these
tests check what it cannot: that the figure script still runs with the library's formulas,
that every included snippet exists, and that the command-line page names every task.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from combopt_core import cli

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def test_figure_script_draws_both_figures(tmp_path):
    pytest.importorskip("matplotlib")
    done = subprocess.run(
        [sys.executable, str(DOCS / "figures" / "make_figures.py"), "--out", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in ("delta_basis.png", "target_cases.png"):
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
        assert (DOCS / "figures" / name).is_file(), f"commit the regenerated {name}"


def test_figure_basis_matches_the_library_gradient():
    """The figure's Delta-basis and lambdas are the ones the gradient rule uses: with a box
    large enough and no constraints, every target is feasible and dc = sum lambda_k Delta_k."""
    import importlib.util

    import numpy as np

    from combopt_core import combopt_gradients

    spec = importlib.util.spec_from_file_location(
        "make_figures", DOCS / "figures" / "make_figures.py"
    )
    figures = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = figures
    spec.loader.exec_module(figures)
    dy = np.array([-0.8, -0.3])
    deltas, lam = figures.delta_basis(dy)
    g = combopt_gradients(
        dy[None], np.ones((1, 2)), np.zeros((0, 2)), np.zeros(0), np.zeros(2), np.full(2, 3.0)
    )
    np.testing.assert_allclose(sum(l * d for l, d in zip(lam, deltas)), g.dc[0])
    np.testing.assert_allclose(g.dc[0], -dy)


def test_every_included_snippet_exists():
    includes = []
    for page in DOCS.rglob("*.md"):
        for match in re.finditer(r'--8<-- "([^":]+)', page.read_text(encoding="utf-8")):
            includes.append((page.name, match.group(1)))
    assert includes, "the pages include the example scripts"
    missing = [(page, path) for page, path in includes if not (ROOT / path).is_file()]
    assert not missing


def test_cli_page_lists_every_task_and_exit_code():
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for task in cli.TASKS:
        assert f"combopt reproduce {task}" in text
    codes = (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_NO_CHECKOUT, cli.EXIT_BROKEN_PIPE)
    for code in codes:
        assert f"| {code} |" in text
    assert f"| {cli.EXIT_INTERRUPTED} |" in text
