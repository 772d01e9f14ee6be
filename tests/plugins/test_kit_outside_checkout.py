"""A third-party backend checked by the conformance kit in its own repository, as its author
would: combopt installed from a wheel (not editable) into a fresh virtual environment outside
the checkout, the backend's package next to it, and ``pytest --combopt-backend NAME`` run in
the backend's folder. A deliberately broken copy of the backend must fail the kit.

Needs PyPI (numpy, pluggy, highspy, pytest, hypothesis, setuptools; pip's cache makes reruns
quick). Slow: the virtual environment alone takes tens of seconds, even with a warm cache.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What a wheel of combopt is built from; the rest of the checkout stays behind.
NOT_PACKAGED = {".git", ".venv", "build", "dist", "demos", "docs", "tests", "examples", "site"}

PYPROJECT = """\
[build-system]
requires = ["setuptools>=70"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["combopt"]

[project.entry-points."combopt.backends"]
{name} = "{module}"

[tool.setuptools]
packages = ["{module}"]
"""

# A complete backend: exact enumeration of boxes up to 2^16 points, a limit it declares.
PLUGIN = '''\
"""The {name} backend: exact enumeration of small boxes."""

import functools
import time

import numpy as np

from combopt_core import BackendLimits, BackendSpec, Solution, Status, hookimpl

MAX_POINTS = 2**16


@functools.lru_cache(maxsize=4)
def box_points(lb, ub):
    axes = [np.arange(lo, hi + 1) for lo, hi in zip(lb, ub)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(axes))


class TinyEnumeration:
    name = "{name}"
    releases_gil = False

    def solve(self, instance, time_limit=None):
        start = time.perf_counter()
        points = float(np.prod(instance.ub - instance.lb + 1))
        if points > MAX_POINTS:
            return Solution(None, Status.ERROR, message=f"{{points:.0f}} points: too many")
        ys = box_points(tuple(instance.lb), tuple(instance.ub))
        A, b = instance.A[:{rows}], instance.b[:{rows}]
        ok = np.all(ys @ A.T <= b + 1e-9 * np.maximum(1.0, np.abs(b)), axis=1)
        elapsed = time.perf_counter() - start
        if not ok.any():
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message="no point")
        y = ys[ok][np.argmin(ys[ok] @ instance.c)]
        return Solution(y, Status.OPTIMAL, float(instance.c @ y), elapsed)

    def solve_many(self, problem, time_limit=None):
        return [self.solve(problem.instance(i), time_limit) for i in range(problem.batch_size)]


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="{name}",
            factory=TinyEnumeration,
            description="enumeration of small boxes",
            limits=BackendLimits(max_points=MAX_POINTS, reason="it enumerates the box"),
        )
    )
'''


def _write_backend(root: Path, name: str, rows: str) -> Path:
    """The backend's repository: a pyproject with the entry point, and the plugin module
    (which checks the rows ``A[:rows]``: ``""`` for all, ``"-1"`` drops the last one)."""
    module = name.replace("-", "_")
    folder = root / name
    (folder / module).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(PYPROJECT.format(dist=name, name=name, module=module))
    (folder / module / "__init__.py").write_text(PLUGIN.format(name=name, rows=rows))
    return folder


def _run(cmd: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMBOPT_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["COMBOPT_CONFORMANCE_EXAMPLES"] = "10"
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> tuple[Path, Path]:
    """A fresh venv with combopt (from a wheel of this working tree), pytest, hypothesis and
    two backend packages, good and broken; returns the venv's python and the root folder."""
    root = tmp_path_factory.mktemp("third-party")
    assert REPO not in root.parents, "the test must run outside the checkout"
    source = root / "combopt-source"  # pip builds in the source folder: build from a copy
    shutil.copytree(
        REPO,
        source,
        ignore=lambda d, names: [
            n
            for n in names
            if (Path(d) == REPO and n in NOT_PACKAGED)
            or n == "__pycache__"
            or n.endswith(".egg-info")
        ],
    )
    good = _write_backend(root, "tiny-enum", rows="")
    broken = _write_backend(root, "tiny-enum-broken", rows="-1")
    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    pip.append("--disable-pip-version-check")
    for step in (
        ["setuptools>=77"],
        ["--no-build-isolation", str(source), str(good), str(broken), "pytest", "hypothesis"],
    ):
        proc = _run(pip + step, root)
        assert proc.returncode == 0, f"pip install {step} failed:\n{proc.stderr[-3000:]}"
    return python, root


@pytest.mark.slow
def test_combopt_is_installed_from_a_wheel(outside):
    python, root = outside
    proc = _run([str(python), "-c", "import combopt_core; print(combopt_core.__file__)"], root)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).is_relative_to(root / "venv"), proc.stdout


@pytest.mark.slow
def test_third_party_backend_passes_the_kit(outside):
    python, root = outside
    proc = _run(
        [str(python), "-m", "pytest", "--combopt-backend", "tiny-enum", "-ra"], root / "tiny-enum"
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "failed" not in proc.stdout.splitlines()[-1]
    assert "conformance instances checked per backend: tiny-enum" in proc.stdout
    assert "exceed max_points=65536; it enumerates the box" in proc.stdout  # its own limits


@pytest.mark.slow
def test_broken_backend_fails_the_kit(outside):
    python, root = outside
    proc = _run(
        [str(python), "-m", "pytest", "--combopt-backend", "tiny-enum-broken", "-x", "-q"],
        root / "tiny-enum-broken",
    )
    assert proc.returncode == pytest.ExitCode.TESTS_FAILED, proc.stdout[-4000:]
    assert "FAILED" in proc.stdout and "test_matches_bruteforce[tiny-enum-broken]" in proc.stdout
