"""The paper's training protocol for learning constraints from ``(c, y*)`` pairs (Table 2).

Adam (lr 5e-4), batch 8, MSE between solutions normalised to ``[-0.5, 0.5]^n``, cost
vectors normalised to unit length (``c / ||c||``), exact-match accuracy ``y == y*``. The
epoch reported is the one with the best accuracy on a validation split carved from the
training data; the test split is evaluated once, with that epoch's weights.

A model is any ``nn.Module`` mapping normalised costs ``(B, n)`` to solutions ``(B, n)`` in
the box's own coordinates. If it has a ``predict(c) -> y`` method, that gives the integer
points scored for accuracy (e.g. rounding of a relaxation); otherwise ``forward``'s output
rounded to the nearest integer is scored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from .datasets import ConstraintDataset, box_only_solutions, exact_match
from .progress import progress_bar


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters (defaults: the paper's Table 2 for Random Constraints and WSC)."""

    epochs: int = 100
    lr: float = 5e-4
    batch_size: int = 8
    val_fraction: float = 0.1
    eval_batch_size: int = 250
    seed: int = 0
    progress: bool = True  # on a terminal, a bar per epoch with the running loss and accuracy
    verbose: bool = True  # one summary line per epoch

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr: must be positive, got {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction: must lie in (0, 1), got {self.val_fraction}")


@dataclass
class TrainResult:
    """What one training run produced. Accuracies are fractions in ``[0, 1]``."""

    test_accuracy: float
    box_only_accuracy: float
    best_epoch: int  # 1-based; 0 means the initialisation was never beaten
    best_val_accuracy: float
    wall_seconds: float
    val_accuracy: list[float] = field(default_factory=list)  # per epoch
    train_loss: list[float] = field(default_factory=list)  # per epoch, mean over batches
    train_seconds: float = 0.0  # the training steps alone (no validation or test solves)


def normalize_costs(c: np.ndarray) -> torch.Tensor:
    """``c / ||c||`` row-wise, as a float32 tensor (rows with ``||c|| = 0`` stay 0)."""
    c = np.asarray(c, dtype=np.float64)
    norm = np.linalg.norm(c, axis=-1, keepdims=True)
    return torch.as_tensor(c / np.where(norm > 0, norm, 1.0), dtype=torch.float32)


def normalize_solutions(y: torch.Tensor, lb: float, ub: float) -> torch.Tensor:
    """Map the box ``[lb, ub]^n`` onto ``[-0.5, 0.5]^n``."""
    return (y - lb) / (ub - lb) - 0.5


def predict(model: nn.Module, c: torch.Tensor, batch_size: int) -> np.ndarray:
    """Integer predictions for normalised costs ``c (N, n)``, in chunks of ``batch_size``."""
    scorer = getattr(model, "predict", None) or model
    was_training = model.training
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(c), batch_size):
            y = scorer(c[start : start + batch_size])
            out.append(np.rint(torch.as_tensor(y).detach().cpu().double().numpy()))
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0, c.shape[-1]))


def accuracy(model: nn.Module, c: torch.Tensor, y_true: np.ndarray, batch_size: int) -> float:
    """Exact-match accuracy ``mean(y == y*)`` of the model's integer predictions."""
    return float(exact_match(predict(model, c, batch_size), y_true).mean())


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the model's dense state (sparse solver buffers are constants, left out)."""
    return {
        k: v.detach().clone() for k, v in model.state_dict().items() if v.layout == torch.strided
    }


def _progress(iterable, enabled: bool, desc: str):
    return progress_bar(
        iterable, enabled=enabled, desc=desc, leave=False, dynamic_ncols=True, mininterval=0.5
    )


def finish_run(
    model: nn.Module,
    data: ConstraintDataset,
    config: TrainConfig,
    result: TrainResult,
    best_state: dict,
    best_epoch: int,
    best_val: float,
    train_seconds: float,
    start: float,
) -> TrainResult:
    """End a training run: ``model`` back at its best-validation weights, scored once on
    the test split; ``result`` completed (``start``: the run's ``perf_counter()``)."""
    model.load_state_dict(best_state, strict=False)
    result.best_epoch, result.best_val_accuracy = best_epoch, best_val
    result.test_accuracy = accuracy(
        model, normalize_costs(data.c_test), data.y_test, config.eval_batch_size
    )
    result.box_only_accuracy = float(
        exact_match(box_only_solutions(data.c_test, data.lb, data.ub), data.y_test).mean()
    )
    result.train_seconds = train_seconds
    result.wall_seconds = time.perf_counter() - start
    return result


def train(
    model: nn.Module, data: ConstraintDataset, config: TrainConfig = TrainConfig()
) -> TrainResult:
    """Train ``model`` on ``data`` with the paper's protocol; return the best-epoch result.

    The model's weights are left at the best-validation epoch when this returns. The
    running "train acc" of the progress bar scores ``forward``'s output on the training
    batches, rounded to the nearest integer (for relaxations that is not ``predict``).
    """
    start = time.perf_counter()
    torch.manual_seed(config.seed)
    c_fit, y_fit, c_val, y_val = data.validation_split(config.val_fraction, config.seed)
    c_fit_t, c_val_t = normalize_costs(c_fit), normalize_costs(c_val)
    y_fit_t = torch.as_tensor(y_fit, dtype=torch.float32)
    target = normalize_solutions(y_fit_t, data.lb, data.ub)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    order_rng = torch.Generator().manual_seed(config.seed)

    best_val = accuracy(model, c_val_t, y_val, config.eval_batch_size)
    best_epoch, best_state = 0, _snapshot(model)
    result = TrainResult(0.0, 0.0, 0, best_val, 0.0)
    train_seconds = 0.0
    for epoch in range(1, config.epochs + 1):
        step_start = time.perf_counter()
        model.train()
        order = torch.randperm(len(c_fit_t), generator=order_rng)
        batches = _progress(
            range(0, len(order), config.batch_size),
            config.progress,
            f"epoch {epoch}/{config.epochs}",
        )
        loss_sum, hits, seen, steps = 0.0, 0, 0, 0
        for s in batches:
            idx = order[s : s + config.batch_size]
            y = model(c_fit_t[idx])
            loss = ((normalize_solutions(y, data.lb, data.ub) - target[idx]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item()
            steps += 1
            hits += int(exact_match(y.detach().double().numpy(), y_fit[idx.numpy()]).sum())
            seen += len(idx)
            if config.progress:
                batches.set_postfix(
                    loss=f"{loss_sum / steps:.4f}",
                    acc=f"{hits / seen:.3f}",
                    best_val=f"{best_val:.3f}",
                )
        train_seconds += time.perf_counter() - step_start
        val = accuracy(model, c_val_t, y_val, config.eval_batch_size)
        result.val_accuracy.append(val)
        result.train_loss.append(loss_sum / max(steps, 1))
        if val > best_val:
            best_val, best_epoch = val, epoch
            best_state = _snapshot(model)
        if config.verbose:
            print(
                f"epoch {epoch:3d}/{config.epochs}  loss {loss_sum / max(steps, 1):.4f}  "
                f"train acc {hits / max(seen, 1):.3f}  val acc {val:.3f}",
                flush=True,
            )

    return finish_run(
        model, data, config, result, best_state, best_epoch, best_val, train_seconds, start
    )
