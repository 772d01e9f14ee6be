"""The Sudoku ``ilploss`` method: solver-free training, exact validation and test, at 4x4."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from combopt_torch import ILPLayer
from demos.sudoku.data import generate
from demos.sudoku.experiment import Setting, build_model, load_data, run
from demos.sudoku.ilp import one_hot
from demos.sudoku.ilploss import ILPLossObjective, SudokuILPLoss
from demos.sudoku.train import Protocol, encode

pytest.importorskip("highspy")

SETTING = Setting(4, False, "ilploss", 0, 40, 10, 64, "highs")
PROTOCOL = Protocol(epochs=2, lr=1e-3, progress=False, verbose=False)


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("COMBOPT_CACHE_DIR", str(tmp_path))
    return load_data(SETTING)


def test_runs_end_to_end_and_solves_only_outside_training(data, monkeypatch):
    modes = []
    forward = ILPLayer.forward

    def spy(self, *args, **kwargs):
        modes.append(self.training)
        return forward(self, *args, **kwargs)

    monkeypatch.setattr(ILPLayer, "forward", spy)
    record, extras = run(SETTING, PROTOCOL, data)
    assert record.method == "ilploss" and record.learned_constraints == 64
    assert record.steps == 2 * math.ceil(len(data["fit"][0]) / PROTOCOL.batch_size)
    assert math.isnan(record.train_infeasible)  # no training ILP was solved
    assert record.seconds_forward > 0 and record.seconds_validation > 0
    assert 0.0 <= record.test_board <= record.test_cell <= 100.0
    assert extras["grids"].shape == data["test"][0].solutions.shape
    # every solve was a validation or the test, with the model in eval mode
    assert modes and not any(modes)


def test_negatives_never_include_the_gold_point():
    gold = torch.as_tensor(one_hot(generate(4, "train", 6).solutions))
    model = build_model(SETTING)
    objective = ILPLossObjective(SudokuILPLoss(per_hop=32), seed=3)
    A, b = model.constraints()
    negatives = objective.criterion.sample_negatives(A, b, gold)
    assert negatives.shape[:2] == (6, 64 + 3 * 32 + 64)  # flips, 3 hops, a projection per row
    same = (negatives == gold[:, None, :].to(negatives.dtype)).all(-1)
    assert not same.any()
    assert ((negatives == 0) | (negatives == 1)).all()


def test_same_seed_same_run_other_seed_other_rows(data):
    first = run(SETTING, PROTOCOL, data)
    again = run(SETTING, PROTOCOL, data)
    other = run(
        Setting(**{**SETTING.__dict__, "seed": 1}),
        Protocol(**{**PROTOCOL.__dict__, "seed": 1}),
        data,
    )
    np.testing.assert_array_equal(first[1]["A"], again[1]["A"])
    np.testing.assert_array_equal(first[1]["grids"], again[1]["grids"])
    assert first[0].val_board == again[0].val_board
    assert not np.array_equal(first[1]["A"], other[1]["A"])


def test_loss_trains_the_rows_and_the_visual_cnn():
    data = generate(4, "train", 4)
    batch = encode(data)
    batch["images"] = torch.rand(4, 16, 8, 8)  # stand-in digit images
    batch["given"] = torch.as_tensor(data.puzzles.reshape(4, -1) > 0, dtype=torch.float32)
    model = build_model(Setting(4, True, "ilploss", 0, 10, 4, 64, "highs"))
    loss, infeasible = ILPLossObjective().loss(
        model, batch, torch.as_tensor(one_hot(data.solutions))
    )
    loss.backward()
    assert infeasible is None and torch.isfinite(loss)
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.constraints.parameters()
    )
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.cnn.parameters())
