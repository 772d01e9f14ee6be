"""SCIP backend for combopt (``pyscipopt``), registered through the ``combopt.backends`` entry
point.

Exactness: ``limits/gap = limits/absgap = 0``, output hidden, single-threaded LP. Building a
SCIP model costs about 1.5 ms, so each thread keeps its model (``reuse_model=True``, the
default) and, for the next instance of the same shape and bounds, only changes what differs
(objective, coefficients, right-hand sides) after ``freeTransform()``; other bounds get a new
model. ``optimizeNogil()`` (pyscipopt >= 5) releases the GIL, so batches run
on a thread pool; with an older pyscipopt the backend reports ``releases_gil = False``.
"""

from __future__ import annotations

from combopt_core import BackendSpec, hookimpl
from combopt_core import __version__ as __version__  # plugins ship with combopt
from combopt_core.options import check_keywords


def _make(**options):
    from .solver import ScipSolver

    check_keywords("scip", options, ScipSolver)  # a misspelt keyword: the closest ones named
    return ScipSolver(**options)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="scip",
            factory=_make,
            module="pyscipopt",
            distribution="PySCIPOpt",
            install_hint="pip install 'combopt[scip]'",
            description="SCIP (Apache 2.0 licence)",
        )
    )
