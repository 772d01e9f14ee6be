"""The paper's learnable constraint parametrizations (Fig. 4, appendix A.4).

Constraint ``k`` has a normal ``a_k`` (normalised to unit length in every forward pass), a
radius ``r_k`` and a learnable origin ``o_k``; it reads ``a_k . (y - o_k) + r_k <= 0``,
i.e. ``A y <= b`` with ``b_k = a_k . o_k - r_k``. Rotating ``a_k`` then turns the hyperplane
around its own origin instead of around the global origin.

Initialisation as in the authors' code: ``a_k ~ U[-0.5, 0.5]^n`` (then normalised),
``r_k = 0.2``, ``o_k`` uniform in the central half of the box (``[0.25, 0.75]^n`` for
binary, ``[-2.5, 2.5]^n`` for ``[-5, 5]``).
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
    """``m`` learnable constraints over ``n`` variables; ``forward() -> (A (m, n), b (m,))``.

    Args:
        num_constraints: ``m``.
        num_vars: ``n``.
        lb, ub: the box the origins are drawn in (central half of it).
        parametrization: ``"origin"`` (normals, radii, learnable origins; the paper's
            default) or ``"direct"`` (``A`` and ``b`` as free parameters, initialised from
            the same geometry, with no normalisation).
        radius: initial ``r_k``.
        generator: a ``torch.Generator`` for a reproducible initialisation.
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
        self.parametrization = parametrization
        lo, hi = _box(lb, num_vars), _box(ub, num_vars)
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        normals = torch.rand(num_constraints, num_vars, generator=generator) - 0.5
        normals = normals / normals.norm(dim=-1, keepdim=True)
        u = torch.rand(num_constraints, num_vars, generator=generator)
        origins = centre + (u - 0.5) * half  # uniform in the central half of the box
        radii = torch.full((num_constraints,), float(radius))
        if parametrization == "origin":
            self.normals = nn.Parameter(normals)
            self.radii = nn.Parameter(radii)
            self.origins = nn.Parameter(origins)
        else:
            self.A = nn.Parameter(normals)
            self.b = nn.Parameter((normals * origins).sum(-1) - radii)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.parametrization == "direct":
            return self.A, self.b
        a = self.normals / self.normals.norm(dim=-1, keepdim=True)
        return a, (a * self.origins).sum(-1) - self.radii


class CombOptNet(nn.Module):
    """Learned constraints + ``ILPLayer``: ``forward(c) -> y`` with ``A, b`` learned.

    The constraint set is shared by the batch (the Random Constraints and Weighted Set
    Covering setting of the paper). Keyword arguments other than those listed go to
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
        **layer_options: Any,
    ) -> None:
        super().__init__()
        self.constraints = LearnableConstraints(
            num_constraints, num_vars, lb, ub, parametrization, generator=generator
        )
        self.ilp = ILPLayer(lb, ub, **layer_options)

    def forward(
        self, c: torch.Tensor, return_info: bool = False, ids: Any = None, start: Any = None
    ):
        """``y`` for costs ``c``; ``ids`` and ``start`` as in ``ILPLayer.forward``."""
        A, b = self.constraints()
        return self.ilp(c, A, b, return_info=return_info, ids=ids, start=start)


__all__ = ["CombOptNet", "ILPInfo", "LearnableConstraints"]
