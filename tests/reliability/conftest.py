"""Fixtures: ``backend`` runs a test once per backend that can run here."""

from __future__ import annotations

import pytest

from .helpers import available_backends

BACKENDS = available_backends()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """The name of an available backend (HiGHS now; every merged backend later)."""
    return request.param
