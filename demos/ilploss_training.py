"""Solver-free training of CombOptNet's constraints with ILP-Loss, under the demos' protocol.

Same splits, cost normalisation, validation choice of the epoch and exact test evaluation as
``demos.training.train`` (the paper's rule); only the training step differs: the learned
``A, b`` get ``combopt_torch.ilploss.ILPLoss`` on each batch's gold points and sampled
negatives, and no ILP is solved. The solver runs on the validation split every
``val_every`` epochs (and after the last) and once on the test split, through the model's
own ``ILPLayer``: the same exact evaluation on any backend as for the paper's rule.

Learning-rate schedule (as ILP-Loss): ``"cyclic"`` rises linearly from 0 to ``lr`` over
``half_cycle`` epochs and falls back over as many, repeatedly (a hinge with margins of 0.01
settles only when the steps shrink below the margin); ``"constant"`` keeps ``lr``.

Temperature schedule (as ILP-Loss): the soft-min temperature starts at ``temperature`` and
is divided by 10 after ``patience`` validations without a new best validation accuracy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch
from torch import nn

from combopt_torch.ilploss import ILPLoss

from .datasets import ConstraintDataset
from .training import (
    TrainConfig,
    TrainResult,
    _progress,
    _snapshot,
    accuracy,
    finish_run,
    normalize_costs,
    train,
)

SCHEDULES = ("cyclic", "constant")


@dataclass(frozen=True)
class ILPLossConfig:
    """ILP-Loss hyperparameters (defaults: the ILP-Loss authors' Random Constraints demo,
    except the starting temperature, chosen on validation splits)."""

    pos_margin: float = 0.01
    neg_margin: float = 0.01
    temperature: float = 0.1
    patience: int = 4  # validations without improvement before the temperature drops 10x
    val_every: int = 5  # epochs between validations (each solves the validation split)
    schedule: str = "cyclic"
    half_cycle: int = 10  # epochs from 0 to the peak learning rate

    def __post_init__(self) -> None:
        if self.pos_margin < 0 or self.neg_margin < 0:
            raise ValueError(
                f"pos_margin, neg_margin: must be >= 0, got {self.pos_margin}, {self.neg_margin}"
            )
        if self.temperature < 0:
            raise ValueError(f"temperature: must be >= 0, got {self.temperature}")
        if self.patience < 1 or self.val_every < 1 or self.half_cycle < 1:
            raise ValueError(
                f"patience, val_every, half_cycle: must be at least 1, got {self.patience}, "
                f"{self.val_every}, {self.half_cycle}"
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule: expected one of {SCHEDULES}, got {self.schedule!r}")


def lr_schedule(
    optimizer: torch.optim.Optimizer, options: ILPLossConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """ILP-Loss's learning-rate schedule for ``optimizer`` (stepped once per training step):
    ``"cyclic"`` from 0 up to the optimizer's learning rate over ``options.half_cycle``
    epochs and back, repeatedly; ``None`` for ``"constant"``."""
    if options.schedule != "cyclic":
        return None
    return torch.optim.lr_scheduler.CyclicLR(
        optimizer, base_lr=0.0, max_lr=optimizer.param_groups[0]["lr"],
        step_size_up=options.half_cycle * steps_per_epoch, cycle_momentum=False,
    )  # fmt: skip


class TemperatureDrop:
    """ILP-Loss's temperature schedule: ``criterion.temperature`` is divided by 10 after
    ``patience`` validations in a row without a new best."""

    def __init__(self, criterion: ILPLoss, patience: int) -> None:
        self.criterion, self.patience, self.stale = criterion, patience, 0

    def validated(self, improved: bool) -> None:
        self.stale = 0 if improved else self.stale + 1
        if self.stale >= self.patience:
            self.criterion.temperature /= 10
            self.stale = 0


def train_ilploss(
    model: nn.Module,
    data: ConstraintDataset,
    config: TrainConfig | None = None,
    options: ILPLossConfig | None = None,
) -> TrainResult:
    """Train ``model.constraints`` (a ``CombOptNet``'s) solver-free; return the best-epoch result.

    ``TrainResult.train_seconds`` counts the training steps only (no solver call happens
    there); ``wall_seconds`` adds the validation and test solves. The model's weights are
    left at the best-validation epoch. ``None`` configs take the defaults.
    """
    config = TrainConfig() if config is None else config
    options = ILPLossConfig() if options is None else options
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    c_fit, y_fit, c_val, y_val = data.validation_split(config.val_fraction, config.seed)
    c_fit_t, c_val_t = normalize_costs(c_fit), normalize_costs(c_val)
    y_fit_t = torch.as_tensor(y_fit, dtype=torch.float32)
    constraints = model.constraints
    criterion = ILPLoss(
        data.lb, data.ub,
        pos_margin=options.pos_margin, neg_margin=options.neg_margin,
        temperature=options.temperature, seed=config.seed,
    )  # fmt: skip
    # fused: one kernel for the update of all parameters (the same Adam; its per-tensor
    # loop cost more than the update itself at these sizes)
    optimizer = torch.optim.Adam(constraints.parameters(), lr=config.lr, fused=True)
    scheduler = lr_schedule(optimizer, options, -(-(len(c_fit_t)) // config.batch_size))
    temperature = TemperatureDrop(criterion, options.patience)
    order_rng = torch.Generator().manual_seed(config.seed)

    best_val = accuracy(model, c_val_t, y_val, config.eval_batch_size)
    best_epoch, best_state = 0, _snapshot(model)
    result = TrainResult(0.0, 0.0, 0, best_val, 0.0)
    train_seconds = 0.0
    for epoch in range(1, config.epochs + 1):
        step_start = time.perf_counter()
        order = torch.randperm(len(c_fit_t), generator=order_rng)
        batches = _progress(
            range(0, len(order), config.batch_size),
            config.progress,
            f"epoch {epoch}/{config.epochs}",
        )
        loss_sum, steps = 0.0, 0
        for s in batches:
            idx = order[s : s + config.batch_size]
            loss = criterion(*constraints(), c_fit_t[idx], y_fit_t[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            loss_sum += loss.item()
            steps += 1
            if config.progress:
                batches.set_postfix(loss=f"{loss_sum / steps:.4f}", best_val=f"{best_val:.3f}")
        train_seconds += time.perf_counter() - step_start
        result.train_loss.append(loss_sum / max(steps, 1))
        if epoch % options.val_every and epoch != config.epochs:
            continue
        val = accuracy(model, c_val_t, y_val, config.eval_batch_size)
        result.val_accuracy.append(val)
        improved = val > best_val
        if improved:
            best_val, best_epoch = val, epoch
            best_state = _snapshot(model)
        temperature.validated(improved)
        if config.verbose:
            print(
                f"epoch {epoch:3d}/{config.epochs}  loss {loss_sum / max(steps, 1):.4f}  "
                f"val acc {val:.3f}  temperature {criterion.temperature:.2g}",
                flush=True,
            )

    return finish_run(
        model, data, config, result, best_state, best_epoch, best_val, train_seconds, start
    )


def train_combined(
    model: nn.Module,
    data: ConstraintDataset,
    config: TrainConfig,
    options: ILPLossConfig,
    warmup_lr: float,
    warmup_epochs: int,
) -> TrainResult:
    """``warmup_epochs`` of ILP-Loss at ``warmup_lr``, then the rest of ``config.epochs`` with
    the paper's rule (``demos.training.train`` at ``config.lr``), from the warm-up's best
    validation state; the paper's rule keeps that state unless an epoch beats it.

    Epochs are counted over both phases (``best_epoch`` 1..``config.epochs``); times add up.
    """
    if not 1 <= warmup_epochs < config.epochs:
        raise ValueError(
            f"warmup_epochs: must lie in [1, epochs - 1] = [1, {config.epochs - 1}], "
            f"got {warmup_epochs}"
        )
    warm = train_ilploss(model, data, replace(config, epochs=warmup_epochs, lr=warmup_lr), options)
    rule = train(model, data, replace(config, epochs=config.epochs - warmup_epochs))
    if rule.best_epoch:
        rule.best_epoch += warmup_epochs
    else:
        rule.best_epoch = warm.best_epoch
    rule.val_accuracy = warm.val_accuracy + rule.val_accuracy
    rule.train_loss = warm.train_loss + rule.train_loss
    rule.train_seconds += warm.train_seconds
    rule.wall_seconds += warm.wall_seconds
    return rule


__all__ = ["ILPLossConfig", "TemperatureDrop", "lr_schedule", "train_combined", "train_ilploss"]
