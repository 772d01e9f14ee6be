"""The paper's learnable constraint parametrizations (Fig. 4, appendix A.4).

Constraint ``k`` has a normal ``a_k`` (normalised to unit length in every forward pass), a
radius ``r_k`` and a learnable origin ``o_k``; it reads ``a_k . (y - o_k) + r_k <= 0``,
i.e. ``A y <= b`` with ``b_k = a_k . o_k - r_k``. Rotating ``a_k`` then turns the hyperplane
around its own origin instead of around the global origin.

Initialisation as in the authors' code: ``a_k ~ U[-0.5, 0.5]^n`` (then normalised),
``r_k = 0.2``, ``o_k`` uniform in the central half of the box (``[0.25, 0.75]^n`` for
binary, ``[-2.5, 2.5]^n`` for ``[-5, 5]``).

Learned equality rows (``num_equalities``) adapt the same geometry without the radius:
equality ``k`` reads ``a_k . (y - o_k) == 0``, the hyperplane through its learnable origin,
i.e. ``A_eq y == b_eq`` with ``b_eq,k = a_k . o_k`` (``"direct"``: ``A_eq``, ``b_eq`` free,
initialised from the same geometry). They are drawn after the inequality rows, so the
inequality rows' initialisation does not depend on ``num_equalities``.

Caution: an equality row holds only at integer points lying exactly on its hyperplane (up to
``FEASIBILITY_TOL``). A hyperplane with generic real coefficients passes through no integer
point, so learned equality rows make the ILP infeasible until they sit on lattice points;
the layer then returns the fallback point and the gradient only pushes violated rows. They
suit equalities initialised at (or snapped to) integral values; known equalities (a task's
rules, per-instance givens) are better passed to ``CombOptNet.forward`` as fixed rows.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .layer import ILPInfo, ILPLayer

PARAMETRIZATIONS = ("origin", "direct")


def _box(value: Any, n: int) -> torch.Tensor:
    t = torch.as_tensor(value, dtype=torch.get_default_dtype())
    return t.expand(n).clone() if t.ndim == 0 else t.clone()


class LearnableConstraints(nn.Module):
    """``m`` learnable constraints over ``n`` variables; ``forward() -> (A (m, n), b (m,))``,
    and ``m_eq`` learnable equality rows, ``equalities() -> (A_eq (m_eq, n), b_eq (m_eq,))``.

    Args:
        num_constraints: ``m``.
        num_vars: ``n``.
        lb, ub: the box the origins are drawn in (central half of it).
        parametrization: ``"origin"`` (normals, radii, learnable origins; the paper's
            default) or ``"direct"`` (``A`` and ``b`` as free parameters, initialised from
            the same geometry, with no normalisation).
        radius: initial ``r_k``.
        generator: a ``torch.Generator`` for a reproducible initialisation.
        num_equalities: ``m_eq``, learned equality rows ``a_k . (y - o_k) == 0`` (default 0;
            see the module docstring for why real-valued equalities rarely have integer
            points).
    """

    def __init__(
        self,
        num_constraints: int,
        num_vars: int,
        lb: Any = 0.0,
        ub: Any = 1.0,
        parametrization: str = "origin",
        radius: float = 0.2,
        generator: torch.Generator | None = None,
        num_equalities: int = 0,
    ) -> None:
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise ValueError(
                f"parametrization: expected one of {PARAMETRIZATIONS}, got {parametrization!r}"
            )
        if num_constraints < 0 or num_vars < 1:
            raise ValueError(
                f"num_constraints, num_vars: need m >= 0 and n >= 1, got {num_constraints}, "
                f"{num_vars}"
            )
        if isinstance(num_equalities, bool) or not isinstance(num_equalities, int):
            raise TypeError(f"num_equalities: expected an int, got {num_equalities!r}")
        if num_equalities < 0:
            raise ValueError(f"num_equalities: need m_eq >= 0, got {num_equalities}")
        self.parametrization = parametrization
        self.num_equalities = num_equalities
        lo, hi = _box(lb, num_vars), _box(ub, num_vars)
        normals, origins = _geometry(num_constraints, lo, hi, generator)
        radii = torch.full((num_constraints,), float(radius))
        if parametrization == "origin":
            self.normals = nn.Parameter(normals)
            self.radii = nn.Parameter(radii)
            self.origins = nn.Parameter(origins)
        else:
            self.A = nn.Parameter(normals)
            self.b = nn.Parameter((normals * origins).sum(-1) - radii)
        if num_equalities:  # drawn last: the inequality rows' initialisation is unchanged
            normals, origins = _geometry(num_equalities, lo, hi, generator)
            if parametrization == "origin":
                self.normals_eq = nn.Parameter(normals)
                self.origins_eq = nn.Parameter(origins)
            else:
                self.A_eq = nn.Parameter(normals)
                self.b_eq = nn.Parameter((normals * origins).sum(-1))
        self._num_vars = num_vars

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.parametrization == "direct":
            return self.A, self.b
        a = self.normals / self.normals.norm(dim=-1, keepdim=True)
        return a, (a * self.origins).sum(-1) - self.radii

    def equalities(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned equality rows ``(A_eq (m_eq, n), b_eq (m_eq,))`` (empty when
        ``num_equalities = 0``)."""
        if not self.num_equalities:
            empty = torch.zeros(0, self._num_vars, dtype=self._dtype())
            return empty, empty.new_zeros(0)
        if self.parametrization == "direct":
            return self.A_eq, self.b_eq
        a = self.normals_eq / self.normals_eq.norm(dim=-1, keepdim=True)
        return a, (a * self.origins_eq).sum(-1)

    def _dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype


