"""Example third-party combopt backend: ``scipy.optimize.milp`` (HiGHS inside SciPy).

The plugin module only registers a ``BackendSpec``; the solver class is imported lazily by the
factory, so listing backends never imports SciPy.
"""

from __future__ import annotations

from combopt_core import BackendSpec, hookimpl


def _make(**options):
    from .solver import ScipyMilpSolver

    return ScipyMilpSolver(**options)


@hookimpl
def register_backends(register):
    register(
        BackendSpec(
            name="scipy-milp",
            factory=_make,
            module="scipy",
            install_hint="pip install scipy",
            description="scipy.optimize.milp (example third-party plugin)",
        )
    )
