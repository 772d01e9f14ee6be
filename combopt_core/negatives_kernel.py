"""The negative samplers' bookkeeping as compiled loops (numba), for ``combopt_core.negatives``.

Each function here takes the random draws that the NumPy samplers make, drawn by the same
``numpy.random.Generator`` calls in the same order, and writes the same points: the compiled
path and the NumPy path return identical negatives for a seed (the tests compare them draw for
draw). The one floating-point sum, a projection's ``a . y`` and ``||a||^2``, runs in another
order than NumPy's, which changes a point only if a rounding draw falls within the last bit
of its fraction. What the loops save is the dozens of small array operations per step that the NumPy
code spends on index bookkeeping (the partial Fisher-Yates shuffle, the scattered writes, the
repair of projections rounded onto the gold point).

This module imports numba at import time; ``combopt_core.negatives`` imports it only when
the compiled path is chosen. Compiled code is cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def flips_into(out, at, y, lo):
    """The bit flips of a binary box at ``out[:, at:]``: point ``i`` is ``y`` with coordinate
    ``i`` moved to its other value. Returns the index after the block."""
    batch, n = y.shape
    for b in range(batch):
        for i in range(n):
            row = out[b, at + i]
            for j in range(n):
                row[j] = y[b, j]
            row[i] = y[b, i] + 1.0 if y[b, i] == lo[i] else y[b, i] - 1.0
    return at + n


@numba.njit(cache=True, nogil=True)
def k_hop_into(out, at, y, lo, hi, free, hop_of_point, draws, directions):
    """Write the k-hop block at ``out[:, at:]`` from the shuffle's draws.

    ``draws (kmax, rows)``: step ``j``'s uniform positions in ``[j, free.size)`` (row
    ``r = b * size + s`` is point ``s`` of gold point ``b``); ``hop_of_point (size,)``: each
    point's ``k``; ``directions (rows, kmax)``: uniforms choosing up (``< 0.5``) where both
    steps stay in the box, or an empty array when no range is wider than 1. Returns the index
    after the block.
    """
    batch, n = y.shape
    size = hop_of_point.shape[0]
    kmax = draws.shape[0]
    wide = directions.shape[0] > 0
    moved_to = np.empty(kmax, dtype=np.int64)
    moved = np.empty(kmax, dtype=np.int64)
    chosen = np.empty(kmax, dtype=np.int64)
    gold = np.empty(n, dtype=out.dtype)
    for b in range(batch):
        gold[:] = y[b]
        for s in range(size):
            r = b * size + s
            for j in range(kmax):  # partial Fisher-Yates, storing only the swapped positions
                pos = draws[j, r]
                val_r, val_j = pos, j
                for i in range(j):  # later writes win
                    if moved_to[i] == pos:
                        val_r = moved[i]
                    if moved_to[i] == j:
                        val_j = moved[i]
                chosen[j] = val_r
                moved_to[j], moved[j] = pos, val_j
            row = out[b, at + s]
            row[:] = gold
            for j in range(hop_of_point[s]):
                coord = free[chosen[j]]
                value = y[b, coord]
                up = value < hi[coord]
                if wide and up and value > lo[coord]:
                    up = directions[r, j] < 0.5
                row[coord] = value + 1.0 if up else value - 1.0
    return at + size


@numba.njit(cache=True, nogil=True)
def projections_into(out, at, y, lo, hi, A, b, uniforms):
    """One rounded projection of ``y`` onto each row's hyperplane, at ``out[:, at:]``.

    ``A (B, m, n)``, ``b (B, m)`` (a shared ``A`` broadcast by the caller, no copy);
    ``uniforms (B, m, n)``: the rounding's draws. Same arithmetic as
    ``combopt_core.negatives.projections``; returns the index after the block.
    """
    batch, n = y.shape
    m = A.shape[1]
    raw = np.empty(n)
    for bb in range(batch):
        gold = y[bb]
        for j in range(m):
            a = A[bb, j]
            norm2 = 0.0
            dot = 0.0
            for i in range(n):
                norm2 += a[i] * a[i]
                dot += a[i] * gold[i]
            scale = (dot - b[bb, j]) / norm2 if norm2 > 0 else 0.0
            row = out[bb, at + j]
            dist = 0.0
            for i in range(n):
                raw[i] = gold[i] - scale * a[i]
                p = np.floor(raw[i])
                if uniforms[bb, j, i] < raw[i] - p:
                    p += 1.0
                p = min(max(p, lo[i]), hi[i])
                row[i] = p
                dist += abs(p - gold[i])
            if dist == 0:  # rounded onto gold: move the coordinate of largest offset
                best, best_offset = 0, -np.inf
                for i in range(n):
                    offset = abs(raw[i] - gold[i]) if hi[i] > lo[i] else -1.0
                    if offset > best_offset:
                        best, best_offset = i, offset
                value = gold[best]
                towards = 1.0 if raw[best] >= value else -1.0
                if value + towards > hi[best] or value + towards < lo[best]:
                    towards = -towards
                row[best] = value + towards
    return at + m
