"""The Sudoku demonstration end to end at 4x4: ``python -m demos sudoku --quick``, shrunk."""

from __future__ import annotations

import csv

import pytest
import torch

from demos.sudoku import main
from demos.sudoku.data import generate
from demos.sudoku.experiment import Setting, build_model
from demos.sudoku.ilp import one_hot, true_rules
from demos.sudoku.train import encode

pytest.importorskip("highspy")


def test_quick_run_writes_a_table_where_the_mlp_learns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COMBOPT_CACHE_DIR", str(tmp_path / "cache"))
    # --max-seconds caps every method's training: it stops CombOptNet's slow exact steps and
    # leaves the MLP its 30 epochs (under a second alone) even on a busy machine
    argv = ["--quick", "--train", "150", "--test", "60", "--max-seconds", "5"]
    assert main([*argv, "--solver", "highs", "--quiet", "--out", str(tmp_path / "out")]) == 0
    with open(tmp_path / "out" / "results.csv") as f:
        rows = {r["method"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"comboptnet", "mlp", "rules"}  # ILP-Loss: test_sudoku_ilploss.py
    # the true rules in the ILP solve every puzzle; the MLP beats copying the givens, under
    # which no blank cell is right
    assert float(rows["rules"]["test_board"]) == 100.0
    assert float(rows["mlp"]["test_cell"]) > 40.0
    # CombOptNet's run is reported with its training steps and where their time went
    c = rows["comboptnet"]
    assert int(c["steps"]) >= 1 and float(c["seconds_forward"]) > 0
    assert c["stopped"] == "True" and int(c["learned_constraints"]) == 64
    assert 0 < float(c["train_infeasible"]) <= 100  # the paper's initial rows: infeasible ILPs
    text = capsys.readouterr().out
    assert "| 4x4 | symbolic | rules | test | 1 | 100.0 |" in text
    for name in ("results.md", "accuracy.png", "step_times.png", "rules.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    merged = tmp_path / "merged"
    assert main(["--report", str(tmp_path / "out"), "--out", str(merged)]) == 0
    assert "| 4x4 | symbolic | rules | test | 1 | 100.0 |" in (merged / "results.md").read_text()
    with pytest.raises(ValueError, match="--report: no results.csv in"):
        main(["--report", str(tmp_path / "cache"), "--out", str(merged)])


def test_rules_model_is_the_exact_ilp_and_learned_model_gets_gradients():
    data = generate(4, "test", 8)
    batch = encode(data)
    rules = build_model(Setting(4, False, "rules", 0, 10, 8, 64, "highs"))
    y = rules(batch)
    assert torch.equal(y, torch.as_tensor(one_hot(data.solutions)))
    learned = build_model(Setting(4, False, "comboptnet", 0, 10, 8, 64, "highs"))
    y = learned(batch)
    ((y - batch["givens"]) ** 2).mean().backward()
    grads = [p.grad for p in learned.constraints.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    A, _ = true_rules(4)
    assert rules.constraints()[0].shape == A.shape


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="--train: need at least 10"):
        main(["--quick", "--train", "5"])
    with pytest.raises(ValueError, match="--epochs: must be at least 1"):
        main(["--epochs", "0"])
