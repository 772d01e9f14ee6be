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
_SMALLEST_LOGIT = -80.0  # soft-min weights below exp(-80) of the largest are 0, not subnormal


def _rows(A: torch.Tensor, b: torch.Tensor, batch: int, n: int) -> tuple[torch.Tensor, ...]:
    """Unit normals ``A / ||a_k||`` and offsets ``b / ||a_k||`` (shapes checked): a row's
    signed distance at ``z`` is ``offset_k - unit_k . z``. Shared ``A (m, n)`` stays shared."""
    if A.ndim not in (2, 3) or A.shape[-1] != n or (A.ndim == 3 and A.shape[0] != batch):
        raise ValueError(f"A: expected (m, {n}) or ({batch}, m, {n}), got {tuple(A.shape)}")
    m = A.shape[-2]
    if tuple(b.shape) not in ((m,), (batch, m)):
        raise ValueError(f"b: expected ({m},) or ({batch}, {m}), got {tuple(b.shape)}")
    norm = A.norm(dim=-1).clamp_min(_TINY)  # (m,) or (B, m); guards an all-zero row
    return A / norm[..., None], b / norm


def _distances(unit: torch.Tensor, offset: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(B, K, m)`` signed distances of ``points (B, K, n)`` to rows from :func:`_rows`."""
    return offset.unsqueeze(-2) - points @ unit.transpose(-1, -2)


def _hinge_weights(
    unit: torch.Tensor,
    offset: torch.Tensor,
    c: torch.Tensor,
    c_norm: torch.Tensor,
    y: torch.Tensor,
    negatives: torch.Tensor,
    neg_margin: float,
    temperature: float,
    learn_cost: bool,
) -> torch.Tensor:
    """``G (B, K, m [+ 1])``, the derivative of the ``neg`` term by each distance (no grad).

    ``G = w * [neg_margin + d > 0] * share``: soft-min weight, active hinge, and the
    negative's share of the batch mean (``1 / (K B)`` with learned costs, else ``1 / (#counted
    B)`` for negatives no costlier than ``y*``, 0 for the others). The soft-min is computed
    from ``-d / T`` in one fused product; weights below ``exp(-80)`` of the largest are set to
    0 (they would be float32 subnormals, ~100x slower to compute with and below float
    precision of the sum they join).
    """
    batch, K, n = negatives.shape
    m = unit.shape[-2]
    cost_gap = (c * y).sum(-1, keepdim=True) - (negatives @ c[:, :, None])[..., 0]  # (B, K)
    scale = 1.0 / temperature if temperature > 0 else 1.0
    # -d / T = z . unit / T - offset / T, for every negative and row
    if unit.ndim == 2:
        flat = negatives.reshape(-1, n)
        logits = torch.addmm(offset * -scale, flat, unit.T * scale).view(batch, K, m)
    else:
        logits = torch.baddbmm(
            (offset * -scale)[:, None, :], negatives, unit.transpose(1, 2) * scale
        )
    if learn_cost:  # the cost row c.z <= c.y* joins the soft-min; every negative counts
        logits = torch.cat([logits, (cost_gap / c_norm[:, None] * -scale)[..., None]], dim=-1)
        share = cost_gap.new_full(cost_gap.shape, 1.0 / (K * batch))
    else:  # only negatives no costlier than y* count
        counted = (cost_gap >= 0).to(cost_gap.dtype)
        share = counted / (counted.sum(-1, keepdim=True).clamp_min(1.0) * batch)
    if temperature == 0:
        w = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).to(logits.dtype)
    else:
        x = (logits - logits.amax(-1, keepdim=True)).clamp_(min=_SMALLEST_LOGIT)
        w = x.exp()
        w.masked_fill_(x == _SMALLEST_LOGIT, 0.0)
        w.div_(w.sum(-1, keepdim=True))
    # hinge active: neg_margin + d > 0, i.e. -d / T < neg_margin / T
    w.masked_fill_(logits >= neg_margin * scale, 0.0)
    return w.mul_(share[..., None])


def signed_distances(A: torch.Tensor, b: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(b_k - a_k . y) / ||a_k||`` for ``A (m, n)`` or ``(B, m, n)``, ``b (m,)`` or
    ``(B, m)``, ``points (B, K, n)``.

    Returns ``(B, K, m)``; positive on the feasible side of each row.
    """
    if points.ndim != 3:
        raise ValueError(f"points: expected (B, K, n), got {tuple(points.shape)}")
    return _distances(*_rows(A, b, points.shape[0], points.shape[2]), points)


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

    The ``neg`` term is a sum of hinges over ``(B, K, m)`` distances with constant weights,
    so it is linear in the distances wherever it has a gradient. Its weights ``G`` (soft-min
    times active hinge times the negative's share) are computed without autograd, and the
    term is built from reductions the size of ``A`` and ``c``: for distances
    ``offset_k - unit_k . z``, ``sum G d = sum_k offset_k sum G_k - sum_k unit_k . sum G_k z``.
    Same value and gradient as differentiating the hinges directly; far fewer graph nodes.
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
    unit, offset = _rows(A, b, batch, n)
    m = unit.shape[-2]
    learn_cost = c.requires_grad if learn_cost is None else bool(learn_cost)
    if m == 0 and not learn_cost:
        raise ValueError("A: no learned constraint and a known cost: nothing to learn")
    y, negatives, c = y.to(A.dtype), negatives.to(A.dtype), c.to(A.dtype)
    zero = unit.new_zeros(())

    d_pos = _distances(unit, offset, y[:, None, :])[:, 0]  # (B, m)
    pos = torch.relu(pos_margin - d_pos).mean() if m else zero

    c_norm = c.norm(dim=-1).clamp_min(_TINY)  # (B,)
    with torch.no_grad():
        G = _hinge_weights(
            unit, offset, c, c_norm, y, negatives, neg_margin, temperature, learn_cost
        )
        rows = G[..., :m]
        if unit.ndim == 2:
            weight, moment = rows.sum((0, 1)), rows.reshape(-1, m).T @ negatives.reshape(-1, n)
        else:
            weight, moment = rows.sum(1), rows.transpose(1, 2) @ negatives  # (B, m), (B, m, n)
        if learn_cost:  # sum_k G_k (y* - z_k) of the cost row, (B, n)
            cost_rows = G[..., m]
            lever = cost_rows.sum(1, keepdim=True) * y - (cost_rows[:, None, :] @ negatives)[:, 0]
    # sum G (neg_margin + d), d = offset - unit . z: the hinges' value and gradient
    neg = neg_margin * G.sum() + (weight * offset).sum() - (moment * unit).sum()
    if learn_cost:
        neg = neg + ((c * lever).sum(-1) / c_norm).sum()

    var = (unit.mean(-2) ** 2).mean() if m else zero  # per sample, then over the batch
    return {"pos": pos, "neg": neg, "var": var}


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
