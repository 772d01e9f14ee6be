"""Seeded Sudoku datasets with unique solutions, generated offline, cached on disk.

A puzzle is made from a random full grid (``count_solutions`` with random digit order) by
blanking cells in a random order, each removal kept only while the puzzle still has exactly
one solution, until the puzzle holds its drawn number of givens. Puzzle ``i`` of a split is
a function of ``(size, split, seed, i)`` alone, so a smaller dataset is a prefix of a larger
one. Givens per puzzle are drawn uniformly from ``GIVENS[split][size]``: the ``"train"`` and
``"test"`` splits have about 36 givens at 9x9 (30-42, mean 36, like the common SATNet
benchmark) and proportionally as many at 4x4 and 6x6; ``"hard"`` has at most 25 at 9x9.

Datasets are cached as ``.npz`` under ``$COMBOPT_CACHE_DIR/sudoku`` (default
``~/.cache/combopt/sudoku``); ``load_puzzles`` re-validates every puzzle it reads.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .grid import check_puzzle, count_solutions

SPLITS = ("train", "test", "hard")

# Inclusive ranges of givens per puzzle.
GIVENS = {
    "train": {4: (6, 8), 6: (14, 18), 9: (30, 42)},
    "test": {4: (6, 8), 6: (14, 18), 9: (30, 42)},
    "hard": {4: (4, 5), 6: (9, 12), 9: (22, 25)},
}
FORMAT_VERSION = 1


@dataclass(frozen=True)
class SudokuSet:
    """Puzzles ``(N, s, s)`` with their unique solutions ``(N, s, s)``, int8, 0 = blank."""

    size: int
    puzzles: np.ndarray
    solutions: np.ndarray

    def __len__(self) -> int:
        return len(self.puzzles)

    def subset(self, index: Iterable[int] | np.ndarray) -> SudokuSet:
        index = np.asarray(index)
        return SudokuSet(self.size, self.puzzles[index], self.solutions[index])

    def validation_split(self, fraction: float, seed: int) -> tuple[SudokuSet, SudokuSet]:
        """``(fit, validation)``: a seeded random ``fraction`` of the puzzles held out."""
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction: must lie in (0, 1), got {fraction}")
        order = np.random.default_rng(seed).permutation(len(self))
        n_val = max(1, round(fraction * len(self)))
        return self.subset(np.sort(order[n_val:])), self.subset(np.sort(order[:n_val]))


def make_puzzle(size: int, givens: int, rng: random.Random) -> tuple[np.ndarray, np.ndarray]:
    """``(puzzle, solution)``: a puzzle with exactly ``givens`` givens and one solution.

    Removal orders that get stuck above ``givens`` (a minimal puzzle reached early) are
    retried; after 20 tries a new full grid is drawn.
    """
    if not 1 <= givens <= size * size:
        raise ValueError(f"givens: must lie in 1..{size * size}, got {givens}")
    while True:
        _, solution = count_solutions(np.zeros((size, size), np.int8), limit=1, rng=rng)
        for _ in range(20):
            puzzle = solution.copy()
            flat = puzzle.reshape(-1)
            order = list(range(size * size))
            rng.shuffle(order)
            left = size * size
            for k in order:
                if left == givens:
                    break
                flat[k] = 0
                if count_solutions(puzzle, limit=2)[0] == 1:
                    left -= 1
                else:
                    flat[k] = solution.reshape(-1)[k]
            if left == givens:
                return puzzle, solution


def generate(size: int, split: str, count: int, seed: int = 0, progress=None) -> SudokuSet:
    """``count`` puzzles of ``split`` (see ``GIVENS``), deterministic in ``(size, split, seed)``.

    ``progress``: an optional callable taking the number of puzzles made so far.
    """
    if split not in SPLITS:
        raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
    lo, hi = GIVENS[split][size]
    puzzles, solutions = [], []
    for i in range(count):
        rng = random.Random(f"sudoku/{size}/{split}/{seed}/{i}")
        p, s = make_puzzle(size, rng.randint(lo, hi), rng)
        puzzles.append(p)
        solutions.append(s)
        if progress is not None:
            progress(i + 1)
    if not puzzles:
        empty = np.zeros((0, size, size), np.int8)
        return SudokuSet(size, empty, empty.copy())
    return SudokuSet(size, np.stack(puzzles), np.stack(solutions))


def cache_dir() -> Path:
    """``$COMBOPT_CACHE_DIR/sudoku``, else ``~/.cache/combopt/sudoku``."""
    root = os.environ.get("COMBOPT_CACHE_DIR")
    base = Path(root) if root else Path.home() / ".cache" / "combopt"
    return base / "sudoku"


def save_puzzles(data: SudokuSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, puzzles=data.puzzles, solutions=data.solutions)
    tmp.replace(path)


def load_puzzles(path: Path, size: int | None = None) -> SudokuSet:
    """Read puzzles (and their solutions, if stored) from an ``.npz`` with ``puzzles``.

    Every puzzle is validated (``check_puzzle``): a wrong size, a digit out of range,
    contradicting givens, no solution or several raise ``ValueError`` naming the file and
    the puzzle's index. A stored solution that differs from the unique one is rejected too.
    """
    with np.load(path) as f:
        if "puzzles" not in f:
            raise ValueError(f"{path}: no 'puzzles' array")
        puzzles = f["puzzles"]
        stored = f.get("solutions")
    if puzzles.ndim != 3:
        raise ValueError(f"{path}: expected puzzles shaped (N, s, s), got {puzzles.shape}")
    solutions = []
    for i, p in enumerate(puzzles):
        name = f"{path.name}: puzzle {i}"
        solution = check_puzzle(p, name, size)
        if stored is not None and not np.array_equal(stored[i], solution):
            raise ValueError(f"{name}: the stored solution is not the puzzle's solution")
        solutions.append(solution)
    s = puzzles.shape[1]
    return SudokuSet(s, puzzles.astype(np.int8), np.stack(solutions).astype(np.int8))


def dataset(size: int, split: str, count: int, seed: int = 0, progress=None) -> SudokuSet:
    """``generate`` through the on-disk cache (a cached larger set is cut to ``count``)."""
    folder = cache_dir()
    pattern = f"v{FORMAT_VERSION}-{size}x{size}-{split}-seed{seed}-n"
    for path in sorted(folder.glob(pattern + "*.npz")) if folder.is_dir() else []:
        n = path.name[len(pattern) : -len(".npz")]
        if n.isdigit() and int(n) >= count:
            return load_puzzles(path, size).subset(range(count))
    data = generate(size, split, count, seed, progress)
    save_puzzles(data, folder / f"{pattern}{count}.npz")
    return data
