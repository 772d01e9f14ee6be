"""Datasets of ``(c, y*)`` pairs for learning ILP constraints, and their splits.

Every dataset here is a set of cost vectors ``c`` and the optimal integer solutions
``y* = argmin c.y  s.t.  A y <= b,  lb <= y <= ub,  y integer`` of one fixed, hidden
constraint set ``(A, b)`` (sign convention ``A y <= b`` everywhere).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).resolve().parent / "data"
RC_DIR = DATA_DIR / "random_constraints"
RC_VARIANTS = ("binary", "dense")


@dataclass(frozen=True)
class ConstraintDataset:
    """Train/test pairs ``(c, y*)`` of one hidden ILP ``min c.y s.t. A y <= b`` in a box.

    Shapes: ``c_*``/``y_*`` ``(N, n)``; ``A (m, n)``, ``b (m,)``; ``lb``/``ub`` scalars.
    ``A``/``b`` are the ground truth, kept for provenance and checks; learners never see them.
    """

    name: str
    c_train: np.ndarray
    y_train: np.ndarray
    c_test: np.ndarray
    y_test: np.ndarray
    A: np.ndarray
    b: np.ndarray
    lb: float
    ub: float

    @property
    def num_vars(self) -> int:
        return int(self.c_train.shape[1])

    def validation_split(
        self, fraction: float = 0.1, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Carve a validation set from the training split (the test split stays untouched).

        Returns ``(c_fit, y_fit, c_val, y_val)``; rows are drawn by a seeded permutation.
        """
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"fraction: must lie in (0, 1), got {fraction}")
        n = len(self.c_train)
        n_val = max(1, round(fraction * n))
        order = np.random.default_rng(seed).permutation(n)
        val, fit = order[:n_val], order[n_val:]
        return self.c_train[fit], self.y_train[fit], self.c_train[val], self.y_train[val]

    def subset(self, train: int | None = None, test: int | None = None) -> ConstraintDataset:
        """The first ``train`` / ``test`` rows (``None`` keeps a split whole)."""
        return replace(
            self,
            c_train=self.c_train[:train],
            y_train=self.y_train[:train],
            c_test=self.c_test[:test],
            y_test=self.y_test[:test],
        )

    def save(self, path: str | Path) -> None:
        """Write the dataset as ``.npz`` in the layout of ``demos/data/random_constraints``."""
        np.savez_compressed(
            path,
            A=self.A,
            b=self.b,
            lb=self.lb,
            ub=self.ub,
            c_train=self.c_train,
            y_train=self.y_train,
            c_test=self.c_test,
            y_test=self.y_test,
        )


def load_npz(path: str | Path, name: str | None = None) -> ConstraintDataset:
    """Read a dataset written by :meth:`ConstraintDataset.save` (or shipped in ``demos/data``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no dataset file at {path}")
    with np.load(path) as z:
        return ConstraintDataset(
            name=name or path.stem,
            c_train=z["c_train"].astype(np.float64),
            y_train=z["y_train"].astype(np.float64),
            c_test=z["c_test"].astype(np.float64),
            y_test=z["y_test"].astype(np.float64),
            A=z["A"].astype(np.float64),
            b=z["b"].astype(np.float64),
            lb=float(z["lb"]),
            ub=float(z["ub"]),
        )


def load_random_constraints(variant: str, m: int, seed: int) -> ConstraintDataset:
    """The paper's own Random Constraints dataset ``{variant}_m{m}_seed{seed}`` (shipped)."""
    if variant not in RC_VARIANTS:
        raise ValueError(f"variant: expected one of {RC_VARIANTS}, got {variant!r}")
    path = RC_DIR / f"{variant}_m{m}_seed{seed}.npz"
    if not path.is_file():
        shipped = sorted(p.stem for p in RC_DIR.glob(f"{variant}_*.npz"))
        raise FileNotFoundError(
            f"m, seed: no shipped dataset {path.name}; shipped {variant} datasets: "
            f"{', '.join(shipped)} (generate others with --generate)"
        )
    return load_npz(path)


def box_only_solutions(c: np.ndarray, lb: float, ub: float) -> np.ndarray:
    """``argmin c.y`` over the box alone (no constraints): ``lb`` where ``c > 0``, else ``ub``.

    Ties (``c_j = 0``) go to ``lb``; with continuous random costs they have probability 0.
    """
    return np.where(np.asarray(c) > 0, lb, ub).astype(np.float64)


def exact_match(y: np.ndarray, y_true: np.ndarray) -> np.ndarray:
    """Per-row exact match ``y == y*`` (after rounding ``y`` to the nearest integer)."""
    return np.all(np.rint(y) == np.rint(y_true), axis=-1)
