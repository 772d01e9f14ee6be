"""combopt: integer linear programs as neural-network layers (CombOptNet).

``import combopt`` is the short name of the framework-free core: everything public in
``combopt_core`` (``solve``, ``make_problem``, ``get_solver``, ``hookimpl``, ...) is
importable from here. The parts that need more than numpy keep their own packages, so that
importing one never imports a framework or a solver you did not ask for:

* ``combopt_torch``: the PyTorch layer (``ILPLayer``, ``CombOptNet``, ...);
* ``combopt_jax``: the JAX layer;
* ``combopt_highs``, ``combopt_gurobi``, ...: the solver backends, found through the
  ``combopt.backends`` entry-point group (you rarely import them; pass ``solver="name"``).
"""

from combopt_core import *  # noqa: F403 - the re-export is this package's whole job
from combopt_core import __all__ as __all__
from combopt_core import __version__ as __version__
