"""The models: CombOptNet with learned rules (symbolic and visual), and the MLP baseline.

The CombOptNet models map a batch of puzzles to ``(B, s^3)`` points (see ``ilp``), the
ILP's exact answers; the MLP's ``predict`` gives its points. The CombOptNet models learn ``m`` constraints that do not depend
on the puzzle (the rules, the paper's parametrization: ``LearnableConstraints``) and take
their costs from the puzzle, ``c = -(g + eps)`` (``ilp.given_costs``): ``g`` is the givens'
one-hot (symbolic) or, for each given cell, a small CNN's digit probabilities of its image
(visual; blanks are known, as in the SATNet benchmark). The ILP is solved exactly.
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


class SudokuCombOptNet(nn.Module):
    """CombOptNet for ``s x s`` Sudoku: ``forward(batch) -> y (B, s^3)``.

    ``batch`` is a dict with ``"givens"`` ``(B, s^3)`` (the one-hot of the given digits,
    symbolic) or ``"images"`` ``(B, s^2, 8, 8)`` and ``"given"`` ``(B, s^2)`` booleans
    (visual). The constraints are ``LearnableConstraints`` (the paper's origin
    parametrization and initialisation) or, with ``rules``, known ``(A, b)`` (then
    ``num_constraints`` is ignored). Keyword options go to ``ILPLayer`` (``solver``,
    ``tau``, ...).
    """

    def __init__(
        self,
        size: int,
        num_constraints: int,
        visual: bool = False,
        rules: tuple[np.ndarray, np.ndarray] | None = None,
        generator: torch.Generator | None = None,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        self.size = size
        self.eps = fill_bonus(size)
        self.cnn = DigitCNN(size) if visual else None
        if rules is None:
            n = num_vars(size)
            self.constraints = LearnableConstraints(num_constraints, n, generator=generator)
        else:
            self.constraints = FixedConstraints(*rules)
        self.ilp = ILPLayer(0.0, 1.0, **layer_options)

    def givens(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``g (B, s^3)``: one-hot givens, or the CNN's digit probabilities at given cells."""
        if self.cnn is None:
            return batch["givens"]
        images, given = batch["images"], batch["given"]
        B, cells = given.shape
        probs = torch.softmax(self.cnn(images.reshape(B * cells, 8, 8)), -1)
        return (probs.reshape(B, cells, self.size) * given.unsqueeze(-1)).reshape(B, -1)

    def forward(self, batch: dict[str, torch.Tensor], return_info: bool = False):
        c = -(self.givens(batch) + self.eps)
        A, b = self.constraints()
        return self.ilp(c.double(), A, b, return_info=return_info)


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
