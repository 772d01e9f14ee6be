"""``--methods ilploss`` in the synthetic demos: solver-free training, exact evaluation."""

from __future__ import annotations

import csv

import pytest

pytest.importorskip("torch")

from demos import random_constraints, set_cover
from demos.datasets import load_random_constraints
from demos.ilploss_training import ILPLossConfig, train_ilploss
from demos.models import build_model
from demos.training import TrainConfig


def test_training_calls_no_solver_and_validation_does(monkeypatch):
    data = load_random_constraints("binary", 1, 0).subset(train=200, test=100)
    model = build_model("ilploss", 16, 2, data.lb, data.ub, seed=0, solver="highs")
    calls = []
    forward = type(model).forward
    monkeypatch.setattr(
        type(model), "forward", lambda self, c, **kw: calls.append(len(c)) or forward(self, c, **kw)
    )
    config = TrainConfig(epochs=4, lr=1e-2, progress=False, verbose=False)
    result = train_ilploss(model, data, config, ILPLossConfig(val_every=2))
    n_val = 20  # 10 % of the 200 training pairs
    assert calls == [n_val] * 3 + [100]  # initial, epochs 2 and 4, then the test split
    assert 0 < result.train_seconds < result.wall_seconds
    assert len(result.train_loss) == 4 and len(result.val_accuracy) == 2


@pytest.mark.parametrize(
    "demo, m, name", [(random_constraints, 1, "random_constraints"), (set_cover, 4, "set_cover")]
)
def test_the_demo_reports_both_methods_side_by_side(tmp_path, demo, m, name):
    argv = ["--m", str(m), "--seeds", "0", "--methods", "combopt", "ilploss", "--epochs", "1"]
    argv += ["--train-size", "80", "--solver", "highs", "--out", str(tmp_path), "--quiet"]
    assert demo.main(argv) == 0
    with (tmp_path / f"{name}.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows] == ["combopt", "ilploss"]
    assert [int(r["learned_constraints"]) for r in rows] == [m, 2 * m]
    assert all(float(r["train_seconds"]) > 0 for r in rows)
    table = (tmp_path / f"{name}.md").read_text()
    assert "| ilploss |" in table and "ILP-Loss" in table


def test_bad_ilploss_settings_are_named():
    with pytest.raises(ValueError, match="schedule"):
        ILPLossConfig(schedule="step")
    with pytest.raises(ValueError, match="temperature"):
        ILPLossConfig(temperature=-1)


def test_the_combined_schedule_warms_up_solver_free_then_runs_the_rule(monkeypatch):
    from demos import ilploss_training

    phases = []
    real_ilp, real_rule = ilploss_training.train_ilploss, ilploss_training.train
    monkeypatch.setattr(
        ilploss_training, "train_ilploss", lambda *a: phases.append("ilploss") or real_ilp(*a)
    )
    monkeypatch.setattr(
        ilploss_training, "train", lambda *a: phases.append("rule") or real_rule(*a)
    )
    data = load_random_constraints("binary", 1, 0).subset(train=80, test=50)
    model = build_model("combined", 16, 2, data.lb, data.ub, seed=0, solver="highs")
    config = TrainConfig(epochs=3, lr=1e-2, progress=False, verbose=False)
    result = ilploss_training.train_combined(model, data, config, ILPLossConfig(), 1e-2, 1)
    assert phases == ["ilploss", "rule"] and len(result.train_loss) == 3
    assert 0 <= result.best_epoch <= 3
    with pytest.raises(ValueError, match="warmup_epochs"):
        ilploss_training.train_combined(model, data, config, ILPLossConfig(), 1e-2, 3)
