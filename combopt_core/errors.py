"""Exceptions raised by combopt. Every message names the argument or backend at fault."""

from __future__ import annotations


class CombOptError(Exception):
    """Base class of every error combopt raises on purpose."""


class ProblemValidationError(CombOptError, ValueError):
    """An argument of the problem (``c``, ``A``, ``b``, ``lb``, ``ub``) is malformed."""


class SolverOptionError(CombOptError, ValueError):
    """A backend's solver options name an option the solver does not have, or a bad value."""


class BackendNotFoundError(CombOptError, LookupError):
    """No backend of that name is registered."""


class BackendUnavailableError(CombOptError, RuntimeError):
    """The backend is registered but cannot run here (package or licence missing)."""


class SolverError(CombOptError, RuntimeError):
    """A backend failed on an instance, or returned a point that violates the problem."""
