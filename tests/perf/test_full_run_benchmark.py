"""The end-to-end benchmark trains through the demo's loop and prints one row per backend."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from demos.benchmarks import full_run


def test_one_epoch_prints_wall_clock_and_accuracy_per_backend(capsys):
    full_run.main(["--solver", "highs", "bruteforce", "--epochs", "1", "--m", "1"])
    out = capsys.readouterr().out
    rows = [
        line.split() for line in out.splitlines() if line.split()[:1] in (["highs"], ["bruteforce"])
    ]
    assert [r[0] for r in rows] != [] and {r[0] for r in rows} == {"highs", "bruteforce"}
    accuracies = {r[0]: float(r[-1]) for r in rows}
    assert accuracies["highs"] == accuracies["bruteforce"]  # same seeded run, exact solvers
    assert all(r[3] == "-" for r in rows)  # the 5-minute target is only judged at 100 epochs


def test_unknown_backend_is_refused():
    with pytest.raises(SystemExit, match="--solver: not available here: nosuch"):
        full_run.main(["--solver", "nosuch", "--epochs", "1"])
