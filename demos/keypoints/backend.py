"""Which ILP backend the keypoint demo uses when the user does not name one.

``--solver`` > ``$COMBOPT_SOLVER`` > the first available backend of ``PREFERRED``, the exact
backends ordered by their measured speed on these ILPs (``demos/benchmarks/
keypoint_solvers.py``; the numbers are in ``docs/keypoints.md``). With none of them
available, the library's default (HiGHS) is returned, so the layer raises its usual error.
"""

from __future__ import annotations

import os

from combopt_core import list_backends
from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR

PREFERRED = ("cpsat", "gurobi", "highs", "scip")


def choose_solver(requested: str | None = None) -> tuple[str, str]:
    """``(backend name, why it was chosen)`` for ``requested`` (``None``: not named)."""
    if requested:
        return requested, "--solver"
    from_env = os.environ.get(SOLVER_ENV_VAR)
    if from_env:
        return from_env, f"${SOLVER_ENV_VAR}"
    available = {s.name for s in list_backends() if s.available}
    for name in PREFERRED:
        if name in available:
            return name, "fastest available on these ILPs"
    return DEFAULT_BACKEND, "library default (no preferred backend available)"
