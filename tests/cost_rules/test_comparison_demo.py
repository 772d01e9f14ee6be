"""``python -m demos cost-rules``: one validation-chosen setting per seed and method, reported."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from demos.cost_rules import main  # noqa: E402
from demos.cost_rules.report import read_csv  # noqa: E402


def test_the_comparison_chooses_on_validation_and_writes_table_and_figure(tmp_path):
    argv = ["--seeds", "0", "--methods", "combopt", "blackbox", "--p", "3", "--train", "40"]
    argv += ["--val", "10", "--test", "20", "--epochs", "1", "--solver", "highs"]
    assert main([*argv, "--out", str(tmp_path), "--quiet"]) == 0
    rows = read_csv(tmp_path / "cost_rules.csv")
    assert [r["method"] for r in rows] == ["combopt"] + ["blackbox"] * 3
    blackbox = [r for r in rows if r["method"] == "blackbox"]
    chosen = [r for r in blackbox if r["chosen"]]
    assert len(chosen) == 1 and chosen[0]["val_regret"] == min(r["val_regret"] for r in blackbox)
    table = (tmp_path / "cost_rules.md").read_text()
    assert chosen[0]["setting"] in table and "CombOptNet" in table
    assert (tmp_path / "cost_rules.png").stat().st_size > 0
    assert main([*argv, "--out", str(tmp_path), "--report-only", "--quiet"]) == 0


def test_the_comparison_refuses_to_choose_without_validation(tmp_path):
    with pytest.raises(SystemExit, match="--val"):
        main(["--val", "0", "--out", str(tmp_path)])
