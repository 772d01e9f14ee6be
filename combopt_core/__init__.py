"""combopt_core: the solver-free, framework-free heart of combopt.

Problem spec and validation (``spec``), the ``ILPSolver`` protocol (``solver``), results
(``result``), the pluggy backend registry (``registry``, ``hookspecs``), batch solving
(``batch``, ``executors``, ``cache``) and the CombOptNet gradient rule (``gradient``). Imports numpy and pluggy only.
Sign convention everywhere: ``min c.y  s.t.  A y <= b,  lb <= y <= ub,  y integer``.
"""

from ._version import __version__ as __version__
from .batch import default_workers, solve, solve_batch
from .cache import SolutionCache, SolutionPool
from .errors import (
    BackendNotFoundError,
    BackendUnavailableError,
    CombOptError,
    PermanentSolverError,
    ProblemValidationError,
    SolverError,
    SolverOptionError,
)
from .executors import (
    Executor,
    ProcessExecutor,
    SerialExecutor,
    ThreadExecutor,
    close_shared_executors,
)
from .gradient import Gradients, combopt_gradients
from .hookspecs import hookimpl
from .limits import BackendLimits
from .registry import (
    BackendSpec,
    BackendStatus,
    Registry,
    get_solver,
    list_backends,
    register_plugin,
)
from .memory import SolutionMemory
from .result import BatchSolution, Proof, Solution, Status
from .solver import ILPSolver
from .spec import (
    ConstraintSet,
    ILPInstance,
    ILPProblem,
    lower_equalities,
    make_problem,
    two_sided_rows,
)

__all__ = [
    "BackendLimits",
    "BackendNotFoundError",
    "BackendSpec",
    "BackendStatus",
    "BackendUnavailableError",
    "BatchSolution",
    "CombOptError",
    "Executor",
    "Gradients",
    "ConstraintSet",
    "ILPInstance",
    "ILPProblem",
    "ILPSolver",
    "PermanentSolverError",
    "ProblemValidationError",
    "ProcessExecutor",
    "Proof",
    "Registry",
    "SerialExecutor",
    "Solution",
    "SolutionCache",
    "SolutionMemory",
    "SolutionPool",
    "SolverError",
    "SolverOptionError",
    "Status",
    "ThreadExecutor",
    "close_shared_executors",
    "combopt_gradients",
    "default_workers",
    "get_solver",
    "hookimpl",
    "list_backends",
    "lower_equalities",
    "make_problem",
    "register_plugin",
    "solve",
    "solve_batch",
    "two_sided_rows",
]
