"""Visual Sudoku options: log-probability costs (a MAP decode), the CNN learned from the
given cells' digits of the solved boards (``--cnn-loss cells``), image shifts."""

from __future__ import annotations

import csv
import itertools
from dataclasses import replace

import numpy as np
import pytest
import torch

from combopt_core import Status
from demos.sudoku import digits, main
from demos.sudoku.data import generate
from demos.sudoku.experiment import Setting, build_model
from demos.sudoku.figure import method_label
from demos.sudoku.ilp import decode, one_hot
from demos.sudoku.ilploss import ILPLossObjective, SudokuILPLoss
from demos.sudoku.model import LOG_FLOOR, SudokuCombOptNet, log_fill_bonus
from demos.sudoku.train import GivenDigits, encode

pytest.importorskip("highspy")


def _all_4x4_grids() -> np.ndarray:
    """Every solved 4x4 grid (288), by brute force over rows that are permutations."""
    perms = list(itertools.permutations(range(1, 5)))
    out = []
    for rows in itertools.product(perms, repeat=4):
        g = np.array(rows)
        boxes = g.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(4, 4)
        if all(len(set(col)) == 4 for col in g.T) and all(len(set(b)) == 4 for b in boxes):
            out.append(g)
    return np.array(out)


class _FixedLogits(torch.nn.Module):
    """A stand-in CNN: the logits of image ``k`` are ``table[k]`` (images carry ``k``)."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = table

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.table[images[:, 0, 0].long()]


def _visual_batch(data, table_rows: int):
    """A visual batch whose image at cell ``i`` of puzzle ``p`` carries id ``p * 16 + i``."""
    n = len(data)
    ids = torch.arange(n * 16, dtype=torch.float32).reshape(n, 16, 1, 1).expand(n, 16, 8, 8)
    given = torch.as_tensor(data.puzzles.reshape(n, -1) > 0, dtype=torch.float32)
    assert table_rows == n * 16
    return {"images": ids.clone(), "given": given}


def test_log_costs_under_the_true_packing_rules_decode_the_most_likely_grid():
    grids = _all_4x4_grids()
    assert len(grids) == 288
    data = generate(4, "test", 6, seed=3)
    rng = np.random.default_rng(0)
    # noisy digit probabilities: often the right digit is not the most likely one
    table = torch.as_tensor(rng.normal(0, 2.0, (6 * 16, 4)))
    model = SudokuCombOptNet(4, 0, visual=True, rules=_true(), costs="log", solver="highs")
    model.cnn = _FixedLogits(table)
    batch = _visual_batch(data, 6 * 16)
    y = model(batch)
    got = decode(y.numpy(), 4)
    logp = torch.log_softmax(table, -1).clamp(min=-LOG_FLOOR).numpy().reshape(6, 16, 4)
    for p in range(6):
        given = data.puzzles[p].reshape(-1) > 0
        flat = grids.reshape(288, 16) - 1
        score = logp[p][np.arange(16)[None, :], flat][:, given].sum(1)
        # the answer is a solved grid (every cell filled) and one of the most likely ones
        # (grids that agree on the given cells tie)
        match = np.flatnonzero((grids == got[p]).all((1, 2)))
        assert len(match) == 1
        assert score[match[0]] == pytest.approx(score.max(), abs=1e-9)
    assert model.eps == log_fill_bonus(4) == 16 * LOG_FLOOR + 1


def _true():
    from demos.sudoku.ilp import true_rules

    return true_rules(4)


def test_log_costs_keep_the_gold_solution_optimal_for_a_confident_cnn():
    data = generate(4, "test", 5, seed=1)
    table = torch.full((5 * 16, 4), -3.0)
    sol = torch.as_tensor(data.solutions.reshape(-1).astype(np.int64) - 1)
    table[torch.arange(5 * 16), sol] = 3.0  # right digit most likely at every cell
    for encoding in ("packing", "bands"):
        rules = _true() if encoding == "packing" else None
        model = SudokuCombOptNet(
            4, 64, visual=True, rules=rules, costs="log", solver="highs", encoding=encoding
        )
        if encoding == "bands":  # the true rules as bands: a . y - 1 = 0, beta = -1
            assert model.eps == 0.0  # bands fill every cell: no bonus
            with torch.no_grad():
                model.constraints.a.copy_(torch.as_tensor(_true()[0]))
                model.constraints.r.copy_(-1.0 / model.constraints.a.norm(dim=-1))
        model.cnn = _FixedLogits(table)
        y = model(_visual_batch(data, 5 * 16))
        np.testing.assert_array_equal(decode(y.detach().numpy(), 4), data.solutions)
    with pytest.raises(ValueError, match="visual"):
        SudokuCombOptNet(4, 0, visual=False, rules=_true(), costs="log")


def test_given_digits_learn_the_cnn_from_solved_boards_only():
    data = generate(4, "train", 8, seed=2)
    batch = encode(data, digits.draw_images(data.puzzles, "train"))
    gold = torch.as_tensor(one_hot(data.solutions))
    model = build_model(Setting(4, True, "rules", 0, 10, 8, 64, "highs", cnn_loss="cells"))
    loss, infeasible = GivenDigits().loss(model, batch, gold)
    assert infeasible is None
    loss.backward()
    assert all(p.grad is not None for p in model.cnn.parameters())
    # the labels are the solved board's digits at the given cells: a CNN that reads the
    # digits of those cells off the board scores a near-zero cross-entropy
    labels = torch.as_tensor(data.solutions.reshape(-1).astype(np.int64) - 1)
    model.cnn = _FixedLogits(torch.nn.functional.one_hot(labels, 4).double() * 50)
    loss, _ = GivenDigits().loss(model, _visual_batch(data, 8 * 16), gold)
    assert loss.item() < 1e-12


def test_ilploss_cells_learns_rules_from_given_digits_and_the_cnn_apart():
    data = generate(4, "train", 4, seed=4)
    batch = encode(data, digits.draw_images(data.puzzles, "train"))
    gold = torch.as_tensor(one_hot(data.solutions))
    setting = Setting(4, True, "ilploss", 0, 10, 4, 33, "highs", encoding="bands")
    model = build_model(setting)
    before = [p.detach().clone() for p in model.cnn.parameters()]
    objective = ILPLossObjective(replace(SudokuILPLoss(), cnn_loss="cells"))
    loss, _ = objective.loss(model, batch, gold)
    loss.backward()
    assert any(p.grad.abs().sum() > 0 for p in model.constraints.parameters())
    # the CNN took its own step and has no gradient left for the rules' optimiser
    assert all(p.grad is None for p in model.cnn.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.cnn.parameters()))
    # the rules' costs are the given digits of the solved board, not the CNN's output
    seen = {}

    def criterion(A, b, c, gold_points):
        seen["c"] = c
        return c.sum() * 0

    objective.criterion = criterion
    objective.loss(model, batch, gold)
    expected = -(gold * torch.as_tensor(one_hot(data.puzzles)).gt(0)).double()
    assert torch.equal(seen["c"], expected)
    assert torch.equal(expected, -torch.as_tensor(one_hot(data.puzzles)))


def test_shift_moves_each_image_by_at_most_a_pixel():
    images = torch.rand(50, 8, 8)
    out = digits.shift(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape
    padded = torch.nn.functional.pad(images, (1, 1, 1, 1))
    for k in range(50):
        assert any(
            torch.equal(out[k], padded[k, dy : dy + 8, dx : dx + 8])
            for dy in range(3)
            for dx in range(3)
        )


def test_visual_flags_reach_the_record_and_the_label(tmp_path, monkeypatch):
    monkeypatch.setenv("COMBOPT_CACHE_DIR", str(tmp_path / "cache"))
    argv = ["--size", "4", "--input", "visual", "--methods", "rules", "--seeds", "0"]
    argv += ["--train", "40", "--test", "10", "--epochs", "1", "--lr", "1e-3", "--quiet"]
    argv += ["--costs", "log", "--cnn-loss", "cells", "--cnn-shift", "--solver", "highs"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "results.csv") as f:
        (row,) = csv.DictReader(f)
    assert (row["costs"], row["cnn_loss"], row["cnn_shift"]) == ("log", "cells", "True")
    assert method_label(row) == "rules (CNN from digits, shifts; log costs)"
    assert method_label({"method": "rules", "input": "visual"}) == "rules"  # older rows
    with pytest.raises(ValueError, match="cnn_loss 'cells'"):
        Setting(4, True, "comboptnet", 0, 10, 4, 64, "highs", cnn_loss="cells")


def test_confident_rows_fix_exactly_the_confident_given_cells():
    from demos.sudoku.model import confident_rows

    probs = torch.full((1, 16, 4), 0.1)
    probs[0, :, 0] = 0.7  # every cell reads digit 1 with p = 0.7 ...
    probs[0, 3] = torch.tensor([0.05, 0.05, 0.05, 0.85])  # ... cell 3 reads 4 with 0.85
    given = torch.zeros(1, 16)
    given[0, [0, 3, 5]] = 1
    A_eq, b_eq = confident_rows(probs, given, 0.8)
    assert A_eq.shape == (1, 32, 64) and b_eq.shape == (1, 32)
    assert torch.count_nonzero(A_eq.abs().sum(-1)) == 2  # cell 3 only: its two rows
    y = torch.zeros(64)
    y[3 * 4 + 3] = 1  # cell 3 holds digit 4
    assert torch.equal(A_eq[0] @ y, b_eq[0])
    y[3 * 4 + 3], y[3 * 4 + 1] = 0, 1  # cell 3 holds digit 2: both of its rows break
    assert (A_eq[0] @ y != b_eq[0]).sum() == 2
    A_eq, b_eq = confident_rows(probs, given, 0.5)  # now cells 0, 3, 5 (blanks never)
    assert torch.count_nonzero(A_eq.abs().sum(-1)) == 6 and b_eq.sum() == 3


def test_fixing_confident_givens_leaves_the_doubtful_ones_to_the_rules():
    data = generate(4, "test", 3, seed=5)
    labels = torch.as_tensor(data.solutions.reshape(-1).astype(np.int64) - 1)
    logits = torch.nn.functional.one_hot(labels, 4).double() * 40  # p(true digit) = 1.0
    given_cells = np.flatnonzero(data.puzzles.reshape(-1) > 0)
    misread = int(given_cells[0])  # a given read as another digit with p ~ 0.5
    wrong = (int(labels[misread]) + 1) % 4
    logits[misread] = torch.tensor([0.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    logits[misread, wrong] = 1.5
    logits[misread, int(labels[misread])] = 1.0
    batch = _visual_batch(data, 3 * 16)
    answers, retries = {}, {}
    for threshold in (0.9, 0.3):
        model = SudokuCombOptNet(
            4,
            0,
            visual=True,
            rules=_true(),
            solver="highs",
            costs="log",
            fix_confident=threshold,
        )
        model.cnn = _FixedLogits(logits)
        model.eval()
        y, info = model(batch, return_info=True)
        answers[threshold] = (decode(y.detach().numpy(), 4), info)
        retries[threshold] = model.fix_retries
    grids, info = answers[0.9]  # the misread cell is doubtful: the rules overrule it
    np.testing.assert_array_equal(grids, data.solutions)
    assert retries[0.9] == 0
    # fixed to the misread digit, puzzle 0 has no point; its second solve, at the threshold
    # 1 - 0.7 / 10 = 0.93, leaves the misread cell to the rules again
    grids, info = answers[0.3]
    np.testing.assert_array_equal(grids, data.solutions)
    assert retries[0.3] == 1 and not info.infeasible.any()
    assert (info.status == int(Status.OPTIMAL)).all()
    logits[misread] = 0.0  # misread with p = 1 - 3e-13: every threshold fixes it, no point
    logits[misread, wrong] = 30.0
    y, info = model(batch, return_info=True)  # threshold 0.3: 0.93, 0.993, 0.9993 follow
    assert model.fix_retries == 1 + 3 and bool(info.infeasible[0])
    assert not info.infeasible[1:].any()
    model.train()  # training never fixes: the same call sees no equality rows
    y = model(batch)
    np.testing.assert_array_equal(decode(y.detach().numpy(), 4), data.solutions)
    with pytest.raises(ValueError, match="fix_confident"):
        SudokuCombOptNet(4, 0, visual=False, rules=_true(), fix_confident=0.9)
    with pytest.raises(ValueError, match="fix_confident"):
        Setting(4, True, "rules", 0, 10, 8, 64, "highs", fix_confident=1.5)
    with pytest.raises(ValueError, match="--fix-confident"):
        main(["--size", "4", "--fix-confident", "0"])
    row = {"method": "rules", "costs": "log", "fix_confident": "0.99"}
    assert method_label(row) == "rules (log costs; givens fixed at p >= 0.99)"


def test_heldout_validation_images_come_from_a_fifth_of_the_training_pool():
    train, fit, val = (digits.pools(p) for p in ("train", "fit", "val"))
    for d in range(1, 10):
        assert set(fit[d]) | set(val[d]) == set(train[d]) and not set(fit[d]) & set(val[d])
        assert len(val[d]) == int(digits.VAL_SHARE * len(train[d]))
    p = generate(9, "train", 3).puzzles
    index = digits.draw_images(p, "val")
    assert (digits.labels(index) == p).all()
    assert all(i in set(val[d]) for i, d in zip(index[p > 0], p[p > 0]))
    with pytest.raises(ValueError, match="pool"):
        digits.pools("validation")
    with pytest.raises(ValueError, match="val_images"):
        Setting(4, True, "rules", 0, 10, 8, 64, "highs", val_images="test")
