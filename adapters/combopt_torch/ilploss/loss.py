"""The ILP-Loss objective: learn ``A y <= b`` (and costs) from gold points, with no solver.

Conventions (the library's): the ILP is ``min c.y  s.t.  A y <= b``, ``y`` integer in a
box. A row's **signed distance** at ``y`` is ``d_k(y) = (b_k - a_k . y) / ||a_k||``: the
Euclidean distance to its hyperplane, positive on the feasible side. The cost acts as one
more row, ``c . y <= c . y*``, whose distance ``(c . y* - c . y) / ||c||`` is negative exactly
at points costlier than the gold point ``y*``.

Three terms, each a mean over the batch:

* ``pos``: ``mean_k relu(pos_margin - d_k(y*))`` over the learned rows: the gold point
  feasible, at least ``pos_margin`` inside every constraint.
* ``neg``: for each negative ``z``, ``sum_k w_k relu(neg_margin + d_k(z))`` with soft-min
  weights ``w = softmin(d(z) / temperature)`` (constants of the step; ``temperature = 0``:
  the one most nearly violated row): each negative pushed at least ``neg_margin`` outside
  the row it is closest to violating, averaged over the negatives that count. With known
  costs (``c`` without gradient), only negatives no costlier than ``y*`` count (a costlier
  point is never the optimum) and the rows are the learned constraints; with learned costs
  the cost row joins the soft-min, so a negative is pushed out or made costlier.
* ``var``: ``||mean_k a_k / ||a_k|| ||^2 / n`` over the learned rows: keeps the normals
  from collapsing onto one direction (0 when they cancel out).

The box is known and never learned; negatives are drawn inside it (``combopt_core.negatives``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from combopt_core.negatives import NegativeSampler

from .balance import CoVBalancer

TERMS = ("pos", "neg", "var")
_TINY = 1e-12  # guards the norm of an all-zero row or cost


def _batched(A: torch.Tensor, b: torch.Tensor, batch: int, n: int) -> tuple[torch.Tensor, ...]:
    """``A (B, m, n)``, ``b (B, m)`` from shared or per-sample constraints (checked)."""
    if A.ndim == 2:
        A = A.expand(batch, *A.shape)
    if b.ndim == 1:
        b = b.expand(batch, b.shape[0])
    if A.ndim != 3 or A.shape[0] != batch or A.shape[2] != n:
        raise ValueError(f"A: expected (m, {n}) or ({batch}, m, {n}), got {tuple(A.shape)}")
    if tuple(b.shape) != tuple(A.shape[:2]):
        raise ValueError(
            f"b: expected ({A.shape[1]},) or {tuple(A.shape[:2])}, got {tuple(b.shape)}"
        )
    return A, b


def signed_distances(A: torch.Tensor, b: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(b_k - a_k . y) / ||a_k||`` for ``A (B, m, n)``, ``b (B, m)``, ``points (B, K, n)``.

    Returns ``(B, K, m)``; positive on the feasible side of each row.
    """
    norm = A.norm(dim=-1).clamp_min(_TINY)  # (B, m)
    return (b[:, None, :] - points @ A.transpose(-1, -2)) / norm[:, None, :]


def ilp_loss_terms(
    A: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    y: torch.Tensor,
    negatives: torch.Tensor,
    pos_margin: float = 0.01,
    neg_margin: float = 0.01,
    temperature: float = 1.0,
    learn_cost: bool | None = None,
) -> dict[str, torch.Tensor]:
    """The three ILP-Loss terms ``{"pos", "neg", "var"}`` (scalars) of one batch.

    Args:
        A, b: the learned constraints ``A y <= b``: ``(m, n)`` and ``(m,)`` shared by the
            batch, or ``(B, m, n)`` and ``(B, m)``.
        c: costs ``(B, n)`` of ``min c.y``.
        y: gold points ``(B, n)``.
        negatives: ``(B, K, n)``, none equal to its row's gold point (a negative equal to it
            would be pushed out of the set ``y`` must stay in).
        pos_margin, neg_margin: margins (distances, in the box's units) inside for the gold
            point and outside for negatives.
        temperature: of the negatives' soft-min over rows; 0 picks the nearest violated row.
        learn_cost: whether the cost row is learned (joins the soft-min); ``None``: when
            ``c`` requires grad.
    """
    if c.ndim != 2 or tuple(y.shape) != tuple(c.shape):
        raise ValueError(
            f"c, y: expected two (B, n) tensors, got {tuple(c.shape)}, {tuple(y.shape)}"
        )
    batch, n = c.shape
    if negatives.ndim != 3 or negatives.shape[0] != batch or negatives.shape[2] != n:
        raise ValueError(f"negatives: expected ({batch}, K, {n}), got {tuple(negatives.shape)}")
    if pos_margin < 0 or neg_margin < 0:
        raise ValueError(f"pos_margin, neg_margin: must be >= 0, got {pos_margin}, {neg_margin}")
    if temperature < 0:
        raise ValueError(f"temperature: must be >= 0, got {temperature}")
    A, b = _batched(A, b, batch, n)
    learn_cost = c.requires_grad if learn_cost is None else bool(learn_cost)
    if A.shape[1] == 0 and not learn_cost:
        raise ValueError("A: no learned constraint and a known cost: nothing to learn")
    y, negatives = y.to(A.dtype), negatives.to(A.dtype)
    c = c.to(A.dtype)

    d_pos = signed_distances(A, b, y[:, None, :])[:, 0]  # (B, m)
    pos = torch.relu(pos_margin - d_pos).mean(-1) if A.shape[1] else d_pos.new_zeros(batch)

    d_neg = signed_distances(A, b, negatives)  # (B, K, m)
    cost_gap = ((y[:, None, :] - negatives) * c[:, None, :]).sum(-1)  # c.y* - c.z, (B, K)
    if learn_cost:
        d_cost = cost_gap / c.norm(dim=-1, keepdim=True).clamp_min(_TINY)
        d_neg = torch.cat([d_neg, d_cost[..., None]], dim=-1)
        counts = torch.ones_like(cost_gap, dtype=torch.bool)
    else:
        counts = cost_gap.detach() >= 0  # z no costlier than y*
    with torch.no_grad():
        if temperature == 0:
            w = torch.nn.functional.one_hot(d_neg.argmin(-1), d_neg.shape[-1]).to(d_neg.dtype)
        else:
            w = torch.softmax(-d_neg / temperature, dim=-1)
    per_negative = (w * torch.relu(neg_margin + d_neg)).sum(-1)  # (B, K)
    counted = counts.to(per_negative.dtype)
    neg = (counted * per_negative).sum(-1) / counted.sum(-1).clamp_min(1.0)

    if A.shape[1]:
        unit = A / A.norm(dim=-1, keepdim=True).clamp_min(_TINY)
        var = (unit.mean(-2) ** 2).mean(-1)
    else:
        var = d_pos.new_zeros(batch)
    return {"pos": pos.mean(), "neg": neg.mean(), "var": var.mean()}


