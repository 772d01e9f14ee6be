"""Every script in ``examples/`` runs, with small sizes, and does what its docstring says.

Each example exposes ``main(argv) -> dict`` of its measured results; the tests call it
in-process with small arguments and check the outcome (learning beats its baseline, the
plugin agrees with HiGHS), and run one script as a real subprocess to check the entry point.
The runs are seeded and the solvers deterministic, so the thresholds have a wide margin.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from combopt_core import list_backends
from combopt_core.registry import default_registry

pytest.importorskip("torch")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # as an import would, so the module can name itself
    spec.loader.exec_module(module)
    return module


def test_every_example_is_tested():
    tested = {
        "learn_constraints",
        "learn_costs_and_constraints",
        "fixed_ilp_learned_costs",
        "write_a_plugin",
        "quickstart",
        "jax_quickstart",
    }
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_learn_constraints_beats_the_box_only_baseline():
    argv = ["--n", "8", "--m", "1", "--epochs", "4", "--train", "200", "--test", "100"]
    result = load("learn_constraints").main(argv)
    assert result["learned"] >= result["box_only"] + 0.15, result


def test_learn_costs_and_constraints_learns_from_features():
    argv = ["--items", "5", "--epochs", "2", "--train", "160", "--test", "100", "--lr", "0.03"]
    result = load("learn_costs_and_constraints").main(argv)
    assert result["after"] >= result["before"] + 0.15, result


def test_fixed_ilp_learned_costs_recovers_the_cost_direction():
    argv = ["--p", "4", "--epochs", "1", "--train", "160", "--test", "100"]
    result = load("fixed_ilp_learned_costs").main(argv)
    assert result["after"] >= result["before"] + 0.1, result
    assert result["cosine"] > 0.3, result


@pytest.mark.parametrize("method", ["blackbox", "perturbed-fy", "spo+", "identity"])
def test_fixed_ilp_learned_costs_learns_with_every_cost_rule(method):
    argv = ["--p", "4", "--epochs", "1", "--train", "200", "--val", "40", "--test", "100"]
    result = load("fixed_ilp_learned_costs").main([*argv, "--method", method])
    assert result["after"] >= result["before"] + 0.1, result
    assert result["cosine"] > 0.3, result
    assert 0 <= result["val_regret"] < float("inf") and 0 <= result["val_exact"] <= 1, result


def test_write_a_plugin_agrees_with_highs_and_trains():
    try:
        result = load("write_a_plugin").main(["--instances", "120", "--n", "6"])
    finally:  # leave the default registry as the other tests expect it
        default_registry().unregister_plugin("tiny-enum-example")
    assert "tiny-enum" not in {s.name for s in list_backends()}
    assert result["agree"] == 1.0 and result["max_gap"] < 1e-9, result
    assert result["optimal"] > 0 and result["infeasible"] > 0, "both outcomes must be checked"
    assert result["grad_norm"] > 0


def test_an_example_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "write_a_plugin.py"), "--instances", "20", "--n", "4"],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "statuses agree with HiGHS: True" in done.stdout


def run_script(name: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def numbers(text: str) -> list[float]:
    """The numbers of the printed arrays (lines with brackets; solver banners left out)."""
    arrays = "\n".join(line for line in text.splitlines() if "[" in line)
    return [float(x) for x in re.findall(r"-?\d+\.\d*(?:e-?\d+)?", arrays)]


def test_quickstart_prints_the_documented_solution_and_pushes_the_constraint_out():
    out = numbers(run_script("quickstart"))
    y, dc, dA, db = out[0:3], out[3:6], out[6:9], out[9:10]
    assert [abs(v) for v in y] == [0.0, 1.0, 0.0]  # as its comment says
    # The wanted point (1, 1, 0) violates "pick at most one": no cost gradient, and the
    # constraint is pushed out (db < 0: gradient descent raises b).
    assert dc == [0.0, 0.0, 0.0] and db[0] < 0 and dA[0] > 0


def test_jax_quickstart_matches_the_torch_quickstart():
    pytest.importorskip("jax")
    torch_out = numbers(run_script("quickstart"))
    jax_out = numbers(run_script("jax_quickstart"))
    assert len(jax_out) == len(torch_out) == 10
    assert all(abs(a - b) < 1e-4 for a, b in zip(jax_out, torch_out))
