"""Shared fixtures: the shipped Random Constraints data and random instance makers."""

from __future__ import annotations

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
