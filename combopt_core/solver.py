"""The abstract solver protocol every backend implements.

A backend is any object with a ``name`` and a ``solve(instance, time_limit=None)`` method
returning a :class:`~combopt_core.result.Solution`. It must:

* return an exact optimum (MIP gaps set to zero) with status ``OPTIMAL``;
* report ``INFEASIBLE`` (never raise) when no integer point of the box satisfies
  ``A y <= b`` (and ``A_eq y == b_eq``);
* be safe to call from several threads at once when ``releases_gil`` is true (the batch
  solver then runs instances on a thread pool), e.g. by keeping one model per thread;
* solve single-threaded, so that a batch parallelises across instances and results are
  deterministic run to run.

Optional extensions (the core uses them when present; see ``combopt_core.executors``):

* ``supports_equalities = True``: the backend adds ``instance.A_eq y == instance.b_eq`` as
  equality constraints of its solver (within ``verify.FEASIBILITY_TOL``). Without it the
  batch solver hands the backend every equality row as its two ``<=`` halves
  (``combopt_core.spec.lower_equalities``), so a backend written before equality rows
  existed stays correct; its ``instance.A_eq`` is then always empty.
* ``parallelism``: ``"threads"`` (the solve releases the GIL and the object is thread-safe),
  ``"processes"`` (it holds the GIL: the batch goes to a process pool, so the object must
  pickle; each worker process unpickles it once and keeps it, models included) or
  ``"serial"``. Without it, ``releases_gil = True`` means ``"threads"``, else ``"serial"``.
* ``solve_many(problem, time_limit=None) -> list[Solution]``: solve every instance of a
  validated ``ILPProblem`` (a chunk of the user's batch, in order). The executors call it
  once per chunk instead of ``solve`` per instance, so a backend can build one model and
  only change what differs between instances: with ``problem.shared`` the constraints
  (equality rows included) are the same for the whole chunk and only ``c`` changes (HiGHS:
  ``changeColsCost``). A backend may also keep its model between calls and skip rebuilding
  it when ``A``, ``b``, the bounds and ``A_eq``, ``b_eq`` are unchanged (keep a
  ``ConstraintSet.of(instance)`` and ask it ``matches``: ``O((m + m_eq) n)``, cheap next to
  a solve).
  ``solve_many`` must return the same answers as ``solve`` (up to ties between several
  optimal points) and follow every rule above.
* ``interrupt() -> None``: ask every solve of this object running now, in any thread, to
  stop as soon as it can; each stopped call raises ``KeyboardInterrupt``. The executors
  call it when Ctrl-C (or an error elsewhere) abandons a batch, so that control returns
  without waiting for the running solves; ``combopt_core.interrupts.RunningSolves`` does
  the bookkeeping. Without it, Ctrl-C waits for the running solves (bounded by the time
  limit, if any).

The arrays a backend is given are read-only views: a backend must not edit its inputs.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .result import Solution
from .spec import ILPInstance


@runtime_checkable
class ILPSolver(Protocol):
    """``solve`` one ILP ``min c.y s.t. A y <= b, A_eq y == b_eq, lb <= y <= ub, y integer``."""

    name: str
    releases_gil: bool

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        """Solve one instance; ``time_limit`` in seconds, ``None`` for none."""
        ...
