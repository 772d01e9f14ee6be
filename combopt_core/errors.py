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


class PermanentSolverError(SolverError):
    """A backend cannot solve the batch at all, whatever the instance: a licence or size
    limit, an option the solver rejects, a broken installation, or the same error on every
    instance of the batch. Raised even under ``on_error="flag"``, where flagging every
    instance would let training go on with zero gradients."""
