"""What a backend cannot be asked, declared by the backend itself in its ``BackendSpec``.

The conformance kit (``combopt_core.testing``) reads these limits and does not put an
instance to a backend that refuses it; the backend still has to refuse such an instance with
a clear error of its own when a user asks. ``None`` (or ``False``) means no limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import ILPInstance


@dataclass(frozen=True)
class BackendLimits:
    """Instances a backend cannot solve, each limit with why.

    Attributes:
        max_points: the most integer points the box ``lb <= y <= ub`` may hold (enumeration).
        max_size: the largest number of variables ``n`` and of constraint rows ``m + m_eq``
            (a licence).
        integer_data: ``True`` when ``c``, ``A``, ``b``, ``A_eq`` and ``b_eq`` must be
            integral.
        reason: why, in one sentence; it ends every refusal.
    """

    max_points: int | None = None
    max_size: int | None = None
    integer_data: bool = False
    reason: str = ""

    def __post_init__(self) -> None:
        for field in ("max_points", "max_size"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{field}: expected an int or None, got {type(value).__name__}")
            if value is not None and value < 1:
                raise ValueError(f"{field}: must be at least 1, got {value}")

    def refuses(self, instance: ILPInstance) -> str | None:
        """Why this backend cannot be asked ``instance``, or ``None`` when it can."""
        found = self._exceeded(instance)
        if found is None:
            return None
        return f"{found}; {self.reason}" if self.reason else found

    def _exceeded(self, instance: ILPInstance) -> str | None:
        n, m = instance.num_vars, instance.num_constraints + instance.num_equalities
        if self.max_size is not None and max(n, m) > self.max_size:
            return f"n={n} variables, m={m} constraints exceed max_size={self.max_size}"
        if self.max_points is not None:
            points = float(np.prod(instance.ub - instance.lb + 1.0))
            if points > self.max_points:
                return f"{points:.4g} integer points in the box exceed max_points={self.max_points}"
        if self.integer_data:
            for name in ("c", "A", "b", "A_eq", "b_eq"):
                values = getattr(instance, name)
                if not np.array_equal(values, np.round(values)):
                    return f"{name} is not integral (integer_data=True)"
        return None
