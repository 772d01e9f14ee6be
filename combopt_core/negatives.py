"""Negative samples around gold points, for learning constraints without a solver (ILP-Loss).

Solver-free constraint learning (Nandwani, Ranjan, Mausam, Singla, NeurIPS 2022) keeps each
gold point ``y*`` feasible and pushes nearby integer points out of the learned feasible set
(or makes them costlier). This module draws those nearby points; the loss lives in the
framework adapters (``combopt_torch.ilploss``).

Conventions: gold points ``y (B, n)`` are integer points of the box ``lb <= y <= ub``
(bounds rounded inwards to integers, ``ceil(lb)``, ``floor(ub)``); constraints read
``A y <= b`` with ``A (m, n)`` shared or ``(B, m, n)`` per row, ``b (m,)`` or ``(B, m)``.
Every negative returned is an integer point **of the box** and **differs from its row's gold
point**, by construction (no mask). Negatives ``(B, K, n)`` float64; ``K`` is the same for
every row. Duplicates may occur (two samplers, or two random draws, reaching one point).

Samplers (all seeded through a ``numpy.random.Generator``):

* neighbours: every point at L1 distance 1 (``y +- e_i``) inside the box. For a binary
  coordinate that is the bit flip; a coordinate strictly inside its range gives two points.
  The count per row must be fixed, so a coordinate at a bound of a non-binary range gives
  its one in-box neighbour twice (``2n`` points a row; ``n`` when every range is binary).
* k-hop: ``count`` points each at L1 distance exactly ``k``: ``k`` distinct coordinates
  drawn at random, each moved by one step in a random direction that stays in the box.
* projections: for each constraint row, the gold point projected onto the row's hyperplane
  ``a . y = b``, rounded at random to a neighbouring integer point (``floor + Bernoulli of
  the fraction``) and clipped to the box; a rounding that lands on the gold point moves its
  coordinate of largest projection offset one step towards the hyperplane (away from it
  when that step would leave the box).

With numba installed the samplers' loops run compiled (``combopt_core.negatives_kernel``),
from the same random draws to the same points; ``NegativeSampler.implementation`` chooses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .kernels import kernel_for

IMPLEMENTATIONS = ("auto", "numpy", "numba")  # of NegativeSampler.implementation


@dataclass(frozen=True)
class NegativeSampler:
    """Which negatives to draw for each gold point (ILP-Loss's defaults for Random Constraints).

    Args:
        neighbours: include every in-box point at L1 distance 1.
        hops: the L1 distances ``k`` of the k-hop samplers (each ``>= 1``).
        per_hop: points drawn per k-hop sampler and row.
        projections: include one rounded projection onto each constraint's hyperplane
            (needs the current ``A, b`` when sampling).
        implementation: ``"numpy"``, ``"numba"`` (compiled loops, ``combopt[fast]``) or
            ``"auto"`` (numba when installed). Both draw the same random numbers and
            return the same points for a seed; the compiled loops cost a fraction of the
            NumPy path's many small array operations.
    """

    neighbours: bool = True
    hops: tuple[int, ...] = (2, 3, 4)
    per_hop: int = 16
    projections: bool = True
    implementation: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hops", tuple(int(k) for k in self.hops))
        if any(k < 1 for k in self.hops):
            raise ValueError(f"hops: every k-hop distance must be at least 1, got {self.hops}")
        if self.hops and self.per_hop < 1:
            raise ValueError(f"per_hop: must be at least 1 when hops are given, got {self.per_hop}")
        if not (self.neighbours or self.hops or self.projections):
            raise ValueError("NegativeSampler: every sampler is off; enable at least one")
        if self.implementation not in IMPLEMENTATIONS:
            raise ValueError(
                f"implementation: expected one of {IMPLEMENTATIONS}, got {self.implementation!r}"
            )
        if self.implementation == "numba":
            self._kernel()  # a clear error now, not at the first step

    def _kernel(self) -> Any:
        """The compiled loops for ``implementation``, or ``None`` for the NumPy ones."""
        return kernel_for("negatives_kernel", self.implementation, "the compiled negatives")

    def count(self, num_vars: int, num_constraints: int, binary: bool) -> int:
        """``K``, the negatives drawn per gold point."""
        k = (num_vars if binary else 2 * num_vars) if self.neighbours else 0
        k += len(self.hops) * self.per_hop
        return k + (num_constraints if self.projections else 0)

    def shape(self, batch: int, num_vars: int, lb: Any, ub: Any, A: Any = None) -> tuple:
        """``(B, K, n)``, the shape of :meth:`sample`'s negatives for ``batch`` gold points of
        ``num_vars`` coordinates in the box ``[lb, ub]`` with the constraints ``A`` (its rows
        count only with projections)."""
        span = np.floor(np.asarray(ub, dtype=float)) - np.ceil(np.asarray(lb, dtype=float))
        binary = bool(np.all(span == 1))
        m = np.shape(A)[-2] if self.projections and np.ndim(A) >= 2 else 0
        return (batch, self.count(num_vars, m, binary), num_vars)

    def sample(
        self,
        y: Any,
        lb: Any,
        ub: Any,
        rng: np.random.Generator,
        A: Any = None,
        b: Any = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Negatives ``(B, K, n)`` for gold points ``y (B, n)`` in the box ``[lb, ub]``.

        ``A, b`` (the current constraints, ``A y <= b``) are needed for projections only.
        ``out``: a ``(B, K, n)`` float array to write the negatives into and return (the
        points are integers, exact in any float dtype); a new float64 array when ``None``.
        The samplers fill their blocks in the order neighbours, k-hop, projections.
        """
        y, lo, hi = check_gold(y, lb, ub)
        if self.hops and max(self.hops) > int(np.count_nonzero(hi > lo)):
            raise ValueError(
                f"hops: a {max(self.hops)}-hop neighbour needs that many coordinates with "
                f"lb < ub; the box has {int(np.count_nonzero(hi > lo))}"
            )
        if self.projections and (A is None or b is None):
            raise ValueError("A, b: projections need the current constraints A, b")
        shape = self.shape(*y.shape, lo, hi, A)
        if out is None:
            out = np.empty(shape)
        elif out.shape != shape or not np.issubdtype(out.dtype, np.floating):
            raise ValueError(f"out: expected a float array of shape {shape}, got {out.shape}")
        work = out if out.flags.c_contiguous else np.empty(shape, dtype=out.dtype)
        kernel = self._kernel()
        at = 0
        if self.neighbours:
            if kernel is not None and np.all(hi - lo == 1):
                at = kernel.flips_into(work, at, y, lo)
            else:
                at = _neighbours_into(work, at, y, lo, hi)
        if self.hops:
            at = _k_hop_into(work, at, y, lo, hi, self.hops, self.per_hop, rng, kernel)
        if self.projections:
            _projections_into(work, at, y, lo, hi, A, b, rng, kernel)
        if work is not out:
            out[...] = work
        return out


def check_gold(y: Any, lb: Any, ub: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y (B, n)`` float64 and the integer box ``(ceil(lb), floor(ub))`` as ``(n,)`` arrays.

    Raises ``ValueError`` naming the argument when ``y`` is not a batch of integer points of
    the box, or when the box has no coordinate to move (``lb < ub`` nowhere).
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 1:
        raise ValueError(f"y: expected gold points (B, n), got shape {y.shape}")
    n = y.shape[1]
    lo = np.ceil(np.broadcast_to(np.asarray(lb, dtype=np.float64), (n,))).copy()
    hi = np.floor(np.broadcast_to(np.asarray(ub, dtype=np.float64), (n,))).copy()
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError("lb, ub: the box must be finite")
    if np.any(lo > hi):
        raise ValueError("lb, ub: the box holds no integer point (ceil(lb) > floor(ub))")
    if not np.any(hi > lo):
        raise ValueError("lb, ub: the box has one point; there is no negative to draw")
    if not np.all((y == np.rint(y)) & (y >= lo) & (y <= hi)):  # NaN fails every test
        if not np.all(np.isfinite(y)) or np.any(y != np.rint(y)):
            raise ValueError("y: gold points must be integer")
        raise ValueError("y: gold points must lie in the box [lb, ub]")
    return y, lo, hi


def neighbours(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The in-box points at L1 distance 1: ``(B, n, n)`` for a binary box, else ``(B, 2n, n)``.

    Non-binary boxes: row ``i`` is ``y + e_i`` and row ``n + i`` is ``y - e_i``; a step that
    leaves the box is replaced by the opposite step. A coordinate with ``lb = ub`` cannot
    move: its rows move the first free coordinate instead.
    """
    batch, n = y.shape
    binary = bool(np.all(hi - lo == 1))
    out = np.empty((batch, n if binary else 2 * n, n))
    _neighbours_into(out, 0, y, lo, hi)
    return out


def _neighbours_into(out: np.ndarray, at: int, y: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """:func:`neighbours` written to ``out[:, at:]`` (``out (B, K, n)`` C-contiguous);
    returns the index after the block."""
    batch, n = y.shape
    if np.all(hi - lo == 1):  # the bit flips: y with coordinate i moved, at row at + i
        out[:, at : at + n] = y[:, None, :]
        K = out.shape[1]
        flat = (np.arange(batch)[:, None] * K + at + np.arange(n)) * n + np.arange(n)
        out.reshape(-1)[flat] = np.where(y == lo, y + 1.0, y - 1.0)
        return at + n
    out[:, at : at + 2 * n] = _neighbours_wide(y, lo, hi)
    return at + 2 * n


def _neighbours_wide(y: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    n = y.shape[1]
    free = hi > lo
    coord = np.where(free, np.arange(n), int(np.argmax(free)))  # fixed coords borrow a free one
    eye = np.eye(n)[coord]  # (n, n): row i moves coordinate coord[i]
    up, down = y[:, None, :] + eye, y[:, None, :] - eye
    up_ok = np.all(up <= hi, axis=-1, keepdims=True)
    down_ok = np.all(down >= lo, axis=-1, keepdims=True)
    return np.concatenate([np.where(up_ok, up, down), np.where(down_ok, down, up)], axis=1)


def k_hop(
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    hops: tuple[int, ...],
    count: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """``count`` points a row per ``k`` in ``hops``, each at L1 distance exactly ``k`` from
    ``y``: ``(B, len(hops) * count, n)``, grouped by ``k`` in the order of ``hops``.

    Each moves ``k`` distinct coordinates, a uniformly random subset of those with
    ``lb < ub`` (the first ``k`` of a partial Fisher-Yates shuffle), by one step: up or down
    with equal chance where both stay in the box (the only case that draws a direction).
    Random draws per point: ``max(hops)`` integers, and as many uniforms for a box with a
    range wider than 1.
    """
    out = np.empty((y.shape[0], len(hops) * count, y.shape[1]))
    _k_hop_into(out, 0, y, lo, hi, hops, count, rng)
    return out


def _k_hop_into(
    out: np.ndarray,
    at: int,
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    hops: tuple[int, ...],
    count: int,
    rng: np.random.Generator,
    kernel: Any = None,
) -> int:
    """:func:`k_hop` written to ``out[:, at:]`` (``out (B, K, n)`` C-contiguous), by the
    compiled ``kernel`` module when given; returns the index after the block."""
    batch, n = y.shape
    free = np.flatnonzero(hi > lo)
    size, kmax = len(hops) * count, max(hops)
    rows = batch * size
    positions = _shuffle_positions(free.size, kmax, rows, rng)
    wide = bool(np.any(hi - lo > 1))
    hop_of_point = np.repeat(np.asarray(hops, dtype=np.int64), count)  # (size,)
    if kernel is not None:
        directions = rng.random((rows, kmax)) if wide else np.empty((0, 0))
        return kernel.k_hop_into(out, at, y, lo, hi, free, hop_of_point, positions, directions)
    chosen = _partial_shuffle(positions)  # (rows, kmax) positions in free
    if free.size != n:
        chosen = free[chosen]
    k = np.tile(hop_of_point, batch)  # (rows,)
    used = np.arange(kmax) < k[:, None]
    gold = np.repeat(np.arange(batch) * n, size)[:, None] + chosen  # into y.ravel()
    moved = y.reshape(-1)[gold]  # (rows, kmax): the coordinates' values at gold
    can_up = moved < hi[chosen]
    up = can_up
    if wide:
        both = can_up & (moved > lo[chosen])
        up = np.where(both, rng.random(chosen.shape) < 0.5, can_up)
    moved += used * np.where(up, 1.0, -1.0)
    out[:, at : at + size] = y[:, None, :]
    K = out.shape[1]
    point = (np.arange(batch)[:, None] * K + at + np.arange(size)).reshape(-1, 1)  # (rows, 1)
    out.reshape(-1)[point * n + chosen] = moved
    return at + size


def _shuffle_positions(size: int, kmax: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """The swap positions of a partial Fisher-Yates shuffle of ``range(size)``, ``(kmax, rows)``:
    step ``j``'s position uniform in ``[j, size)``, as ``j + floor(u (size - j))`` of one
    ``rng.random`` call (a bias below ``size * 2^-53``)."""
    steps = np.arange(kmax)
    u = rng.random((kmax, rows))
    u *= (size - steps)[:, None]
    return u.astype(np.int64) + steps[:, None]


def _partial_shuffle(positions: np.ndarray) -> np.ndarray:
    """The first ``kmax`` entries ``(rows, kmax)`` of a partial Fisher-Yates shuffle per row,
    step ``j`` swapping position ``j`` with ``positions[j]`` (from :func:`_shuffle_positions`).

    Only the positions the swaps touch are stored: step ``j`` reads the value at ``r_j``
    (position ``p`` holds ``p`` unless an earlier step wrote there) and writes position
    ``j``'s value at ``r_j``; positions below ``j`` are final. ``kmax^2`` vector operations
    of length ``rows`` instead of a ``(rows, size)`` permutation.
    """
    kmax, rows = positions.shape
    chosen = np.empty((rows, kmax), dtype=np.int64)
    moved_to = np.empty((rows, kmax), dtype=np.int64)  # r_j of step j ...
    moved = np.empty((rows, kmax), dtype=np.int64)  # ... and the value written there
    for j in range(kmax):
        r = positions[j]
        at_r, at_j = r, np.full(rows, j)
        for i in range(j):  # later writes win
            hit = moved_to[:, i]
            at_r = np.where(hit == r, moved[:, i], at_r)
            at_j = np.where(hit == j, moved[:, i], at_j)
        chosen[:, j] = at_r
        moved_to[:, j], moved[:, j] = r, at_j
    return chosen


def _checked_rows(y: np.ndarray, A: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    """``A, b`` as float64 arrays, checked against the gold points ``y (B, n)``."""
    batch, n = y.shape
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    shared = A.ndim == 2
    m = A.shape[-2] if A.ndim >= 2 else -1
    if not (shared or A.ndim == 3) or A.shape[-1] != n or (not shared and A.shape[0] != batch):
        raise ValueError(f"A: expected (m, {n}) or ({batch}, m, {n}), got {A.shape}")
    if b.shape not in ((m,), (batch, m)):
        raise ValueError(f"b: expected ({m},) or {(batch, m)}, got {b.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(b))):
        raise ValueError("A, b: must be finite")
    return A, b


def _projections_into(
    out: np.ndarray,
    at: int,
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    A: Any,
    b: Any,
    rng: np.random.Generator,
    kernel: Any = None,
) -> int:
    """:func:`projections` written to ``out[:, at:]``, by the compiled ``kernel`` module when
    given (the same draw: one uniform per row and coordinate); returns the index after."""
    if kernel is None:
        point = projections(y, lo, hi, A, b, rng)
        out[:, at : at + point.shape[1]] = point
        return at + point.shape[1]
    A, b = _checked_rows(y, A, b)
    shape = (y.shape[0], *A.shape[-2:])
    uniforms = rng.random(shape)
    A, b = np.broadcast_to(A, shape), np.broadcast_to(b, shape[:2])  # views, no copy
    return kernel.projections_into(out, at, y, lo, hi, A, b, uniforms)


def projections(
    y: np.ndarray, lo: np.ndarray, hi: np.ndarray, A: Any, b: Any, rng: np.random.Generator
) -> np.ndarray:
    """One rounded projection of ``y`` onto each row's hyperplane ``a . y = b``: ``(B, m, n)``.

    A row with ``a = 0`` has no hyperplane; its "projection" is ``y`` itself, repaired to a
    neighbour like any rounding that lands on ``y``.
    """
    n = y.shape[1]
    A, b = _checked_rows(y, A, b)
    shared = A.ndim == 2
    norm2 = (A * A).sum(-1)  # (m,) or (B, m)
    excess = (y @ A.T if shared else np.matmul(A, y[:, :, None])[..., 0]) - b  # a.y - b
    scale = np.divide(
        excess, norm2, out=np.zeros_like(excess), where=np.broadcast_to(norm2 > 0, excess.shape)
    )
    raw = scale[..., None] * A
    np.subtract(y[:, None, :], raw, out=raw)  # (B, m, n) on the hyperplanes
    point = np.floor(raw)
    point += rng.random(raw.shape) < raw - point  # floor + Bernoulli of the fraction
    np.minimum(np.maximum(point, lo, out=point), hi, out=point)
    moved = np.abs(point - y[:, None, :]) @ np.ones(n)  # L1 distance to gold (a BLAS sum)
    rows, cons = np.nonzero(moved == 0)  # rounded onto gold
    if rows.size:
        gold, near = y[rows], raw[rows, cons]  # (s, n)
        offset = np.where(hi > lo, np.abs(near - gold), -1.0)  # fixed coordinates never move
        i = np.argmax(offset, axis=-1)  # (s,)
        s = np.arange(rows.size)
        at = gold[s, i]
        towards = np.where(near[s, i] >= at, 1.0, -1.0)
        gold[s, i] += np.where((at + towards > hi[i]) | (at + towards < lo[i]), -towards, towards)
        point[rows, cons] = gold
    return point
