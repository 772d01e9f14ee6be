"""The models: CombOptNet with learned rules (symbolic and visual), and the MLP baseline.

The CombOptNet models map a batch of puzzles to ``(B, s^3)`` points (see ``ilp``), the
ILP's exact answers; the MLP's ``predict`` gives its points. The CombOptNet models learn
``m`` constraints that do not depend on the puzzle (the rules) and take their costs from the
puzzle. Two encodings of the learned rules: ``"packing"``, the paper's inequality rows and
initialisation (``LearnableConstraints``) with costs ``c = -(g + eps)``
(``ilp.given_costs``); ``"bands"``, learned equalities each relaxed to a band
``|a . y + beta| <= margin`` (``EqualityBands``, as ILP-Loss encodes Sudoku) with costs
``c = -g``. ``g`` is the givens' one-hot (symbolic) or, for each given cell, a small CNN's
digit probabilities of its image (visual; blanks are known, as in the SATNet benchmark).
Visual costs ``"log"`` put the CNN's log-probabilities in ``g`` instead, so the ILP's
optimum is the most likely solved grid (a MAP decode, below). The ILP is solved exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from combopt_torch import ILPLayer, LearnableConstraints

from .ilp import fill_bonus, num_vars


class DigitCNN(nn.Module):
    """``(N, 8, 8)`` images in ``[0, 1]`` -> ``(N, s)`` logits of the digits ``1..s``."""

    def __init__(self, digits: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 4 * 4, 64),
            nn.ReLU(),
            nn.Linear(64, digits),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images.unsqueeze(1))


class FixedConstraints(nn.Module):
    """Known constraints ``A y <= b`` in place of learned ones (buffers, no gradient)."""

    def __init__(self, A: np.ndarray, b: np.ndarray) -> None:
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A, dtype=torch.float64))
        self.register_buffer("b", torch.as_tensor(b, dtype=torch.float64))

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.A, self.b


ENCODINGS = ("packing", "bands")
COSTS = ("probs", "log")
FIX_RETRIES = 3  # fix_confident: re-solves of an infeasible decode, each nearer p = 1
LOG_FLOOR = 20.0  # log-probability costs are clipped at -LOG_FLOOR (p >= 2e-9)


def log_fill_bonus(size: int) -> float:
    """``K``, the bonus of a filled cell under packing rows with log-probability costs.

    Costs ``c = -(log p + K)`` at given cells and ``-K`` at blank cells, with ``log p``
    clipped to ``[-LOG_FLOOR, 0]``: a full grid is worth at least ``s^2 K - s^2 LOG_FLOOR``
    and any point with an empty cell at most ``(s^2 - 1) K``, so with
    ``K = s^2 LOG_FLOOR + 1`` every optimum is a full grid, and among full grids the
    optimum maximises ``sum log p`` over the given cells: the most likely solved grid.
    """
    return size * size * LOG_FLOOR + 1.0


def band_rows(size: int) -> int:
    """Default number of learned equality bands: ``ceil(s^3 / 2) + 1`` (33, 109 and 366 at
    4x4, 6x6 and 9x9; the true rules' equalities have rank 40, 101 and 249)."""
    return -(-(size**3) // 2) + 1


class EqualityBands(nn.Module):
    """``m`` learned equalities, each relaxed to a band ``|a_k . y + beta_k| <= margin``.

    ``forward() -> (A (2m, n), b (2m,))``: the band as two rows of ``A y <= b``
    (``a_k . y <= margin - beta_k`` and ``-a_k . y <= margin + beta_k``). The offset is
    ``beta_k = r_k ||a_k|| - a_k . o_k`` with a learnable radius and origin (no
    normalisation of ``a_k``). Initialisation: ``a_k ~ N(0, 1)^n``, ``r_k = 0``,
    ``o_k = 0``: every band passes through ``y = 0``, so at initialisation the ILP is
    feasible (its one point in the box is, almost surely, ``y = 0``) and easy.

    Why bands: every solved Sudoku satisfies the ``4 s^2`` equalities ``sum y = 1`` of its
    rules, and a 0/1 point satisfying them all is a solved grid. Bands that learn to span
    the same affine space therefore need no exact coefficients: the gold points pull each
    band onto the affine hull of the solutions and the negatives push points off it.
    """

    def __init__(
        self,
        num_bands: int,
        num_vars: int,
        margin: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if num_bands < 1 or not margin > 0:
            raise ValueError(f"need num_bands >= 1 and margin > 0, got {num_bands}, {margin}")
        self.margin = float(margin)
        self.a = nn.Parameter(torch.randn(num_bands, num_vars, generator=generator))
        self.r = nn.Parameter(torch.zeros(num_bands))
        self.o = nn.Parameter(torch.zeros(num_bands, num_vars))

        self.register_buffer("projector", None)  # set by ``hold``

    def offsets(self) -> torch.Tensor:
        return self.r * self.a.norm(dim=-1) - (self.a * self.o).sum(-1)

    def hold(self, points: np.ndarray | torch.Tensor | None) -> None:
        """Refit the bands the ILP solves to hold ``points (N, n)`` exactly (``None``: no
        refit). In eval mode (validation, test) ``forward`` then returns each band's
        least-squares nearest band through every point: ``(a_k, beta_k)`` projected onto
        the orthogonal complement of the points' lifts ``(y, 1)``, i.e. ``a_k . y + beta_k
        = 0`` at every point; training (ILP-Loss's terms) sees the unrefit bands.
        """
        if points is None:
            self.projector = None
            return
        lifted = np.hstack([np.asarray(points, dtype=np.float64), np.ones((len(points), 1))])
        _, sv, vt = np.linalg.svd(lifted, full_matrices=len(lifted) < lifted.shape[1])
        tol = sv.max() * max(lifted.shape) * np.finfo(np.float64).eps
        span = vt[: int((sv > tol).sum())]  # the lifts' row space
        proj = np.eye(lifted.shape[1]) - span.T @ span
        self.projector = torch.as_tensor(proj, dtype=self.a.dtype, device=self.a.device)

    def forward(self) -> tuple[torch.Tensor, torch.Tensor]:
        a, beta = self.a, self.offsets()
        if self.projector is not None and not self.training:
            lifted = torch.cat([a, beta[:, None]], 1) @ self.projector
            a, beta = lifted[:, :-1], lifted[:, -1]
        A = torch.cat([a, -a])
        return A, torch.cat([self.margin - beta, self.margin + beta])


class SudokuCombOptNet(nn.Module):
    """CombOptNet for ``s x s`` Sudoku: ``forward(batch) -> y (B, s^3)``.

    ``batch`` is a dict with ``"givens"`` ``(B, s^3)`` (the one-hot of the given digits,
    symbolic) or ``"images"`` ``(B, s^2, 8, 8)`` and ``"given"`` ``(B, s^2)`` booleans
    (visual). The constraints are ``LearnableConstraints`` (the paper's origin
    parametrization and initialisation) or, with ``rules``, known ``(A, b)`` (then
    ``num_constraints`` is ignored). ``encoding="bands"``: ``num_constraints`` learned
    equalities as bands (``EqualityBands``, ``2 m`` rows), and costs without the fill bonus
    (``c = -g``; the bands, not the costs, make a point fill every cell). ``costs``
    (visual only): ``"probs"``, ``g`` holds the CNN's probabilities at given cells;
    ``"log"``, its log-probabilities, with the fill bonus ``log_fill_bonus`` under packing
    rows (none with bands, which fill every cell themselves), so the optimum is the most
    likely solved grid. ``fix_confident`` (visual only): in eval mode (validation, test)
    every given cell the CNN reads with at least this probability is fixed to that digit
    by equality rows (``confident_rows``), so the solver decides only the doubtful givens
    and the blanks: a decode that is faster where the rules are hard to solve, and that is
    the most likely grid only when no fixed cell is misread. Where the fixed ILP has no
    point (a confidently misread given), the instance is solved again with the threshold
    ten times nearer 1 (``1 - (1 - P) / 10``), at most ``FIX_RETRIES`` times. Training is
    unchanged. Keyword options go to ``ILPLayer`` (``solver``, ``tau``, ...).
    """

    def __init__(
        self,
        size: int,
        num_constraints: int,
        visual: bool = False,
        rules: tuple[np.ndarray, np.ndarray] | None = None,
        generator: torch.Generator | None = None,
        encoding: str = "packing",
        band_margin: float = 0.1,
        costs: str = "probs",
        fix_confident: float | None = None,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        if fix_confident is not None and not (visual and 0 < fix_confident <= 1):
            raise ValueError(
                f"fix_confident: a probability in (0, 1] for the visual task, got {fix_confident}"
            )
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding: expected one of {ENCODINGS}, got {encoding!r}")
        if costs not in COSTS:
            raise ValueError(f"costs: expected one of {COSTS}, got {costs!r}")
        if costs == "log" and not visual:
            raise ValueError("costs 'log' needs the visual task (symbolic givens are one-hot)")
        self.size = size
        self.encoding = encoding
        self.costs = costs
        self.fix_confident = fix_confident
        self.fix_retries = 0  # later solves made by fix_confident's decode (see forward)
        bonus = log_fill_bonus(size) if costs == "log" else fill_bonus(size)
        self.eps = bonus if encoding == "packing" else 0.0
        self.cnn = DigitCNN(size) if visual else None
        n = num_vars(size)
        if rules is None and encoding == "bands":
            self.constraints = EqualityBands(num_constraints, n, band_margin, generator)
        elif rules is None:
            self.constraints = LearnableConstraints(num_constraints, n, generator=generator)
        else:
            self.constraints = FixedConstraints(*rules)
        self.ilp = ILPLayer(0.0, 1.0, **layer_options)

    def givens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``g (B, s^3)``: one-hot givens, or the CNN's digit probabilities at given cells
        (with ``costs == "log"``: their logarithms, clipped at ``-LOG_FLOOR``; 0 at blanks)."""
        if self.cnn is None:
            return batch["givens"]
        images, given = batch["images"], batch["given"]
        B, cells = given.shape
        logits = self.cnn(images.reshape(B * cells, 8, 8))
        if getattr(self, "costs", "probs") == "log":
            g = torch.log_softmax(logits, -1).clamp(min=-LOG_FLOOR)
        else:
            g = torch.softmax(logits, -1)
        return (g.reshape(B, cells, self.size) * given.unsqueeze(-1)).reshape(B, -1)

    def forward(self, batch: dict[str, torch.Tensor], return_info: bool = False):
        g = self.givens(batch)
        c = -(g + self.eps)
        A, b = self.constraints()
        if self.fix_confident is None or self.training:
            return self.ilp(c.double(), A, b, return_info=return_info)
        probs = (g.exp() if self.costs == "log" else g).reshape(len(g), -1, self.size)
        y, info = self._decode_fixed(c.double(), A, b, probs, batch["given"])
        return (y, info) if return_info else y

    def _decode_fixed(self, c, A, b, probs, given):
        """``fix_confident``'s decode: solve with the confident givens fixed; an instance
        whose fixed ILP is infeasible (a confidently misread given) is solved again with
        the threshold ten times nearer 1, at most ``FIX_RETRIES`` times (counted in
        ``fix_retries``)."""
        threshold, todo = self.fix_confident, torch.arange(len(c))
        y = info = None
        for attempt in range(FIX_RETRIES + 1):
            A_eq, b_eq = confident_rows(probs[todo], given[todo], threshold)
            y_k, info_k = self.ilp(
                c[todo], A, b, return_info=True, A_eq=A_eq.double(), b_eq=b_eq.double()
            )
            if y is None:
                y, info = y_k.clone(), type(info_k)(*(_clone(v) for v in info_k))
            else:
                y[todo] = y_k
                for mine, theirs in zip(info, info_k):
                    if mine is not None:
                        mine[todo] = theirs
            again = info_k.infeasible.nonzero()[:, 0]
            if attempt == FIX_RETRIES or len(again) == 0:
                return y, info
            todo = todo[again]
            self.fix_retries += len(todo)
            threshold = 1.0 - (1.0 - threshold) / 10


def _clone(value: torch.Tensor | None) -> torch.Tensor | None:
    return None if value is None else value.clone()


def confident_rows(
    probs: torch.Tensor, given: torch.Tensor, threshold: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Equality rows that fix each given cell read with probability ``>= threshold`` to its
    most likely digit: ``A_eq (B, 2 s^2, s^3)``, ``b_eq (B, 2 s^2)``.

    ``probs (B, s^2, s)``: the digit probabilities per cell; ``given (B, s^2)``: 1 at given
    cells. Row ``k`` is ``y[k, d] = 1`` for the cell's most likely digit ``d``, row
    ``s^2 + k`` puts the cell's other digits' sum at 0 (variables cell-major,
    ``y[k * s + d]``); at a cell left to the solver both rows are all zero (``0 = 0``).
    """
    B, cells, s = probs.shape
    top, digit = probs.max(-1)
    fixed = ((given > 0) & (top >= threshold)).to(probs.dtype)[..., None]
    pick = nn.functional.one_hot(digit, s).to(probs.dtype) * fixed
    eye = torch.eye(cells, dtype=probs.dtype)[None, :, :, None]

    def per_cell(coefficients: torch.Tensor) -> torch.Tensor:  # (B, cells, s) -> rows
        return (eye * coefficients[:, :, None, :]).reshape(B, cells, cells * s)

    A_eq = torch.cat([per_cell(pick), per_cell(fixed - pick)], 1)
    b_eq = torch.cat([fixed[..., 0], torch.zeros_like(fixed[..., 0])], 1)
    return A_eq, b_eq


class SudokuMLP(nn.Module):
    """The neural baseline without an ILP: an MLP from the puzzle to each cell's digit.

    Input: the givens' one-hot ``(B, s^3)`` (symbolic) or the CNN's probabilities at given
    cells (visual, the same ``DigitCNN``). Output ``forward``: logits ``(B, s^2, s)``;
    ``predict``: the one-hot points ``(B, s^3)`` of each cell's most likely digit.
    """

    def __init__(self, size: int, hidden: int = 512, visual: bool = False) -> None:
        super().__init__()
        self.size = size
        self.cnn = DigitCNN(size) if visual else None
        n = num_vars(size)
        self.net = nn.Sequential(
            nn.Linear(n, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, n),
        )

    givens = SudokuCombOptNet.givens

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(self.givens(batch).float()).reshape(-1, self.size**2, self.size)

    def predict(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        digit = self(batch).argmax(-1)
        return nn.functional.one_hot(digit, self.size).reshape(digit.shape[0], -1)
