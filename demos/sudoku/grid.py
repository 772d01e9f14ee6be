"""Sudoku grids: geometry, a fast exact solution counter, and validation of puzzles.

A grid of size ``s`` (4, 6 or 9) is an ``(s, s)`` integer array; digits are ``1..s`` and
``0`` is a blank. Boxes are ``box_rows x box_cols`` (2x2, 2x3, 3x3). The counter is a
depth-first search over bitmasks of candidates that always branches on the blank with the
fewest candidates; it stops at ``limit`` solutions, so ``count_solutions(p, limit=2) == 1``
proves a unique solution.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

import numpy as np

BOXES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}


@dataclass(frozen=True)
class Geometry:
    """The cells, units and peers of an ``s x s`` grid; cell ``k`` is ``(k // s, k % s)``."""

    size: int
    box_rows: int
    box_cols: int

    @property
    def cells(self) -> int:
        return self.size * self.size

    def box_of(self, row: int, col: int) -> int:
        """Boxes numbered row-major, ``s / box_cols`` boxes across."""
        return (row // self.box_rows) * (self.size // self.box_cols) + col // self.box_cols


@cache
def geometry(size: int) -> Geometry:
    """The geometry of a grid of ``size``; raises ``ValueError`` for other sizes than 4, 6, 9."""
    if size not in BOXES:
        raise ValueError(f"size: expected one of {tuple(BOXES)}, got {size!r}")
    return Geometry(size, *BOXES[size])


def count_solutions(
    grid: np.ndarray, limit: int = 2, rng: random.Random | None = None
) -> tuple[int, np.ndarray | None]:
    """``(number of solutions up to limit, the first one found or None)`` of a valid grid.

    ``grid`` must have no contradicting givens (see ``check_puzzle``). With ``rng``, the
    digits of each branch are tried in a random order, so ``count_solutions(empty, 1, rng)``
    draws a random full grid.
    """
    s = grid.shape[0]
    g = geometry(s)
    full = (1 << s) - 1
    values = [int(v) for v in np.asarray(grid).reshape(-1)]
    rows, cols, boxes = [0] * s, [0] * s, [0] * s
    box = [g.box_of(k // s, k % s) for k in range(s * s)]
    blanks = []
    for k, v in enumerate(values):
        if v:
            bit = 1 << (v - 1)
            rows[k // s] |= bit
            cols[k % s] |= bit
            boxes[box[k]] |= bit
        else:
            blanks.append(k)
    found: list[list[int]] = []
    count = 0

    def search(open_cells: list[int]) -> None:
        nonlocal count
        if not open_cells:
            count += 1
            if not found:
                found.append(values.copy())
            return
        best, best_free, best_n = -1, 0, s + 1
        for i, k in enumerate(open_cells):
            free = full & ~(rows[k // s] | cols[k % s] | boxes[box[k]])
            n = free.bit_count()
            if n < best_n:
                best, best_free, best_n = i, free, n
                if n <= 1:
                    break
        if best_n == 0:
            return
        k = open_cells[best]
        rest = open_cells[:best] + open_cells[best + 1 :]
        digits = [d for d in range(s) if best_free >> d & 1]
        if rng is not None:
            rng.shuffle(digits)
        r, c, b = k // s, k % s, box[k]
        for d in digits:
            bit = 1 << d
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            values[k] = d + 1
            search(rest)
            rows[r] &= ~bit
            cols[c] &= ~bit
            boxes[b] &= ~bit
            values[k] = 0
            if count >= limit:
                return

    search(blanks)
    solution = np.array(found[0], dtype=np.int8).reshape(s, s) if found else None
    return count, solution


def contradiction(grid: np.ndarray) -> str | None:
    """A sentence naming the first repeated digit of a row, column or box, else ``None``."""
    s = grid.shape[0]
    g = geometry(s)
    seen: dict[tuple[str, int, int], tuple[int, int]] = {}
    for r in range(s):
        for c in range(s):
            v = int(grid[r, c])
            if not v:
                continue
            for unit, index in (("row", r), ("column", c), ("box", g.box_of(r, c))):
                key = (unit, index, v)
                if key in seen:
                    r0, c0 = seen[key]
                    return (
                        f"digit {v} appears twice in {unit} {index + 1} (cells r{r0 + 1}c{c0 + 1} "
                        f"and r{r + 1}c{c + 1})"
                    )
                seen[key] = (r, c)
    return None


def check_puzzle(puzzle: np.ndarray, name: str, size: int | None = None) -> np.ndarray:
    """Validate one puzzle and return its unique solution ``(s, s)`` int8.

    Raises:
        ValueError: naming the puzzle (``name``), when it is not a square grid of size 4, 6
            or 9 (or not ``size`` when given), holds a digit outside ``0..s`` or a non-integer,
            has contradicting givens, or has no solution or several.
    """
    arr = np.asarray(puzzle)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] not in BOXES:
        raise ValueError(
            f"{name}: expected a square grid of size {', '.join(map(str, BOXES))}, got shape "
            f"{arr.shape}"
        )
    s = arr.shape[0]
    if size is not None and s != size:
        raise ValueError(f"{name}: expected a {size}x{size} grid, got {s}x{s}")
    integral = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.number) and np.all(arr == np.round(arr))
    )
    if not integral:
        raise ValueError(f"{name}: expected integer digits, got dtype {arr.dtype}")
    bad = np.argwhere((arr < 0) | (arr > s))
    if len(bad):
        r, c = (int(x) for x in bad[0])
        raise ValueError(
            f"{name}: digit {arr[r, c]} at r{r + 1}c{c + 1} is out of range 0..{s} (0 = blank)"
        )
    grid = arr.astype(np.int8)
    clash = contradiction(grid)
    if clash:
        raise ValueError(f"{name}: contradicting givens: {clash}")
    count, solution = count_solutions(grid, limit=2)
    if count == 0:
        raise ValueError(f"{name}: has no solution")
    if count > 1:
        raise ValueError(f"{name}: has several solutions (a puzzle needs exactly one)")
    return solution
