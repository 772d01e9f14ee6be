"""Brute-force reference backend: exact enumeration of the box's integer points (numpy only).

It needs no solver package, so it is always available. It is the oracle of the conformance
kit (``combopt_core.testing``) and the model of a minimal plugin: this module registers one
``BackendSpec`` through the ``combopt.backends`` entry point, ``solver.py`` holds the class.
Only for tiny problems: boxes with more than ``max_points`` (default ``2**20``) integer points
are refused with a ``SolverError``.
"""

from __future__ import annotations

from combopt_core import BackendLimits, BackendSpec, hookimpl
from combopt_core import __version__ as __version__  # plugins ship with combopt
from combopt_core.options import check_keywords

from .enumerate import DEFAULT_MAX_POINTS


def _make(**options):
    from .solver import BruteForceSolver

    # a misspelt keyword: the closest ones named
    check_keywords("bruteforce", options, BruteForceSolver)
    return BruteForceSolver(**options)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="bruteforce",
            factory=_make,
            distribution="combopt",  # pure numpy: always available, versioned with combopt
            description="exact enumeration of the box (reference oracle, tiny problems only)",
            limits=BackendLimits(
                max_points=DEFAULT_MAX_POINTS,
                reason="bruteforce enumerates the box and, by default, refuses more than "
                "2^20 integer points",
            ),
        )
    )