class ILPLoss(nn.Module):
    """Solver-free training loss for learned constraints (and costs): ILP-Loss.

    ``loss = ILPLoss(lb, ub)(A, b, c, y)`` draws negatives around the gold points ``y`` with
    ``sampler`` (projections onto the current ``A, b``), computes :func:`ilp_loss_terms` and
    returns the ``balancer``'s weighted sum. No solver is called; evaluate the learned
    ``A, b`` exactly with ``ILPLayer`` / ``CombOptNet`` on any backend.

    Args:
        lb, ub: the known box (scalars or ``(n,)``).
        sampler: a ``combopt_core.negatives.NegativeSampler`` (default: neighbours, 2/3/4-hop
            and projections, as ILP-Loss on Random Constraints).
        pos_margin, neg_margin, temperature: as in :func:`ilp_loss_terms`; ``temperature``
            may be lowered between steps (ILP-Loss divides it by 10 when validation stalls).
        balancer: maps the terms to one loss (default ``CoVBalancer()``; ``FixedWeights``
            for fixed weights).
        seed: seeds the negatives' ``numpy.random.Generator`` (same seed, same negatives).

    After each call, ``last_terms`` holds the terms' values as floats.
    """

    def __init__(
        self,
        lb: Any = 0.0,
        ub: Any = 1.0,
        sampler: NegativeSampler | None = None,
        pos_margin: float = 0.01,
        neg_margin: float = 0.01,
        temperature: float = 1.0,
        balancer: nn.Module | None = None,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if pos_margin < 0 or neg_margin < 0:
            raise ValueError(
                f"pos_margin, neg_margin: must be >= 0, got {pos_margin}, {neg_margin}"
            )
        if temperature < 0:
            raise ValueError(f"temperature: must be >= 0, got {temperature}")
        self.lb, self.ub = np.asarray(lb, dtype=np.float64), np.asarray(ub, dtype=np.float64)
        self.sampler = NegativeSampler() if sampler is None else sampler
        self.pos_margin, self.neg_margin = float(pos_margin), float(neg_margin)
        self.temperature = float(temperature)
        self.balancer = CoVBalancer(TERMS) if balancer is None else balancer
        self.rng = np.random.default_rng(seed)
        self.last_terms: dict[str, float] = {}

    def reseed(self, seed: int) -> None:
        """Restart the negatives' random stream at ``seed``."""
        self.rng = np.random.default_rng(seed)

    def sample_negatives(self, A: torch.Tensor, b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Negatives ``(B, K, n)`` around ``y (B, n)`` for the current constraints."""
        y_np = y.detach().cpu().double().numpy()
        neg = self.sampler.sample(
            y_np, self.lb, self.ub, self.rng,
            A.detach().cpu().double().numpy(), b.detach().cpu().double().numpy(),
        )  # fmt: skip
        return torch.as_tensor(neg, dtype=A.dtype, device=A.device)

    def forward(
        self, A: torch.Tensor, b: torch.Tensor, c: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """The balanced loss of one batch: ``A, b`` learned constraints (shared or
        per-sample), ``c (B, n)`` costs (learned when they require grad), ``y (B, n)`` gold."""
        terms = ilp_loss_terms(
            A, b, c, y, self.sample_negatives(A, b, y),
            self.pos_margin, self.neg_margin, self.temperature,
        )  # fmt: skip
        self.last_terms = {k: float(v.detach()) for k, v in terms.items()}
        return self.balancer(terms)


__all__ = ["TERMS", "ILPLoss", "ilp_loss_terms", "signed_distances"]
