"""Which ILP backend the keypoint demo uses when the user does not name one.

``--solver`` > ``$COMBOPT_SOLVER`` > the first available backend of ``PREFERRED``, the exact
backends ordered by their measured speed on these ILPs (``demos/benchmarks/
keypoint_solvers.py``; the numbers are in ``docs/keypoints.md``). With none of them
available, the library's default (HiGHS) is returned, so the layer raises its usual error.

The backend's options likewise: ``--solver-options`` (JSON) > ``TUNED_OPTIONS`` for the
chosen backend > the backend's own defaults.
"""

from __future__ import annotations

import json
import os

from combopt_core import list_backends
from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR

PREFERRED = ("cpsat", "gurobi", "highs", "scip")

# Options measured faster on these ILPs, to the same proven optima (docs/keypoints.md):
# CP-SAT without its LP relaxation (linearization_level 0) solves the half-learned p = 5
# systems of mid-training about 6x faster than with it.
TUNED_OPTIONS: dict[str, dict] = {"cpsat": {"options": {"linearization_level": 0}}}


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


def parse_options(text: str, argument: str) -> dict:
    """Backend keyword options from the JSON object ``text`` given as ``argument``."""
    try:
        options = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{argument}: not valid JSON ({exc}): {text!r}") from exc
    if not isinstance(options, dict):  # a bad value of a string argument, hence ValueError
        raise ValueError(f"{argument}: expected a JSON object, got {text!r}")  # noqa: TRY004
    return options


def choose_options(solver: str, requested: str | None = None) -> tuple[dict, str]:
    """``(backend options, why)`` for ``solver``; ``requested`` is JSON (``None``: not given)."""
    if requested is not None:
        return parse_options(requested, "--solver-options"), "--solver-options"
    if solver in TUNED_OPTIONS:
        return TUNED_OPTIONS[solver], "tuned for these ILPs"
    return {}, "backend defaults"
