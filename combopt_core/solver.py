"""The abstract solver protocol every backend implements.

A backend is any object with a ``name`` and a ``solve(instance, time_limit=None)`` method
returning a :class:`~combopt_core.result.Solution`. It must:

* return an exact optimum (MIP gaps set to zero) with status ``OPTIMAL``;
* report ``INFEASIBLE`` (never raise) when no integer point of the box satisfies
  ``A y <= b``;
* be safe to call from several threads at once when ``releases_gil`` is true (the batch
  solver then runs instances on a thread pool), e.g. by keeping one model per thread;
* solve single-threaded, so that a batch parallelises across instances and results are
  deterministic run to run.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .result import Solution
from .spec import ILPInstance


@runtime_checkable
class ILPSolver(Protocol):
    """``solve`` one ILP ``min c.y s.t. A y <= b, lb <= y <= ub, y integer``."""

    name: str
    releases_gil: bool

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        """Solve one instance; ``time_limit`` in seconds, ``None`` for none."""
        ...
