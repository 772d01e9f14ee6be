"""Training and evaluation of the Sudoku models.

Protocol: Adam, batch 8, the epoch kept is the one with the best validation board accuracy,
ties broken by validation cell accuracy (validation carved from the training puzzles); the
test split is scored once, with that epoch's weights. The loss of a step is an
``Objective``'s: CombOptNet, the paper's MSE between solutions normalised to
``[-0.5, 0.5]^n`` (``PaperRule``); the MLP baseline, cross-entropy of each cell's digit
(``CellCrossEntropy``); solver-free ILP-Loss lives in ``ilploss``.

Metrics: board accuracy (every cell right) and cell accuracy over the blank cells. A point
that is no grid (a cell with no digit or several) is wrong at those cells.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from combopt_core import Status
from demos.progress import progress_bar

from . import digits
from .data import SudokuSet
from .ilp import decode, one_hot


@dataclass(frozen=True)
class Protocol:
    """Hyperparameters of one training run."""

    epochs: int = 20
    lr: float = 5e-4
    batch_size: int = 8
    eval_batch_size: int = 100
    seed: int = 0
    max_seconds: float | None = None  # stop after the step that passes this training time
    # (forward + backward); the partial epoch is then not validated
    progress: bool = True  # a bar per epoch on a terminal
    verbose: bool = True  # one line per epoch
    val_every: int = 1  # epochs between validations (the last epoch is always validated)
    val_puzzles: int | None = None  # validate on the first this many validation puzzles
    val_time_limit: float | None = None  # seconds per validation solve (None: the layer's);
    # a solve that hits it scores as wrong and is counted apart
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled weight decay

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "eval_batch_size", "val_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be at least 1, got {getattr(self, name)}")
        if self.lr <= 0:
            raise ValueError(f"lr: must be positive, got {self.lr}")
        if self.val_puzzles is not None and self.val_puzzles < 1:
            raise ValueError(f"val_puzzles: must be at least 1 or None, got {self.val_puzzles}")
        if self.val_time_limit is not None and not self.val_time_limit > 0:
            raise ValueError(f"val_time_limit: must be positive, got {self.val_time_limit}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: must be >= 0, got {self.weight_decay}")
        if self.max_seconds is not None and not self.max_seconds > 0:
            raise ValueError(f"max_seconds: must be positive or None, got {self.max_seconds}")


@dataclass
class RunResult:
    """One training run. Accuracies are fractions; seconds are wall-clock."""

    best_epoch: int  # 0: the initialisation was never beaten
    val_board: float
    test_board: float
    test_cell: float
    seconds_forward: float  # training forward passes: for CombOptNet, the ILP solves
    seconds_backward: float  # loss.backward(): for CombOptNet, the gradient rule
    seconds_rest: float  # optimiser steps, batching (validation: seconds_validation)
    val_curve: list[float] = field(default_factory=list)  # board accuracy per epoch
    loss_curve: list[float] = field(default_factory=list)
    infeasible_share: list[float] = field(default_factory=list)  # per epoch, CombOptNet only
    step_forward: list[float] = field(default_factory=list)  # seconds of each training forward
    steps: int = 0  # training steps taken
    stopped: bool = False  # training stopped at max_seconds before the last epoch ended
    last_constraints: tuple[np.ndarray, np.ndarray] | None = None  # (A, b) after the last step
    seconds_validation: float = 0.0  # predicting the validation split (exact solves for ILPs)
    val_cell_curve: list[float] = field(default_factory=list)  # cell accuracy per validation
    val_time_outs: list[int] = field(default_factory=list)  # validation solves at their limit

    @property
    def seconds(self) -> float:
        parts = (self.seconds_forward, self.seconds_backward, self.seconds_rest)
        return sum(parts) + self.seconds_validation


def encode(data: SudokuSet, image_index: np.ndarray | None = None) -> dict[str, torch.Tensor]:
    """Model inputs of a set: ``givens (N, s^3)`` one-hot, and with ``image_index``
    (``digits.draw_images``) ``images (N, s^2, 8, 8)``, ``given (N, s^2)`` and the
    ``image_index (N, s, s)`` itself (for the figures)."""
    out = {"givens": torch.as_tensor(one_hot(data.puzzles))}
    if image_index is not None:
        n = len(data)
        out["images"] = torch.as_tensor(digits.images(image_index)).reshape(n, -1, 8, 8)
        out["given"] = torch.as_tensor(image_index.reshape(n, -1) >= 0, dtype=torch.float32)
        out["image_index"] = torch.as_tensor(image_index)
    return out


def _take(batch: dict[str, torch.Tensor], idx) -> dict[str, torch.Tensor]:
    return {k: v[idx] for k, v in batch.items()}


def predict(
    model: nn.Module,
    inputs: dict[str, torch.Tensor],
    batch_size: int,
    progress: bool = False,
    desc: str = "puzzles",
) -> tuple[np.ndarray, int]:
    """``(grids (N, s, s), time-outs)``: the decoded predictions in chunks of ``batch_size``,
    and for an ILP model how many of its solves ended at the layer's time limit. A solve
    without a proven optimum (time limit, no point, error) decodes as an empty grid, so it
    never scores as right: an unproven incumbent is no answer of the ILP. ``progress``: a
    bar over the puzzles (``desc``) on a terminal."""
    was_training = model.training
    model.eval()
    out, time_outs = [], 0
    n = len(next(iter(inputs.values())))
    bar = progress_bar(total=n, enabled=progress, desc=desc, unit="puzzle", leave=False)
    with torch.no_grad(), bar:
        for s in range(0, n, batch_size):
            chunk = _take(inputs, slice(s, s + batch_size))
            if hasattr(model, "ilp"):
                y, info = model(chunk, return_info=True)
                time_outs += int((info.status == int(Status.TIME_LIMIT)).sum())
                y = y.double() * (info.status == int(Status.OPTIMAL)).double()[:, None]
            else:
                y = model.predict(chunk)
            out.append(decode(y.double().numpy(), model.size))
            bar.update(len(y))
    model.train(was_training)
    return np.concatenate(out), time_outs


@contextlib.contextmanager
def limited(model: nn.Module, seconds: float | None) -> Iterator[None]:
    """Context: the model's ILP layer solves with ``seconds`` per instance (``None``: as it
    is)."""
    layer = getattr(model, "ilp", None) if seconds is not None else None
    if layer is None:
        yield
        return
    saved = layer.options
    layer.options = replace(saved, time_limit=seconds)
    try:
        yield
    finally:
        layer.options = saved


def scores(grids: np.ndarray, data: SudokuSet) -> tuple[float, float]:
    """``(board accuracy, cell accuracy over blanks)`` of predicted ``grids``."""
    right = grids == data.solutions
    blank = data.puzzles == 0
    return float(right.all((1, 2)).mean()), float(right[blank].mean())


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {
        k: v.detach().clone() for k, v in model.state_dict().items() if v.layout == torch.strided
    }


class Objective:
    """The loss of one training step, and hooks for what changes during a run.

    ``loss(model, batch, gold)`` gets a batch of model inputs and its gold one-hot points
    ``(B, s^3)`` and returns ``(loss, infeasible)``: ``infeasible`` counts the batch's
    training ILPs without a feasible point (``None`` when no ILP is solved).
    """

    def start(self, optimizer: torch.optim.Optimizer, steps_per_epoch: int) -> None:
        """Called once before the first step."""

    def loss(
        self, model: nn.Module, batch: dict[str, torch.Tensor], gold: torch.Tensor
    ) -> tuple[torch.Tensor, int | None]:
        raise NotImplementedError

    def stepped(self) -> None:
        """Called after each optimiser step."""

    def validated(self, improved: bool) -> None:
        """Called after each validation, ``improved`` when it set a new best."""

    def describe(self) -> str:
        """Extra text for the per-epoch log line."""
        return ""


class PaperRule(Objective):
    """CombOptNet's training: the exact ILP solved, MSE to the gold point (the paper's)."""

    def loss(self, model, batch, gold):
        y, info = model(batch, return_info=True)
        return ((y - gold) ** 2).mean(), int(info.infeasible.sum())  # (y - 1/2) - (y* - 1/2)


class GivenDigits(Objective):
    """The visual CNN's training from solved boards alone: cross-entropy of each given
    cell's image against that cell's digit in the gold (solved) board, the supervision of
    the standard visual-Sudoku set-up (a given's digit is in the solved board); no ILP is
    solved. ``shift``: each image moved by a random pixel in ``-1..1`` per axis
    (``digits.shift``)."""

    def __init__(self, shift: bool = False, seed: int = 0) -> None:
        self.shift = shift
        self.generator = torch.Generator().manual_seed(seed)

    def cnn_loss(self, model: nn.Module, batch, gold) -> torch.Tensor:
        given = batch["given"].reshape(-1) > 0
        images = batch["images"].reshape(-1, 8, 8)[given]
        if self.shift:
            images = digits.shift(images, self.generator)
        labels = gold.reshape(-1, model.size).argmax(-1)[given]
        return nn.functional.cross_entropy(model.cnn(images), labels)

    def loss(self, model, batch, gold):
        return self.cnn_loss(model, batch, gold), None


class CellCrossEntropy(Objective):
    """The MLP baseline's training: cross-entropy of each cell's digit."""

    def loss(self, model, batch, gold):
        labels = gold.reshape(gold.shape[0], -1, model.size).argmax(-1)
        return nn.functional.cross_entropy(model(batch).transpose(1, 2), labels), None


def train(
    model: nn.Module,
    fit: tuple[SudokuSet, dict[str, torch.Tensor]],
    val: tuple[SudokuSet, dict[str, torch.Tensor]],
    protocol: Protocol = Protocol(),
    log=print,
    objective: Objective | None = None,
) -> RunResult:
    """Train ``model`` (a ``SudokuCombOptNet`` or ``SudokuMLP``); weights end at the best
    validation epoch (the caller scores the test split once, with ``predict``). ``fit``,
    ``val``: each a set with its ``encode``-d inputs. ``objective``: default ``PaperRule``
    for an ILP model, ``CellCrossEntropy`` for the MLP. The result's test fields stay 0."""
    torch.manual_seed(protocol.seed)
    fit_set, fit_in = fit
    is_ilp = hasattr(model, "ilp")
    if objective is None:
        objective = PaperRule() if is_ilp else CellCrossEntropy()
    target = torch.as_tensor(one_hot(fit_set.solutions))
    if protocol.weight_decay > 0:
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=protocol.lr, weight_decay=protocol.weight_decay
        )
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=protocol.lr)
    objective.start(optimizer, -(-len(fit_set) // protocol.batch_size))
    order_rng = torch.Generator().manual_seed(protocol.seed)
    t_fwd = t_bwd = t_rest = t_val = 0.0

    val_set, val_in = val
    if protocol.val_puzzles is not None and protocol.val_puzzles < len(val_set):
        val_set = val_set.subset(np.arange(protocol.val_puzzles))
        val_in = _take(val_in, slice(0, protocol.val_puzzles))
    val_outs = [0]

    def validate() -> tuple[float, float]:
        """(board, cell) accuracy: compared as a pair, boards first."""
        nonlocal t_val
        t = time.perf_counter()
        with limited(model, protocol.val_time_limit):
            grids, val_outs[0] = predict(
                model, val_in, protocol.eval_batch_size, protocol.progress, "validation"
            )
        out = scores(grids, val_set)
        t_val += time.perf_counter() - t
        return out

    start = time.perf_counter()
    best_val, best_epoch, best_state = validate(), 0, _snapshot(model)
    result = RunResult(0, best_val[0], 0.0, 0.0, 0.0, 0.0, 0.0)
    for epoch in range(1, protocol.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(len(fit_set), generator=order_rng)
        steps = range(0, len(order), protocol.batch_size)
        bar = progress_bar(steps, enabled=protocol.progress, desc=f"epoch {epoch}", leave=False)
        loss_sum, infeasible, seen = 0.0, None, 0
        for s in bar:
            idx = order[s : s + protocol.batch_size]
            t1 = time.perf_counter()
            loss, bad = objective.loss(model, _take(fit_in, idx), target[idx])
            t2 = time.perf_counter()
            optimizer.zero_grad()
            loss.backward()
            t3 = time.perf_counter()
            optimizer.step()
            objective.stepped()
            t_fwd += t2 - t1
            t_bwd += t3 - t2
            if bad is not None:
                infeasible = (infeasible or 0) + bad
            result.step_forward.append(t2 - t1)
            result.steps += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.4f}", best_val=f"{best_val[0]:.3f}")
            if protocol.max_seconds is not None and t_fwd + t_bwd > protocol.max_seconds:
                result.stopped = True
                break
        result.loss_curve.append(loss_sum / seen)
        result.infeasible_share.append(infeasible / seen if infeasible is not None else np.nan)
        if result.stopped:  # a partial epoch is not validated; the best validated weights stay
            t_rest += time.perf_counter() - t0
            if protocol.verbose:
                log(
                    f"stopped in epoch {epoch} after {result.steps} steps: training time passed "
                    f"max_seconds  ({time.perf_counter() - start:.0f} s)"
                )
            break
        if epoch % protocol.val_every and epoch != protocol.epochs:
            t_rest += time.perf_counter() - t0
            continue
        t_val_before = t_val
        v = validate()
        result.val_curve.append(v[0])
        result.val_cell_curve.append(v[1])
        result.val_time_outs.append(val_outs[0])
        improved = v > best_val
        if improved:
            best_val, best_epoch, best_state = v, epoch, _snapshot(model)
        objective.validated(improved)
        t_rest += time.perf_counter() - t0 - (t_val - t_val_before)
        if protocol.verbose:
            extra = f"  infeasible {infeasible / seen:.2f}" if infeasible is not None else ""
            if val_outs[0]:
                extra += f"  ({val_outs[0]} validation solves timed out, scored wrong)"
            log(
                f"epoch {epoch:3d}/{protocol.epochs}  loss {loss_sum / seen:.4f}  "
                f"val board acc {v[0]:.3f}, cell {v[1]:.3f}{extra}{objective.describe()}  "
                f"({time.perf_counter() - start:.0f} s)"
            )
    t_rest -= t_fwd + t_bwd
    if is_ilp:
        with torch.no_grad():
            result.last_constraints = tuple(x.double().numpy() for x in model.constraints())
    model.load_state_dict(best_state, strict=False)
    result.best_epoch, result.val_board = best_epoch, best_val[0]
    result.seconds_forward, result.seconds_backward, result.seconds_rest = t_fwd, t_bwd, t_rest
    result.seconds_validation = t_val
    return result
