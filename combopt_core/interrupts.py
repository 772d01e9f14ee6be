"""Stopping solves that are running now, from another thread (Ctrl-C, an abandoned batch).

Python delivers Ctrl-C (``SIGINT``) to the main thread only, and only between bytecodes: a
solve running inside a C library does not see it until it returns (with no time limit,
possibly never). The executors therefore keep solver calls off the main thread while it
waits, and when a batch is abandoned (``KeyboardInterrupt`` while waiting, or an error in
another chunk) they call :func:`interrupt` on the solver, repeatedly until every job has
ended (a solve that was just starting may miss one request).

A backend supports this with an ``interrupt()`` method that asks every solve of the object
running now, in any thread, to stop as soon as it can. :class:`RunningSolves` does the
bookkeeping: a backend wraps each solver-library call in ``with running.solving(handle):``
and implements ``interrupt()`` as ``running.stop()``; the wrapped call then raises
``KeyboardInterrupt`` in its own thread, whatever status the library reports, so a stopped
solve is never mistaken for a time-out or an optimum.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any


class _Solving:
    """One running solve: its library handle and whether it was asked to stop."""

    __slots__ = ("handle", "stopped")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.stopped = False


class RunningSolves:
    """The solves of one backend object running now, so that another thread can stop them.

    Args:
        stop: called with a solve's handle (e.g. a ``Highs`` object, a Gurobi model) to ask
            the library to stop that solve; must be safe to call from another thread while
            the solve runs. Its exceptions are ignored (the solve may just have ended).

    Not picklable (it holds a lock): backends drop it in ``__getstate__`` and make a new one.
    """

    def __init__(self, stop: Callable[[Any], None]) -> None:
        self._stop = stop
        self._lock = threading.Lock()
        self._running: dict[int, _Solving] = {}

    def solving(self, handle: Any) -> _Scope:
        """Context manager around one library call that ``stop()`` may cut short; on exit
        after a stop it raises ``KeyboardInterrupt`` (also when the call raised an error)."""
        return _Scope(self, handle)

    def stop(self) -> int:
        """Ask every running solve to stop; the number asked."""
        with self._lock:
            running = list(self._running.values())
        for solving in running:
            solving.stopped = True
            with contextlib.suppress(Exception):  # the solve may have ended meanwhile
                self._stop(solving.handle)
        return len(running)


class _Scope:
    def __init__(self, owner: RunningSolves, handle: Any) -> None:
        self._owner = owner
        self._solving = _Solving(handle)

    def __enter__(self) -> None:
        with self._owner._lock:
            self._owner._running[threading.get_ident()] = self._solving

    def __exit__(self, exc_type, exc, tb) -> None:
        with self._owner._lock:
            self._owner._running.pop(threading.get_ident(), None)
        if self._solving.stopped and (exc_type is None or issubclass(exc_type, Exception)):
            raise KeyboardInterrupt from exc  # a stopped solve is neither an answer nor a failure


def interruptible(solver: object) -> bool:
    """Whether ``solver`` has an ``interrupt()`` method that stops its running solves."""
    return callable(getattr(solver, "interrupt", None))


def interrupt(solver: object) -> None:
    """``solver.interrupt()`` if it has one; its exceptions are ignored, so that the error
    or ``KeyboardInterrupt`` that abandoned the batch is the one raised."""
    method = getattr(solver, "interrupt", None)
    if callable(method):
        with contextlib.suppress(Exception):  # never mask why the batch is abandoned
            method()
