"""Learning on the paper's Random Constraints data, and the demo's command line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from demos import __main__ as demos_main
from demos.datasets import box_only_solutions, exact_match, load_random_constraints
from demos.experiment import parse_seeds
from demos.models import MLPBaseline, build_model
from demos.training import TrainConfig, normalize_costs, normalize_solutions, train


@pytest.mark.slow
def test_combopt_learns_binary_m1_constraint_well_above_box_only():
    """Two short epochs on binary m = 1 (seed 0) lift test accuracy far above box-only.

    800 training pairs and lr 1e-2 keep it to ~200 solver steps; measured here: test
    accuracy 0.91 against box-only 0.29.
    """
    data = load_random_constraints("binary", 1, 0).subset(train=800, test=300)
    model = build_model("combopt", 16, 1, data.lb, data.ub, seed=0, solver="highs")
    before = exact_match(
        model(normalize_costs(data.c_test)).detach().numpy(), data.y_test
    ).mean()
    result = train(model, data, TrainConfig(epochs=2, lr=1e-2, progress=False, verbose=False))
    assert result.box_only_accuracy < 0.4
    assert result.test_accuracy > result.box_only_accuracy + 0.3
    assert result.test_accuracy > before + 0.3
    assert 1 <= result.best_epoch <= 2 and len(result.val_accuracy) == 2
    assert result.train_loss[1] < result.train_loss[0]


def test_normalisations_follow_the_paper():
    c = normalize_costs(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert torch.allclose(c, torch.tensor([[0.6, 0.8], [0.0, 0.0]]))
    y = torch.tensor([[-5.0, 0.0, 5.0]])
    assert torch.equal(normalize_solutions(y, -5, 5), torch.tensor([[-0.5, 0.0, 0.5]]))


def test_mlp_baseline_predicts_integer_points_in_the_box():
    model = MLPBaseline(16, -5, 5)
    c = normalize_costs(np.random.default_rng(0).uniform(-1, 1, (7, 16)))
    y = model.predict(c)
    assert y.shape == (7, 16)
    assert torch.equal(y, torch.round(y)) and y.min() >= -5 and y.max() <= 5


def test_train_config_rejects_bad_values():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=0)


def test_unknown_method_is_an_error():
    with pytest.raises(ValueError, match="method"):
        build_model("svm", 16, 1, 0, 1)


def test_parse_seeds_ranges_and_lists():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,2,5-6") == [0, 2, 5, 6]
    for bad in ("4-0", "x", ""):
        with pytest.raises(Exception, match="--seeds"):
            parse_seeds(bad)


def test_dispatch_lists_tasks_and_rejects_unknown(capsys):
    assert demos_main.main([]) == 2
    assert "random-constraints" in capsys.readouterr().out
    assert demos_main.main(["no-such-task"]) == 2
    assert "unknown task 'no-such-task'" in capsys.readouterr().err


def test_cli_writes_csv_markdown_and_plot(tmp_path, capsys):
    """A one-epoch MLP grid through the real command line writes the three report files."""
    rc = demos_main.main([
        "random-constraints", "--m", "1", "2", "--seeds", "0", "--methods", "mlp",
        "--epochs", "1", "--quiet", "--out", str(tmp_path), "--name", "t",
    ])
    assert rc == 0
    csv_lines = (tmp_path / "t.csv").read_text().splitlines()
    assert csv_lines[0].startswith("task,variant,m,seed,method")
    assert len(csv_lines) == 3
    md = (tmp_path / "t.md").read_text()
    assert "| binary | 1 | mlp |" in md and "| binary | 2 | mlp |" in md
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"
    box = exact_match(
        box_only_solutions(load_random_constraints("binary", 1, 0).c_test, 0, 1),
        load_random_constraints("binary", 1, 0).y_test,
    ).mean()
    assert f"{100 * box:.1f}" in md
