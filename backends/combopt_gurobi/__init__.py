"""Gurobi backend for combopt (``gurobipy``), registered through the ``combopt.backends``
entry point.

Exactness: ``MIPGap = MIPGapAbs = 0``, ``Threads = 1``, ``OutputFlag = 0``. Each thread keeps
one Gurobi ``Env`` per solver object (created on first use; Gurobi environments must not be
shared between threads) and its last model, which is reused with only the costs replaced
while ``A``, ``b`` and the bounds stay the same (``reuse_model=False`` turns this off).
Gurobi releases the GIL, so batches run on a thread pool. The pip wheel carries a
size-limited licence (at most 2,000 variables and 2,000 constraints); larger models raise a
``BackendUnavailableError`` that says so.
"""

from __future__ import annotations

import functools

from combopt_core import BackendLimits, BackendSpec, hookimpl
from combopt_core import __version__ as __version__  # plugins ship with combopt
from combopt_core.options import check_keywords


def _make(**options):
    from .solver import GurobiSolver

    check_keywords("gurobi", options, GurobiSolver)  # a misspelt keyword: the closest ones named
    return GurobiSolver(**options)


@functools.lru_cache(maxsize=1)
def licence_problem() -> str | None:
    """Why Gurobi cannot start an environment here (no usable licence), else ``None``."""
    from .solver import start_env

    try:
        start_env({}).dispose()
    except Exception as exc:  # noqa: BLE001 - GurobiError or a broken installation
        return f"no usable Gurobi licence: {exc}"
    return None


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="gurobi",
            factory=_make,
            module="gurobipy",
            install_hint="pip install 'combopt[gurobi]'",
            check=licence_problem,
            description="Gurobi (commercial; the pip wheel's licence is size-limited)",
            limits=BackendLimits(
                max_size=2000,
                reason="the gurobipy wheel's size-limited licence allows at most 2000 "
                "variables and 2000 constraints",
            ),
        )
    )