def _geometry(
    rows: int, lo: torch.Tensor, hi: torch.Tensor, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unit normals from ``U[-0.5, 0.5]^n`` and origins uniform in the central half of the
    box, ``(rows, n)`` each (the authors' initialisation)."""
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    normals = torch.rand(rows, lo.shape[0], generator=generator) - 0.5
    normals = normals / normals.norm(dim=-1, keepdim=True)
    u = torch.rand(rows, lo.shape[0], generator=generator)
    return normals, centre + (u - 0.5) * half


class CombOptNet(nn.Module):
    """Learned constraints + ``ILPLayer``: ``forward(c) -> y`` with ``A, b`` learned.

    The constraint set is shared by the batch (the Random Constraints and Weighted Set
    Covering setting of the paper). ``num_equalities`` adds learned equality rows
    (``LearnableConstraints``). Keyword arguments other than those listed go to
    ``ILPLayer`` (``solver``, ``tau``, ``workers``, ``time_limit``, ...).
    """

    def __init__(
        self,
        num_vars: int,
        num_constraints: int,
        lb: Any = 0.0,
        ub: Any = 1.0,
        parametrization: str = "origin",
        generator: torch.Generator | None = None,
        num_equalities: int = 0,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        self.constraints = LearnableConstraints(
            num_constraints,
            num_vars,
            lb,
            ub,
            parametrization,
            generator=generator,
            num_equalities=num_equalities,
        )
        self.ilp = ILPLayer(lb, ub, **layer_options)

    def forward(
        self,
        c: torch.Tensor,
        return_info: bool = False,
        ids: Any = None,
        start: Any = None,
        A_eq: torch.Tensor | None = None,
        b_eq: torch.Tensor | None = None,
    ):
        """``y`` for costs ``c``; ``ids`` and ``start`` as in ``ILPLayer.forward``.

        ``A_eq``, ``b_eq``: optional fixed equality rows (shared ``(k, n)``/``(k,)`` or per
        instance ``(B, k, n)``/``(B, k)``), appended after the learned ones.
        """
        A, b = self.constraints()
        equalities = {}
        if self.constraints.num_equalities or A_eq is not None or b_eq is not None:
            equalities = dict(zip(("A_eq", "b_eq"), self._equalities(A_eq, b_eq)))
        return self.ilp(c, A, b, return_info=return_info, ids=ids, start=start, **equalities)

    def _equalities(
        self, A_eq: torch.Tensor | None, b_eq: torch.Tensor | None
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """The learned equality rows followed by the given ones (either may be none)."""
        learned = self.constraints.equalities()
        if A_eq is None and b_eq is None:
            return learned
        if A_eq is None or b_eq is None or not self.constraints.num_equalities:
            return A_eq, b_eq  # a missing half: the layer's error names it
        rows, rhs = learned
        if A_eq.ndim == 3:  # per-instance given rows: the learned ones repeated per instance
            rows, rhs = rows.expand(A_eq.shape[0], *rows.shape), rhs.expand(b_eq.shape[0], -1)
        return (
            torch.cat([rows.to(A_eq.dtype), A_eq], dim=-2),
            torch.cat([rhs.to(b_eq.dtype), b_eq], dim=-1),
        )


__all__ = ["CombOptNet", "ILPInfo", "LearnableConstraints"]
