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
    assert all(float(r[3]) > 0 for r in rows)  # CPU seconds per core
    assert all(r[4] == "-" for r in rows)  # the target is only judged at 100 epochs


def test_target_verdict_tells_wall_clock_from_cpu_time():
    assert full_run.verdict(wall=170, cpu_per_core=160, target=180) == "met"
    # a shared machine: the wall-clock misses, the CPU time per core fits
    assert full_run.verdict(wall=400, cpu_per_core=170, target=180) == "CPU only"
    assert full_run.verdict(wall=400, cpu_per_core=250, target=180) == "missed"


def test_unknown_backend_is_refused():
    with pytest.raises(SystemExit, match="--solver: not available here: nosuch"):
        full_run.main(["--solver", "nosuch", "--epochs", "1"])
