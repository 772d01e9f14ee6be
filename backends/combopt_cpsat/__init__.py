"""OR-Tools CP-SAT backend for combopt (``ortools``), registered through the
``combopt.backends`` entry point.

CP-SAT needs integer constraint coefficients: each row of ``A y <= b`` is scaled by a power of
two and rounded so that the integer model is a relaxation of the float one, and every point is
checked against the float constraints, which certifies it optimal (see ``scaling``). One worker
per solve, presolve off by default (about 3x faster on the paper's tiny models). CP-SAT
releases the GIL, so batches run on a thread pool.
"""

from __future__ import annotations

from combopt_core import BackendSpec, hookimpl
from combopt_core import __version__ as __version__  # plugins ship with combopt
from combopt_core.options import check_keywords


def _make(**options):
    from .solver import CpSatSolver

    check_keywords("cpsat", options, CpSatSolver)  # a misspelt keyword: the closest ones named
    return CpSatSolver(**options)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="cpsat",
            factory=_make,
            module="ortools",
            install_hint="pip install 'combopt[cpsat]'",
            description="OR-Tools CP-SAT (Apache 2.0); real coefficients scaled to integers",
        )
    )
