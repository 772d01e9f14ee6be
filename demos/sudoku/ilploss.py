"""Solver-free training of the Sudoku rules with ILP-Loss (Nandwani et al., NeurIPS 2022).

The same ``SudokuCombOptNet`` as the exact-solver run, the same protocol (``train.train``:
splits, batches, validation choice of the epoch by exact solves, one test): only the loss
of a step differs. Each step draws negatives around the batch's gold solutions
(``combopt_core.negatives.NegativeSampler``: every bit flip, random 2-, 3- and 4-bit flips
and one rounded projection onto each learned row) and applies
``combopt_torch.ilploss.ILPLoss`` to the learned rows ``A y <= b`` and the costs
``c = -(g + eps)``; no ILP is solved in training.

Costs: symbolic costs are known (no gradient), so only negatives no costlier than the gold
point count: with the fill bonus ``eps`` those keep every given and fill at least as many
cells, the points the rules must cut off. Visual costs come from the CNN; they are learned
jointly (the cost row joins the loss, as in ILP-Loss's visual Sudoku), so a negative is
either cut off or made costlier. With ``cnn_loss="cells"`` the two are learned apart in the
same steps: the rules from the given digits read off the solved board (the symbolic costs),
the CNN by cross-entropy of each given cell's image against that digit
(``train.GivenDigits``), with its own Adam at ``cnn_lr`` (constant).

Schedules (as ILP-Loss): the learning rate is cyclic, rising from 0 to ``lr`` over
``half_cycle`` epochs and falling back; the soft-min temperature starts at ``temperature``
and drops 10x after ``patience`` validations without a new best.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from combopt_torch.ilploss import ILPLoss, NegativeSampler
from demos.ilploss_training import ILPLossConfig, TemperatureDrop, lr_schedule

from .ilp import fill_bonus
from .train import GivenDigits, Objective

CNN_LOSSES = ("ilp", "cells")


@dataclass(frozen=True)
class SudokuILPLoss:
    """ILP-Loss settings for Sudoku: the shared ``ILPLossConfig`` (margins, temperature,
    schedules; its ``val_every`` is unused here, see ``Protocol.val_every``) and the
    negatives drawn per gold point (``per_hop`` random points per k-hop distance)."""

    config: ILPLossConfig = field(
        default_factory=lambda: ILPLossConfig(temperature=1.0, half_cycle=2)
    )
    hops: tuple[int, ...] = (2, 3, 4)
    per_hop: int = 64
    projections: bool = True  # one rounded projection onto each learned row
    flips: bool = True  # every single bit flip
    cnn_loss: str = "ilp"  # visual: "ilp", the CNN's costs join the loss; "cells", the CNN
    # learns by cross-entropy on the given cells' digits of the solved board, the rules from
    # those digits as symbolic costs
    cnn_lr: float = 1e-3  # "cells": the CNN's own Adam learning rate (constant)
    cnn_shift: bool = False  # "cells": random 1-pixel shifts of the training images

    def __post_init__(self) -> None:
        if self.cnn_loss not in CNN_LOSSES:
            raise ValueError(f"cnn_loss: expected one of {CNN_LOSSES}, got {self.cnn_loss!r}")
        if not self.cnn_lr > 0:
            raise ValueError(f"cnn_lr: must be positive, got {self.cnn_lr}")

    def sampler(self) -> NegativeSampler:
        return NegativeSampler(
            neighbours=self.flips,
            hops=self.hops,
            per_hop=self.per_hop,
            projections=self.projections,
        )


class ILPLossObjective(Objective):
    """The ILP-Loss step on a ``SudokuCombOptNet``: no solver; ``infeasible`` is ``None``."""

    def __init__(self, settings: SudokuILPLoss | None = None, seed: int = 0) -> None:
        settings = SudokuILPLoss() if settings is None else settings
        c = settings.config
        self.settings = settings
        self.criterion = ILPLoss(
            0.0, 1.0, settings.sampler(),
            pos_margin=c.pos_margin, neg_margin=c.neg_margin,
            temperature=c.temperature, seed=seed,
        )  # fmt: skip
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self.temperature = TemperatureDrop(self.criterion, c.patience)
        self.digits = GivenDigits(settings.cnn_shift, seed)
        self.cnn_optimizer: torch.optim.Optimizer | None = None
        self.last_cnn_loss: float | None = None

    def start(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> None:
        self.scheduler = lr_schedule(optimizer, self.settings.config, steps_per_epoch)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], gold: torch.Tensor):
        if self.settings.cnn_loss == "cells" and model.cnn is not None:
            self._cnn_step(model, batch, gold)
            given = batch["given"].repeat_interleave(model.size, 1).to(gold.dtype)
            eps = fill_bonus(model.size) if model.encoding == "packing" else 0.0
            c = -(gold * given + eps).double()  # the given digits, read off the solved board
        else:
            c = -(model.givens(batch) + model.eps).double()
        A, b = model.constraints()
        return self.criterion(A, b, c, gold), None

    def _cnn_step(self, model: nn.Module, batch, gold) -> None:
        """One step of the CNN's own optimiser on its cross-entropy; the CNN's gradients
        are cleared after it, so the main optimiser (the rules') leaves the CNN alone."""
        if self.cnn_optimizer is None:
            self.cnn_optimizer = torch.optim.Adam(model.cnn.parameters(), lr=self.settings.cnn_lr)
        self.cnn_optimizer.zero_grad()
        loss = self.digits.cnn_loss(model, batch, gold)
        loss.backward()
        self.cnn_optimizer.step()
        self.cnn_optimizer.zero_grad()
        self.last_cnn_loss = loss.item()

    def stepped(self) -> None:
        if self.scheduler is not None:
            self.scheduler.step()

    def validated(self, improved: bool) -> None:
        self.temperature.validated(improved)

    def describe(self) -> str:
        t = self.criterion.last_terms
        terms = "  ".join(f"{k} {v:.4f}" for k, v in t.items())
        cnn = "" if self.last_cnn_loss is None else f"  CNN cross-entropy {self.last_cnn_loss:.4f}"
        return f"  [{terms}]  temperature {self.criterion.temperature:.2g}{cnn}"
