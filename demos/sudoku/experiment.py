"""One run per (size, input, method, seed): data, model, training, one record.

Methods: ``comboptnet`` (learned rules, the exact ILP solved in every training step),
``ilploss`` (the same learned rules trained solver-free with ILP-Loss, exact solves only to
validate and test), ``mlp`` (the neural baseline without an ILP) and ``rules`` (the same ILP
layer with the true rules and no training: a check of the encoding and the cost of one exact
solve).
Data are seeded by ``data_seed`` alone, so the seeds of a size share their puzzles and vary
the initialisation and the batch order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch

from .data import SudokuSet, dataset
from .digits import draw_images
from .ilp import one_hot, true_rules
from .ilploss import CNN_LOSSES, ILPLossObjective, SudokuILPLoss
from .model import SudokuCombOptNet, SudokuMLP
from .train import GivenDigits, Protocol, RunResult, encode, predict, scores, train

METHODS = ("comboptnet", "mlp", "ilploss", "rules")
LEARNED = ("comboptnet", "ilploss")  # the methods that learn the rows
VAL_IMAGES = ("train", "heldout")  # Setting.val_images


@dataclass(frozen=True)
class Setting:
    """What one run trains on and how."""

    size: int
    visual: bool
    method: str
    seed: int
    num_train: int
    num_test: int
    num_constraints: int
    solver: str
    val_fraction: float = 0.1
    data_seed: int = 0
    test_split: str = "test"
    time_limit: float | None = None  # seconds per ILP solve; None: every answer proven
    encoding: str = "packing"  # learned rows: "packing" (the paper's) or "bands" (equalities)
    band_margin: float = 0.1  # half-width of each learned band (encoding "bands")
    refit_bands: bool = False  # bands: validate and test them refit to hold every training
    # solution exactly (``EqualityBands.hold``)
    costs: str = "probs"  # visual ILP costs: the CNN's "probs" or "log" (a MAP decode)
    cnn_loss: str = "ilp"  # visual: "ilp", the CNN learns through the ILP's loss (the
    # paper's rule, or ILP-Loss's cost row); "cells", by cross-entropy on the given cells'
    # digits of the solved boards (``train.GivenDigits``; rules and ilploss only)
    cnn_shift: bool = False  # "cells": random 1-pixel shifts of the training images
    val_images: str = "train"  # visual: validation images from the training pool ("train")
    # or from its fifth that no training image comes from ("heldout"; ``digits.pools``)
    workers: int = 1  # parallel ILP solves per batch (validation and test chunks)
    fix_confident: float | None = None  # visual ILP decode: fix every given cell the CNN
    # reads with at least this probability to that digit (``model.confident_rows``)

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError(f"workers: must be at least 1, got {self.workers}")
        if self.val_images not in VAL_IMAGES:
            raise ValueError(f"val_images: expected one of {VAL_IMAGES}, got {self.val_images!r}")
        if self.fix_confident is not None and not 0 < self.fix_confident <= 1:
            raise ValueError(f"fix_confident: must be in (0, 1], got {self.fix_confident}")
        if self.cnn_loss not in CNN_LOSSES:
            raise ValueError(f"cnn_loss: expected one of {CNN_LOSSES}, got {self.cnn_loss!r}")
        if self.cnn_loss == "cells" and self.visual and self.method == "comboptnet":
            raise ValueError("cnn_loss 'cells' is for the rules and ilploss methods")


@dataclass
class Record:
    """One row of the results CSV. Accuracies in percent, times in seconds."""

    size: int
    input: str
    method: str
    seed: int
    num_train: int
    num_test: int
    test_split: str
    learned_constraints: int
    solver: str
    time_limit: float | None
    time_outs: int  # test puzzles whose solve hit time_limit (their answer is unproven)
    epochs: int
    lr: float
    steps: int
    stopped: bool
    train_infeasible: float  # % of training ILPs without a feasible point (mean over epochs)
    best_epoch: int
    val_board: float
    test_board: float
    test_cell: float
    seconds_forward: float
    seconds_backward: float
    seconds_rest: float
    seconds_validation: float  # predicting the validation split (exact solves for ILPs)
    median_step_forward: float
    last_step_forward: float
    test_seconds_per_puzzle: float
    encoding: str = "packing"  # the learned rows' encoding ("bands": equalities)
    val_time_outs: int = 0  # validation solves at their limit over the run (scored wrong)
    refit_bands: bool = False  # the bands were validated and tested refit (``hold``)
    costs: str = "probs"  # visual ILP costs: "probs" or "log" ("" for symbolic or the MLP)
    cnn_loss: str = ""  # visual ILP methods: "ilp" or "cells" (see ``Setting``)
    cnn_shift: bool = False  # the CNN trained on randomly shifted images
    val_images: str = ""  # visual: "train" or "heldout" (see ``Setting``)
    fix_confident: float | None = None  # visual ILP decode's threshold (see ``Setting``)
    test_fix_retries: int = 0  # the test's later solves after a fixed ILP without a point


def load_data(setting: Setting, progress=None) -> dict[str, tuple[SudokuSet, dict]]:
    """``{"fit", "val", "test"}``: each a set and its model inputs (images if visual)."""
    s = setting
    train_set = dataset(s.size, "train", s.num_train, s.data_seed, progress)
    test_set = dataset(s.size, s.test_split, s.num_test, s.data_seed, progress)
    fit, val = train_set.validation_split(s.val_fraction, s.data_seed)
    held = s.val_images == "heldout"

    def inputs(data: SudokuSet, pool: str) -> dict:
        return encode(data, draw_images(data.puzzles, pool, s.data_seed) if s.visual else None)

    return {
        "fit": (fit, inputs(fit, "fit" if held else "train")),
        "val": (val, inputs(val, "val" if held else "train")),
        "test": (test_set, inputs(test_set, "test")),
    }


def build_model(setting: Setting) -> torch.nn.Module:
    s = setting
    torch.manual_seed(s.seed)
    if s.method == "mlp":
        return SudokuMLP(s.size, visual=s.visual)
    return SudokuCombOptNet(
        s.size,
        s.num_constraints,
        visual=s.visual,
        rules=true_rules(s.size) if s.method == "rules" else None,
        solver=s.solver,
        workers=s.workers,
        time_limit=s.time_limit,
        generator=torch.Generator().manual_seed(s.seed),
        encoding=s.encoding if s.method in LEARNED else "packing",
        band_margin=s.band_margin,
        costs=s.costs if s.visual else "probs",
        fix_confident=s.fix_confident if s.visual else None,
    )


def run(
    setting: Setting,
    protocol: Protocol,
    data: dict,
    log=print,
    ilploss: SudokuILPLoss | None = None,
) -> tuple[Record, dict]:
    """Train (unless ``rules``) and test one setting; returns the record and, for the
    figures, the model's test predictions and learned constraints. ``ilploss``: the
    settings of the ``ilploss`` method (default ``SudokuILPLoss()``; unused by the
    others)."""
    if setting.method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {setting.method!r}")
    model = build_model(setting)
    if setting.refit_bands and hasattr(model.constraints, "hold"):
        model.constraints.hold(one_hot(data["fit"][0].solutions))
    if setting.method == "rules" and not setting.visual:
        result = RunResult(0, float("nan"), 0.0, 0.0, 0.0, 0.0, 0.0)
        protocol_used = Protocol(epochs=1, lr=protocol.lr)
    else:
        # visual rules: the CNN is trained under the true rules
        objective = None  # train's default: the paper's rule, or the MLP's cross-entropy
        if setting.method == "rules" and setting.cnn_loss == "cells":
            objective = GivenDigits(setting.cnn_shift, seed=setting.seed)
        if setting.method == "ilploss":
            ilploss = replace(
                ilploss or SudokuILPLoss(),
                cnn_loss=setting.cnn_loss,
                cnn_shift=setting.cnn_shift,
            )
            objective = ILPLossObjective(ilploss, seed=setting.seed)
        result = train(model, data["fit"], data["val"], protocol, log, objective)
        protocol_used = protocol
    test_set, test_in = data["test"]
    retries_before = getattr(model, "fix_retries", 0)  # fix_confident's later solves
    t = time.perf_counter()
    grids, time_outs = predict(model, test_in, protocol.eval_batch_size, protocol.progress, "test")
    per_puzzle = (time.perf_counter() - t) / len(test_set)
    result.test_board, result.test_cell = scores(grids, test_set)
    steps = np.asarray(result.step_forward)
    visual_ilp = setting.visual and setting.method != "mlp"
    record = Record(
        size=setting.size,
        input="visual" if setting.visual else "symbolic",
        method=setting.method,
        seed=setting.seed,
        num_train=setting.num_train,
        num_test=setting.num_test,
        test_split=setting.test_split,
        learned_constraints=setting.num_constraints if setting.method in LEARNED else 0,
        solver=setting.solver if setting.method != "mlp" else "",
        time_limit=setting.time_limit if setting.method != "mlp" else None,
        time_outs=time_outs,
        epochs=protocol_used.epochs,
        lr=protocol_used.lr,
        steps=result.steps,
        stopped=result.stopped,
        train_infeasible=100 * float(np.mean(result.infeasible_share))
        if result.infeasible_share
        else float("nan"),
        best_epoch=result.best_epoch,
        val_board=100 * result.val_board,
        test_board=100 * result.test_board,
        test_cell=100 * result.test_cell,
        seconds_forward=result.seconds_forward,
        seconds_backward=result.seconds_backward,
        seconds_rest=result.seconds_rest,
        seconds_validation=result.seconds_validation,
        median_step_forward=float(np.median(steps)) if len(steps) else float("nan"),
        last_step_forward=float(steps[-1]) if len(steps) else float("nan"),
        test_seconds_per_puzzle=per_puzzle,
        encoding=setting.encoding if setting.method in LEARNED else "",
        val_time_outs=int(sum(result.val_time_outs)),
        refit_bands=setting.refit_bands and setting.encoding == "bands",
        costs=setting.costs if visual_ilp else "",
        cnn_loss=setting.cnn_loss if visual_ilp else "",
        cnn_shift=setting.cnn_shift and visual_ilp,
        val_images=setting.val_images if setting.visual else "",
        fix_confident=setting.fix_confident if visual_ilp else None,
        test_fix_retries=getattr(model, "fix_retries", 0) - retries_before,
    )
    extras = {
        "grids": grids,
        "step_forward": result.step_forward,
        "val_curve": result.val_curve,
        "val_cell_curve": result.val_cell_curve,
        "val_time_outs": result.val_time_outs,
    }
    if result.last_constraints is not None:  # the constraints training ended with
        extras["A"], extras["b"] = result.last_constraints
    return record, extras
