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
either cut off or made costlier.

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

from .train import Objective


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

    def start(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> None:
        self.scheduler = lr_schedule(optimizer, self.settings.config, steps_per_epoch)

    def loss(self, model: nn.Module, batch: dict[str, torch.Tensor], gold: torch.Tensor):
        c = -(model.givens(batch) + model.eps).double()
        A, b = model.constraints()
        return self.criterion(A, b, c, gold), None

    def stepped(self) -> None:
        if self.scheduler is not None:
            self.scheduler.step()

    def validated(self, improved: bool) -> None:
        self.temperature.validated(improved)

    def describe(self) -> str:
        t = self.criterion.last_terms
        terms = "  ".join(f"{k} {v:.4f}" for k, v in t.items())
        return f"  [{terms}]  temperature {self.criterion.temperature:.2g}"
