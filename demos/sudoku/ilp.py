"""Sudoku as a binary ILP: ``s^3`` variables ``y[r, c, d]`` (cell ``(r, c)`` holds ``d + 1``).

Variable ``(r * s + c) * s + d`` is one cell-digit pair; a grid's one-hot encoding has one
1 per filled cell. The rules are ``4 s^2`` packing rows ``sum y <= 1`` (each cell holds at
most one digit, each digit at most once per row, column and box: 324 rows at 9x9), written
``A y <= b`` with ``A`` in ``{0, 1}`` and ``b = 1``; the box ``0 <= y <= 1`` stays variable
bounds, never rows.

Costs from the givens: ``c = -(g + eps)`` with ``g`` the givens' one-hot and
``eps = 1 / (2 s^2)``. Under the true rules the minimum fills every cell (each filled cell
gains ``eps``) and keeps every given (a given is worth more than all ``s^2`` fill gains
together), so a puzzle with a unique solution has exactly that solution as its unique
optimum: packing rows with these costs are as exact as the ``4 s^2`` equalities.
"""

from __future__ import annotations

import numpy as np

from .grid import geometry


def num_vars(size: int) -> int:
    return size**3


def fill_bonus(size: int) -> float:
    """``eps``: the cost of a filled cell, small enough that one given outweighs all."""
    return 1.0 / (2 * size * size)


def one_hot(grids: np.ndarray) -> np.ndarray:
    """``(N, s, s)`` grids (0 = blank) -> ``(N, s^3)`` float64 one-hot, blanks all 0."""
    grids = np.asarray(grids)
    n, s = grids.shape[0], grids.shape[1]
    out = np.zeros((n, s * s, s))
    flat = grids.reshape(n, s * s).astype(np.int64)
    rows, cells = np.nonzero(flat)
    out[rows, cells, flat[rows, cells] - 1] = 1.0
    return out.reshape(n, s**3)


def decode(y: np.ndarray, size: int) -> np.ndarray:
    """``(N, s^3)`` points -> ``(N, s, s)`` grids: each cell's digit, 0 where no digit or
    several digits are set (a point that is no one-hot grid scores as wrong there)."""
    y = np.rint(np.asarray(y)).reshape(-1, size * size, size)
    digit = y.argmax(-1) + 1
    digit[y.sum(-1) != 1] = 0
    return digit.reshape(-1, size, size).astype(np.int8)


def given_costs(givens: np.ndarray) -> np.ndarray:
    """``c = -(g + eps)`` for ``(N, s^3)`` givens' encodings ``g`` (one-hot or probabilities)."""
    s = round(givens.shape[-1] ** (1 / 3))
    return -(givens + fill_bonus(s))


def true_rules(size: int) -> tuple[np.ndarray, np.ndarray]:
    """The Sudoku rules as packing rows: ``A (4 s^2, s^3)`` in ``{0, 1}``, ``b = 1``.

    Row blocks, ``s^2`` rows each: cell ``(r, c)``; digit ``d`` in row ``r``; digit ``d``
    in column ``c``; digit ``d`` in box ``k``.
    """
    g = geometry(size)
    s = size
    A = np.zeros((4, s * s, s, s, s))  # block, row index, (r, c, d)
    for r in range(s):
        for c in range(s):
            k = g.box_of(r, c)
            for d in range(s):
                A[0, r * s + c, r, c, d] = 1
                A[1, r * s + d, r, c, d] = 1
                A[2, c * s + d, r, c, d] = 1
                A[3, k * s + d, r, c, d] = 1
    return A.reshape(4 * s * s, s**3), np.ones(4 * s * s)
