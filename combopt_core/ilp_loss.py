"""The ILP-Loss terms and their gradients, framework-free (NumPy), in one pass.

The formulas are those of ``combopt_torch.ilploss.loss`` (its docstring states them): for
rows ``(a_k, b_k)`` of ``A y <= b``, unit normals ``u_k = a_k / ||a_k||`` and offsets
``o_k = b_k / ||a_k||``, the signed distance at ``z`` is ``d_k(z) = o_k - u_k . z``, and

* ``pos = mean relu(pos_margin - d_k(y*))`` over the batch and rows,
* ``neg = sum G (neg_margin + d)`` over the negatives' distances, with constant weights
  ``G`` (soft-min at ``temperature`` x active hinge x the negative's share of the mean),
* ``var = mean (mean_k u_k)^2``.

:func:`ilp_loss_and_grads` returns the three values and, for each, the gradient with
respect to ``A``, ``b`` and (with learned costs) ``c``: the soft-min and the hinges run over
the negatives' distances once; everything after that is the size of ``A``. With a shared
``A`` and known costs, only the negatives no costlier than their gold point enter that pass
(the others have weight 0 in every sum, so dropping them changes nothing). The arrays of
the distances' size come from a :class:`Workspace`, kept between calls by the caller, so
that a training loop does not allocate (and page in) them anew in every step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TINY = 1e-12  # guards the norm of an all-zero row or cost
SMALLEST_LOGIT = -80.0  # soft-min weights below exp(-80) of the largest are 0


class Workspace:
    """Scratch arrays kept between calls: one flat buffer per name and dtype, grown to the
    largest size asked for; :meth:`get` returns a view of its head (contents undefined)."""

    def __init__(self) -> None:
        self._buffers: dict[tuple[str, np.dtype], np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        dtype = np.dtype(dtype)
        size = math.prod(shape)
        buf = self._buffers.get((name, dtype))
        if buf is None or buf.size < size:
            buf = self._buffers[(name, dtype)] = np.empty(size, dtype=dtype)
        return buf[:size].reshape(shape)


def ilp_loss_and_grads(
    A: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    y: np.ndarray,
    negatives: np.ndarray,
    pos_margin: float,
    neg_margin: float,
    temperature: float,
    learn_cost: bool,
    workspace: Workspace | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Values ``(3,)`` of ``(pos, neg, var)`` and their gradients ``dA (3, *A.shape)``,
    ``db (3, *b.shape)`` and ``dc (3, B, n)`` (``None`` without learned costs).

    ``A (m, n)``, ``b (m,)`` shared or ``(B, m, n)``, ``(B, m)`` per sample; ``c, y (B, n)``;
    ``negatives (B, K, n)``; shapes are the caller's to check. Computed in ``A``'s dtype.
    """
    dt = A.dtype
    ws = Workspace() if workspace is None else workspace
    shared = A.ndim == 2
    batch, K, n = negatives.shape
    m = A.shape[-2]
    y, c, Z = (np.asarray(x, dtype=dt) for x in (y, c, negatives))
    b = np.asarray(b, dtype=dt)
    norm = np.sqrt(np.einsum("...i,...i->...", A, A))
    free = norm > TINY  # the norm's gradient reaches A (torch's clamp_min passes none)
    normc = np.maximum(norm, TINY)
    unit, off = A / normc[..., None], b / normc
    values = np.zeros(3)
    g_unit = np.zeros((3, *unit.shape), dtype=dt)
    g_off = np.zeros((3, *off.shape), dtype=dt)

    if m:  # pos: relu(pos_margin - d(y*)), d(y*) = off - unit . y*
        d_pos = off - (y @ unit.T if shared else np.matmul(unit, y[:, :, None])[..., 0])
        hinge = pos_margin - d_pos  # (B, m)
        act = hinge > 0
        scale_pos = 1.0 / (batch * m)
        values[0] = float(hinge[act].sum()) * scale_pos
        actf = act.astype(dt) * dt.type(scale_pos)
        if shared:
            g_off[0] = -actf.sum(0)
            g_unit[0] = actf.T @ y
        else:
            g_off[0] = -actf
            g_unit[0] = actf[:, :, None] * y[:, None, :]

    # neg: logits -d / T, rows first: (rows, N) for a shared A over the N negatives that
    # count, flattened over the batch; (B, rows, K) per sample
    scale = 1.0 / temperature if temperature > 0 else 1.0
    rows = m + int(learn_cost)
    axis = 0 if shared else 1
    c_norm = np.sqrt(np.einsum("bi,bi->b", c, c))
    c_normc = np.maximum(c_norm, TINY)
    gap = (c * y).sum(-1, keepdims=True) - np.matmul(Z, c[:, :, None])[..., 0]  # (B, K)
    if learn_cost:  # every negative counts, with an equal share
        share = np.full((batch, K), 1.0 / (K * batch), dtype=dt)
    else:  # only negatives no costlier than y* count, sharing their gold point's 1 / B
        counted = (gap >= 0).astype(dt)
        share = counted / (np.maximum(counted.sum(-1, keepdims=True), 1.0) * batch)
    if shared:
        Zs = Z.reshape(batch * K, n)
        share = share.reshape(-1)
        if not learn_cost:  # a negative of share 0 adds nothing to any sum below: drop it
            cols = np.flatnonzero(share)
            Zs, share = Zs[cols], share[cols]
        L = ws.get("logits", (rows, len(share)), dt)
        if m:
            np.matmul(unit * dt.type(scale), Zs.T, out=L[:m])
            L[:m] -= (off * dt.type(scale))[:, None]
    else:
        L = ws.get("logits", (batch, rows, K), dt)
        if m:
            np.matmul(unit * dt.type(scale), Z.transpose(0, 2, 1), out=L[:, :m])
            L[:, :m] -= (off * dt.type(scale))[:, :, None]
    if learn_cost:  # the cost row c.z <= c.y*: distance gap / ||c||
        cost = L[m].reshape(batch, K) if shared else L[:, m]
        np.multiply(gap, (-scale / c_normc)[:, None].astype(dt), out=cost)
    E = ws.get("weights", L.shape, dt)
    if temperature == 0:  # the largest logit (first of ties) takes all the weight
        E.fill(0)
        np.put_along_axis(E, np.expand_dims(L.argmax(axis), axis), 1, axis=axis)
        factor = share
    else:
        np.subtract(L, L.max(axis, keepdims=True), out=E)
        np.maximum(E, SMALLEST_LOGIT, out=E)
        keep = ws.get("keep", L.shape, np.bool_)
        np.greater(E, SMALLEST_LOGIT, out=keep)
        np.exp(E, out=E)  # clipped entries (below 1e-34 of the largest) leave the sum alone
        factor = share / E.sum(axis)  # the soft-min's normaliser, and the share
    active = ws.get("active", L.shape, np.bool_)
    np.less(L, neg_margin * scale, out=active)  # hinge active: neg_margin + d > 0
    if temperature != 0:
        active &= keep  # clipped soft-min weights are 0
    E *= active
    E *= np.expand_dims(factor, axis)  # E is G now
    G = E
    neg = 0.0
    if m:
        if shared:
            weight, moment = G[:m].sum(-1), G[:m] @ Zs  # (m,), (m, n)
        else:
            Gr = G[:, :m]
            weight, moment = Gr.sum(-1), np.matmul(Gr, Z)  # (B, m), (B, m, n)
        neg += float(((neg_margin + off) * weight).sum(dtype=np.float64))
        neg -= float((moment * unit).sum(dtype=np.float64))
        g_off[1], g_unit[1] = weight, -moment
    dc = None
    if learn_cost:  # sum_k G_k (y* - z_k) of the cost row, (B, n)
        Gc = G[m].reshape(batch, K) if shared else G[:, m]
        lever = Gc.sum(-1, keepdims=True) * y - np.matmul(Gc[:, None, :], Z)[:, 0]
        c_lever = (c * lever).sum(-1)
        neg += float((c_lever / c_normc).sum(dtype=np.float64))
        neg += neg_margin * float(Gc.sum(dtype=np.float64))
        dc = np.zeros((3, batch, n), dtype=dt)
        through_norm = np.where(c_norm > TINY, c_lever / c_normc**3, 0.0)
        dc[1] = lever / c_normc[:, None] - through_norm[:, None] * c
    values[1] = neg

    if m:  # var: the mean unit normal (per sample), squared
        mu = unit.mean(-2)  # (n,) or (B, n)
        values[2] = float((mu.astype(np.float64) ** 2).mean())
        g_unit[2] = np.expand_dims(mu * dt.type(2.0 / (mu.size * m)), -2)

    # through unit = A / ||a||, off = b / ||a||: dA = (g_u - u (u . g_u + g_o o)) / ||a||
    along = (np.einsum("t...i,...i->t...", g_unit, unit) + g_off * off) * free
    dA = (g_unit - along[..., None] * unit) / normc[..., None]
    db = g_off / normc
    return values, dA, db, dc


__all__ = ["SMALLEST_LOGIT", "TINY", "Workspace", "ilp_loss_and_grads"]
