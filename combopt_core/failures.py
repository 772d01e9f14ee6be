"""Failure semantics of a batch solve, in one place for every executor.

* ``solve_one``: one backend call with the instance named in every failure. A backend that
  raises, or returns ``Status.ERROR``, either raises ``SolverError`` (``on_error="raise"``)
  or is flagged ``Status.ERROR`` with no point (``on_error="flag"``); a malformed answer
  always raises (``verify.check_returned``). Time-outs are never failures.
* Permanent failures always raise ``PermanentSolverError``, whatever ``on_error`` says: a
  backend raising ``BackendUnavailableError`` (licence or size limit, missing package),
  ``SolverOptionError`` (an option the solver rejects) or ``PermanentSolverError`` on any
  instance, and (``check_not_all_failed``) a batch of two or more instances that all failed
  with the same error. Flagging them would let training go on with zero gradients.
* ``settle``: the same checks for an answer that came from a backend's ``solve_many``.
* ``gather``: collect jobs from a ``concurrent.futures`` pool so that nothing is left
  running when it returns or raises: on an exception, or ``KeyboardInterrupt`` while
  waiting, ``on_abort`` is called (executors set a stop flag and interrupt the running
  solves, ``combopt_core.interrupts``), the jobs not yet started are cancelled and the
  running ones awaited.
* ``warn_failed``: one ``RuntimeWarning`` per batch with flagged failures.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait

import numpy as np

from .errors import BackendUnavailableError, PermanentSolverError, SolverError, SolverOptionError
from .result import BatchSolution, Solution, Status
from .solver import ILPSolver
from .spec import ILPInstance
from .verify import check_returned

ON_ERROR = ("raise", "flag")
#: Errors that no instance of the batch can escape: raised even under ``on_error="flag"``.
PERMANENT = (BackendUnavailableError, SolverOptionError, PermanentSolverError)
#: Seconds between checks for Ctrl-C while waiting, and between interrupt requests while an
#: abandoned batch's running jobs end.
ABORT_POLL = 0.05
_FAILED = re.compile(r"^backend '.*' failed on instance \d+: ")


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
        what = _failed(name, index, solution.message)
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
    except PERMANENT as exc:
        raise PermanentSolverError(
            f"backend '{name}' cannot solve instance {index}, nor any other of the batch: "
            f"{exc} (raised even with on_error='flag': the cause is not the instance)"
        ) from exc
    except Exception as exc:  # raised or flagged with the instance named
        if on_error == "raise":
            raise SolverError(_failed(name, index, repr(exc))) from exc
        solution = Solution(None, Status.ERROR, message=repr(exc))
    return settle(solution, instance, name, index, on_error)


def _failed(name: str, index: int, cause: str) -> str:
    """The message of a failed instance; :func:`check_not_all_failed` reads ``cause`` back."""
    return f"backend '{name}' failed on instance {index}: {cause}"


def check_not_all_failed(solutions: Sequence[Solution], name: str) -> None:
    """Raise ``PermanentSolverError`` when two or more instances were all flagged failed
    with the same cause: a failure common to the whole batch is not one instance's.

    ``solutions``: the backend's answers to the instances it was given (after ``settle``).
    """
    if len(solutions) < 2 or any(s.status != Status.ERROR for s in solutions):
        return
    causes = {_FAILED.sub("", s.message) for s in solutions}
    if len(causes) != 1 or not all(_FAILED.match(s.message) for s in solutions):
        return
    raise PermanentSolverError(
        f"backend '{name}' failed on all {len(solutions)} instances of the batch with the "
        f"same error: {causes.pop()}. A failure common to every instance is not one "
        "instance's (e.g. a licence or size limit, an option the solver rejects, a broken "
        "installation), so it is raised even with on_error='flag', where training would go "
        "on with zero gradients; fix the cause or choose another backend"
    )


def gather(
    futures: Sequence[Future], on_abort: Callable[[BaseException], bool] = lambda exc: False
) -> list:
    """The futures' results in order; nothing of them runs after return or raise.

    On the first exception, or ``KeyboardInterrupt`` while waiting, the jobs not yet started
    are cancelled and ``on_abort(exc)`` is called (e.g. to set a stop flag that running jobs
    check and interrupt their solves), again every ``ABORT_POLL`` seconds until every running
    job has ended, or until ``on_abort`` returns true (it ended them itself, e.g. by killing
    the worker processes); then the first exception is raised.
    """
    try:
        # Waking up every ABORT_POLL seconds lets the main thread run Python's SIGINT handler
        # even when the signal landed on another thread (a solver's), which a wait without
        # timeout would not notice until the batch ends.
        while wait(futures, timeout=ABORT_POLL, return_when=FIRST_EXCEPTION).not_done:
            if any(f.done() and f.exception() is not None for f in futures):
                break
        failed = [f for f in futures if f.done() and f.exception() is not None]
        if failed:
            raise failed[0].exception()
    except BaseException as exc:
        for future in futures:
            future.cancel()
        ended = on_abort(exc)
        while not ended and wait(futures, timeout=ABORT_POLL).not_done:
            ended = on_abort(exc)  # a solve that was just starting may have missed the request
        raise
    return [future.result() for future in futures]


def warn_failed(result: BatchSolution, stacklevel: int = 3) -> None:
    """Warn once if any instance of ``result`` was flagged ``Status.ERROR``."""
    failed: Sequence[int] = np.flatnonzero(result.failed)
    if len(failed):
        warnings.warn(
            f"{len(failed)} instance(s) flagged Status.ERROR; first: {result.messages[failed[0]]}",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
