"""Failure semantics of a batch solve, in one place for every executor.

* ``solve_one``: one backend call with the instance named in every failure. A backend that
  raises, or returns ``Status.ERROR``, either raises ``SolverError`` (``on_error="raise"``)
  or is flagged ``Status.ERROR`` with no point (``on_error="flag"``); a malformed answer
  always raises (``verify.check_returned``). Time-outs are never failures.
* ``settle``: the same checks for an answer that came from a backend's ``solve_many``.
* ``gather``: collect jobs from a ``concurrent.futures`` pool so that nothing is left
  running when it returns or raises: on an exception, or ``KeyboardInterrupt`` while
  waiting, a stop flag is set, the jobs not yet started are cancelled and the running ones
  awaited.
* ``warn_failed``: one ``RuntimeWarning`` per batch with flagged failures.
"""

from __future__ import annotations

import warnings
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Callable, Sequence

import numpy as np

from .errors import SolverError
from .result import BatchSolution, Solution, Status
from .solver import ILPSolver
from .spec import ILPInstance
from .verify import check_returned

ON_ERROR = ("raise", "flag")


def check_on_error(on_error: str) -> str:
    """Validate the ``on_error`` option (``"raise"`` or ``"flag"``)."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error: expected one of {ON_ERROR}, got {on_error!r}")
    return on_error


def settle(
    solution: Solution, instance: ILPInstance, name: str, index: int, on_error: str
) -> Solution:
    """Check one answer (a malformed one always raises) and raise or flag ``Status.ERROR``."""
    check_returned(solution, instance.num_vars, name, index)
    if solution.status == Status.ERROR:
        what = f"backend '{name}' failed on instance {index}: {solution.message}"
        if on_error == "raise":
            raise SolverError(what)
        return Solution(None, Status.ERROR, solve_time=solution.solve_time, message=what)
    return solution


def solve_one(
    solver: ILPSolver,
    instance: ILPInstance,
    index: int,
    time_limit: float | None,
    on_error: str = "raise",
) -> Solution:
    """``solver.solve(instance)`` with failures raised or flagged, naming instance ``index``."""
    name = getattr(solver, "name", type(solver).__name__)
    try:
        solution = solver.solve(instance, time_limit=time_limit)
    except Exception as exc:  # noqa: BLE001 - raised or flagged with the instance named
        if on_error == "raise":
            raise SolverError(f"backend '{name}' failed on instance {index}: {exc!r}") from exc
        solution = Solution(None, Status.ERROR, message=repr(exc))
    return settle(solution, instance, name, index, on_error)


def gather(futures: Sequence[Future], on_abort: Callable[[], None] = lambda: None) -> list:
    """The futures' results in order; nothing of them runs after return or raise.

    On the first exception, or ``KeyboardInterrupt`` while waiting, ``on_abort()`` is called
    (e.g. to set a stop flag that running jobs check), the jobs not yet started are cancelled
    and the running ones awaited; then the first exception is raised.
    """
    try:
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = [f for f in futures if f.done() and f.exception() is not None]
        if failed:
            raise failed[0].exception()
    except BaseException:
        on_abort()
        for future in futures:
            future.cancel()
        wait(futures)
        raise
    return [future.result() for future in futures]


def warn_failed(result: BatchSolution, stacklevel: int = 3) -> None:
    """Warn once if any instance of ``result`` was flagged ``Status.ERROR``."""
    failed: Sequence[int] = np.flatnonzero(result.failed)
    if len(failed):
        warnings.warn(
            f"{len(failed)} instance(s) flagged Status.ERROR; first: "
            f"{result.messages[failed[0]]}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
