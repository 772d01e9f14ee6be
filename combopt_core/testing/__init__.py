"""combopt's conformance kit for backend authors, as an installed pytest plugin.

In the repository of a backend plugin, with the plugin and ``combopt[test]`` installed::

    pytest --combopt-backend mysolver

runs every conformance test (``combopt_core.testing.conformance``) on ``mysolver``: exact
agreement with the brute-force oracle on generated instances, infeasibility, bounds, tied
optima, the paper's Random Constraints data, agreement with the other installed backends
beyond enumeration, time limits, ``interrupt()``, thread safety, ``solve_many``, selection by
name. The backend is asked only what its ``BackendSpec.limits`` allow. The plugin
(``combopt_core.testing.plugin``) also provides the fixtures a backend's own tests can use.

The fixed problems and the checks are usable outside pytest:
``conformance_problems()`` yields every fixed problem by name, ``Checker`` asserts what an
answer must satisfy, and ``strategies`` holds the generators of random instances
(``hypothesis``).
"""

from .checks import FEAS_TOL, OBJ_RTOL, Checker, backend_limits
from .problems import ConformanceProblem, RandomConstraintsRows, conformance_problems

__all__ = [
    "FEAS_TOL",
    "OBJ_RTOL",
    "Checker",
    "ConformanceProblem",
    "RandomConstraintsRows",
    "backend_limits",
    "conformance_problems",
]
