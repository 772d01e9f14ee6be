"""The Sudoku ``ilploss`` method: solver-free training, exact validation and test, at 4x4."""

from __future__ import annotations

import math
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from combopt_core import Status
from combopt_torch import ILPLayer
from demos.sudoku.data import generate
from demos.sudoku.experiment import Setting, build_model, load_data, run
from demos.sudoku.ilp import one_hot, true_rules
from demos.sudoku.ilploss import ILPLossObjective, SudokuILPLoss
from demos.sudoku.train import Protocol, encode, limited, predict, scores, train

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


def test_bands_start_through_zero_and_encode_equalities():
    model = build_model(Setting(4, False, "ilploss", 0, 10, 4, 33, "highs", encoding="bands"))
    A, b = model.constraints()
    assert A.shape == (66, 64) and model.eps == 0.0
    assert (b > 0).all()  # y = 0 lies inside every band: the initial ILP is feasible
    bands = model.constraints
    y = torch.rand(5, 64)
    inside = ((y @ bands.a.T + bands.offsets()).abs() <= bands.margin).all(-1)
    assert torch.equal(inside, (y @ A.T <= b).all(-1))


def test_true_rules_as_bands_solve_every_puzzle():
    data = generate(4, "train", 12)
    model = build_model(Setting(4, False, "ilploss", 0, 10, 4, 64, "highs", encoding="bands"))
    rules, _ = true_rules(4)
    with torch.no_grad():  # a . y - 1 = 0 for each rule: beta = r ||a|| = -1
        model.constraints.a.copy_(torch.as_tensor(rules))
        model.constraints.o.zero_()
        model.constraints.r.copy_(-1.0 / model.constraints.a.norm(dim=-1))
    grids, time_outs = predict(model, encode(data), 5)
    assert time_outs == 0 and scores(grids, data) == (1.0, 1.0)


def test_unproven_answers_score_wrong(monkeypatch):
    data = generate(4, "train", 3)
    gold = torch.as_tensor(one_hot(data.solutions))

    def timed_out(self, c, A, b, return_info=False, **kwargs):
        info = SimpleNamespace(status=torch.full((len(c),), int(Status.TIME_LIMIT)))
        return (gold.clone(), info) if return_info else gold.clone()

    monkeypatch.setattr(ILPLayer, "forward", timed_out)
    model = build_model(SETTING)
    grids, time_outs = predict(model, encode(data), 3)
    assert time_outs == 3 and scores(grids, data) == (0.0, 0.0)  # the gold incumbent unproven


def test_validation_uses_its_subset_and_limit(data, monkeypatch):
    seen = []
    forward = ILPLayer.forward

    def spy(self, c, *args, **kwargs):
        seen.append((len(c), self.options.time_limit))
        return forward(self, c, *args, **kwargs)

    monkeypatch.setattr(ILPLayer, "forward", spy)
    protocol = Protocol(epochs=1, lr=1e-3, progress=False, verbose=False, val_puzzles=3)
    model = build_model(SETTING)
    with limited(model, 0.5):
        assert model.ilp.options.time_limit == 0.5
    assert model.ilp.options.time_limit is None
    train(model, data["fit"], data["val"], replace(protocol, val_time_limit=0.25),
          objective=ILPLossObjective(seed=0))  # fmt: skip
    assert seen == [(3, 0.25), (3, 0.25)]  # before training and after the one epoch
    assert model.ilp.options.time_limit is None


def test_refit_bands_hold_every_training_solution_in_eval_only():
    data = generate(4, "train", 30)
    gold = torch.as_tensor(one_hot(data.solutions))
    model = build_model(Setting(4, False, "ilploss", 0, 10, 4, 33, "highs", encoding="bands"))
    bands = model.constraints
    model.train()
    before = bands()
    bands.hold(gold.numpy())
    assert all(torch.equal(x, y) for x, y in zip(bands(), before))  # training: unrefit
    model.eval()
    A, b = bands()
    a, beta = A[:33], bands.margin - b[:33]
    assert (gold.to(a.dtype) @ a.T + beta).abs().max() < 1e-4  # on every band's centre
    assert not torch.allclose(A, before[0])
    bands.hold(None)
    assert all(torch.equal(x, y) for x, y in zip(bands(), before))


def test_a_refit_run_is_recorded_and_labelled(data):
    from demos.sudoku.figure import method_label

    setting = replace(SETTING, num_constraints=33, encoding="bands", refit_bands=True)
    record, _ = run(setting, replace(PROTOCOL, epochs=1), data)
    assert record.refit_bands
    row = {"method": "ilploss", "encoding": "bands", "refit_bands": str(record.refit_bands)}
    assert method_label(row) == "ilploss (bands, refit)"
    assert method_label({**row, "refit_bands": "False"}) == "ilploss (bands)"
