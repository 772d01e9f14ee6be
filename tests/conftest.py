"""Shared fixtures: the shipped Random Constraints data and random instance makers."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(__file__).resolve().parents[1] / "demos" / "data" / "random_constraints"


def rc_files() -> list[Path]:
    """Every shipped Random Constraints file (binary and dense, m = 1, 2, 4, 8)."""
    return sorted(DATA_DIR.glob("*.npz"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


HAS_NUMBA = importlib.util.find_spec("numba") is not None
NO_NUMBA = "numba not installed (pip install 'combopt[fast]'): compiled backward not tested"


@pytest.fixture(
    params=[
        pytest.param("numpy", id="numpy"),
        pytest.param("numba", id="numba", marks=pytest.mark.skipif(not HAS_NUMBA, reason=NO_NUMBA)),
        pytest.param(
            "numba-parallel",
            id="numba-parallel",
            marks=pytest.mark.skipif(not HAS_NUMBA, reason=NO_NUMBA),
        ),
    ]
)
def implementation(request, monkeypatch) -> str:
    """The backward implementation under test: ``combopt_gradients(..., implementation=...)``.

    Gradient tests taking it run on the NumPy reference code and on the compiled kernel, the
    latter both in the calling thread (small problems) and on numba's thread pool (forced).
    """
    if request.param == "numba-parallel":
        from combopt_core import gradient_kernel

        monkeypatch.setattr(gradient_kernel, "PARALLEL_MIN_ELEMENTS", 0)
        return "numba"
    return request.param
