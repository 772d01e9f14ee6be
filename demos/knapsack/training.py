"""Training loop shared by the three KNAPSACK models, with validation-based selection.

Loss: MSE between the model's solution and the label, both normalised from ``{0, 1}`` to
``{-0.5, 0.5}`` (the paper's convention), unless the model brings its own
``training_loss(x, y)`` (ILP-Loss: solver-free, from the labels and sampled negatives). Adam, mini-batches of ``batch_size``; optionally one step decay (the learning rate is
multiplied by ``lr_decay`` after ``lr_decay_epoch`` epochs). After every
epoch the validation exact-match accuracy is measured; the state of the best epoch (first
one on ties) is kept, so the number of epochs is chosen on validation data.

Optionally (``ema_decay``) the model that is validated, kept and returned is an
exponential moving average of the parameters (Polyak averaging), updated after every
optimiser step: ``avg <- ema_decay * avg + (1 - ema_decay) * param``. Training itself is
unchanged; the average only smooths the step-to-step jitter of the selected model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..progress import progress_bar


@dataclass(frozen=True)
class TrainConfig:
    lr: float
    epochs: int
    lr_decay_epoch: int | None = None
    lr_decay: float = 0.1
    ema_decay: float | None = None
    batch_size: int = 8
    seed: int = 0
    eval_batch_size: int = 500
    progress: bool = True

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr: must be positive, got {self.lr}")
        if self.lr_decay_epoch is not None and self.lr_decay_epoch < 1:
            raise ValueError(f"lr_decay_epoch: must be at least 1, got {self.lr_decay_epoch}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay: must lie in (0, 1], got {self.lr_decay}")
        if self.ema_decay is not None and not 0 < self.ema_decay < 1:
            raise ValueError(f"ema_decay: must lie in (0, 1), got {self.ema_decay}")
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")


@dataclass
class TrainResult:
    """``history``: one dict per epoch (epoch, lr, loss, val_exact, seconds)."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val_exact: float = -1.0
    best_state: dict | None = None


def snapshot(model: nn.Module) -> dict:
    """A detached copy of ``model.state_dict()`` (``deepcopy`` fails on the sparse CSR
    buffers that cvxpylayers registers)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class ParameterAverage:
    """Exponential moving average of a model's parameters.

    ``state()`` is a full ``state_dict`` for ``load_state_dict``: the averaged parameters
    beside the model's current buffers.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.decay = decay
        self.params = {k: p.detach().clone() for k, p in model.named_parameters()}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for k, p in model.named_parameters():
            self.params[k].lerp_(p.detach(), 1.0 - self.decay)

    def state(self, model: nn.Module) -> dict:
        return {k: self.params.get(k, v).detach().clone() for k, v in model.state_dict().items()}


def normalize(y: torch.Tensor) -> torch.Tensor:
    """``{0, 1}`` solutions to ``{-0.5, 0.5}``."""
    return y - 0.5


def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 500) -> np.ndarray:
    """``(N, 10)`` uint8 selections from ``model.select`` in evaluation mode."""
    model.eval()
    parts = [
        model.select(x[i : i + batch_size]).cpu().numpy() for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(parts).astype(np.uint8)


def exact_match(selection: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.all(selection == labels, axis=1)))


def train(
    model: nn.Module,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_val: torch.Tensor | None,
    y_val: np.ndarray | None,
    config: TrainConfig,
) -> TrainResult:
    """Train ``model`` and keep its best-validation state in ``TrainResult.best_state``.

    Without validation data (``x_val=None``, a refit with fixed epochs) the final state is
    kept and ``val_exact`` is ``nan`` in the history.
    """
    if len(x_train) != len(y_train):
        raise ValueError(f"y_train: expected {len(x_train)} labels, got {len(y_train)}")
    gen = torch.Generator().manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    milestones = [config.lr_decay_epoch] if config.lr_decay_epoch is not None else []
    schedule = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=config.lr_decay)
    target = normalize(y_train.to(torch.float32))
    average = ParameterAverage(model, config.ema_decay) if config.ema_decay else None
    result = TrainResult()
    for epoch in range(1, config.epochs + 1):
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(x_train), generator=gen)
        batches = order.split(config.batch_size)
        total = 0.0
        lr = opt.param_groups[0]["lr"]
        for idx in progress_bar(
            batches, enabled=config.progress, desc=f"epoch {epoch}", leave=False
        ):
            if hasattr(model, "training_loss"):  # e.g. ILP-Loss: no solve in training
                loss = model.training_loss(x_train[idx], y_train[idx].to(torch.float32))
            else:
                y = model(x_train[idx])
                loss = nn.functional.mse_loss(normalize(y), target[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            if average is not None:
                average.update(model)
            total += float(loss.detach()) * len(idx)
        schedule.step()
        averaged = None if average is None else average.state(model)
        if x_val is None:
            val = float("nan")
        elif averaged is None:
            val = exact_match(predict(model, x_val, config.eval_batch_size), y_val)
        else:
            val = exact_match(_predict_with(model, averaged, x_val, config.eval_batch_size), y_val)
        row = {
            "epoch": epoch,
            "lr": lr,
            "loss": total / len(x_train),
            "val_exact": val,
            "seconds": time.perf_counter() - start,
        }
        result.history.append(row)
        if config.progress:
            print(
                f"  epoch {epoch:3d}  loss {row['loss']:.4f}  val exact {val:.3f}  "
                f"({row['seconds']:.0f} s)",
                flush=True,
            )
        improved = val > result.best_val_exact  # never without validation (nan)
        if improved or (x_val is None and epoch == config.epochs):
            if improved:
                result.best_val_exact = val
            result.best_epoch = epoch
            result.best_state = snapshot(model) if averaged is None else averaged
    return result


def _predict_with(model: nn.Module, state: dict, x: torch.Tensor, batch_size: int) -> np.ndarray:
    """Predictions of ``model`` with ``state`` loaded; the training state is restored."""
    training = snapshot(model)
    model.load_state_dict(state)
    try:
        return predict(model, x, batch_size)
    finally:
        model.load_state_dict(training)
