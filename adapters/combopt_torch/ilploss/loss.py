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

from combopt_core.ilp_loss import TINY, Workspace, ilp_loss_and_grads
from combopt_core.negatives import NegativeSampler

from .balance import CoVBalancer

TERMS = ("pos", "neg", "var")


def _rows(A: torch.Tensor, b: torch.Tensor, batch: int, n: int) -> tuple[torch.Tensor, ...]:
    """Unit normals ``A / ||a_k||`` and offsets ``b / ||a_k||`` (shapes checked): a row's
    signed distance at ``z`` is ``offset_k - unit_k . z``. Shared ``A (m, n)`` stays shared."""
    _check_rows(A, b, batch, n)
    norm = A.norm(dim=-1).clamp_min(TINY)  # (m,) or (B, m); guards an all-zero row
    return A / norm[..., None], b / norm


def _check_rows(A: torch.Tensor, b: torch.Tensor, batch: int, n: int) -> None:
    if A.ndim not in (2, 3) or A.shape[-1] != n or (A.ndim == 3 and A.shape[0] != batch):
        raise ValueError(f"A: expected (m, {n}) or ({batch}, m, {n}), got {tuple(A.shape)}")
    m = A.shape[-2]
    if tuple(b.shape) not in ((m,), (batch, m)):
        raise ValueError(f"b: expected ({m},) or ({batch}, {m}), got {tuple(b.shape)}")


def _distances(unit: torch.Tensor, offset: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """``(B, K, m)`` signed distances of ``points (B, K, n)`` to rows from :func:`_rows`."""
    return offset.unsqueeze(-2) - points @ unit.transpose(-1, -2)


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
    terms = _vector(A, b, c, y, negatives, pos_margin, neg_margin, temperature, learn_cost)
    return dict(zip(TERMS, terms.unbind()))


def _vector(
    A: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    y: Any,
    negatives: Any,
    pos_margin: float,
    neg_margin: float,
    temperature: float,
    learn_cost: bool | None,
    workspace: Workspace | None = None,
) -> torch.Tensor:
    """:func:`ilp_loss_terms` as one ``(3,)`` tensor in the order of ``TERMS``."""
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
    _check_rows(A, b, batch, n)
    learn_cost = c.requires_grad if learn_cost is None else bool(learn_cost)
    if A.shape[-2] == 0 and not learn_cost:
        raise ValueError("A: no learned constraint and a known cost: nothing to learn")
    settings = (pos_margin, neg_margin, temperature, learn_cost)
    return _Terms.apply(A, b, c, _numpy(y), _numpy(negatives), settings, workspace)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


class _Terms(torch.autograd.Function):
    """``(pos, neg, var)`` as one ``(3,)`` tensor: values and gradients from
    ``combopt_core.ilp_loss.ilp_loss_and_grads`` (NumPy, on the CPU; tensors elsewhere are
    copied there and their gradients back)."""

    @staticmethod
    def forward(ctx, A, b, c, y, negatives, settings, workspace=None):
        values, dA, db, dc = ilp_loss_and_grads(
            _numpy(A), _numpy(b), _numpy(c), y, negatives, *settings, workspace=workspace
        )
        ctx.grads, ctx.kinds = (dA, db, dc), [(x.device, x.dtype) for x in (A, b, c)]
        return torch.as_tensor(values, dtype=A.dtype, device=A.device)

    @staticmethod
    def backward(ctx, grad):
        g = grad.detach().cpu().numpy()
        out = []
        for (device, dtype), dx, needed in zip(ctx.kinds, ctx.grads, ctx.needs_input_grad):
            if not needed or dx is None:
                out.append(None)
                continue
            total = np.tensordot(g.astype(dx.dtype), dx, 1)
            out.append(torch.from_numpy(total).to(device=device, dtype=dtype))
        return (*out, None, None, None, None)


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
        self._workspace = Workspace()  # the step's large arrays, kept between calls

    def reseed(self, seed: int) -> None:
        """Restart the negatives' random stream at ``seed``."""
        self.rng = np.random.default_rng(seed)

    def sample_negatives(self, A: torch.Tensor, b: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Negatives ``(B, K, n)`` around ``y (B, n)`` for the current constraints."""
        neg = self._sample(A, b, _numpy(y).astype(np.float64))
        return torch.as_tensor(neg, dtype=A.dtype, device=A.device)

    def _sample(self, A: torch.Tensor, b: torch.Tensor, y: np.ndarray, out=None) -> np.ndarray:
        return self.sampler.sample(
            y, self.lb, self.ub, self.rng,
            _numpy(A).astype(np.float64), _numpy(b).astype(np.float64), out=out,
        )  # fmt: skip

    def forward(
        self, A: torch.Tensor, b: torch.Tensor, c: torch.Tensor, y: torch.Tensor
    ) -> torch.Tensor:
        """The balanced loss of one batch: ``A, b`` learned constraints (shared or
        per-sample), ``c (B, n)`` costs (learned when they require grad), ``y (B, n)`` gold."""
        if c.ndim != 2 or tuple(y.shape) != tuple(c.shape):
            raise ValueError(
                f"c, y: expected two (B, n) tensors, got {tuple(c.shape)}, {tuple(y.shape)}"
            )
        y_np = _numpy(y).astype(np.float64)
        shape = self.sampler.shape(*y_np.shape, self.lb, self.ub, A)
        buffer = self._workspace.get("negatives", shape, _numpy(A).dtype)
        negatives = self._sample(A, b, y_np, out=buffer)  # reused: the step keeps no copy
        terms = _vector(
            A, b, c, y_np, negatives, self.pos_margin, self.neg_margin, self.temperature,
            None, self._workspace,
        )  # fmt: skip
        values = terms.detach().cpu().tolist()
        self.last_terms = dict(zip(TERMS, values))
        combine = getattr(self.balancer, "combine", None)
        if combine is not None:
            return combine(terms, TERMS)
        return self.balancer(dict(zip(TERMS, terms.unbind())))


__all__ = ["TERMS", "ILPLoss", "ilp_loss_terms", "signed_distances"]
