"""The ``combopt`` command line: help, exit codes, and delegation to a source checkout.

``demo``, ``reproduce`` and ``bench`` are run against a fake checkout whose ``demos``
package and benchmark scripts record the arguments they were given and exit with a chosen
code, so the tests check what the CLI really launches without training anything.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from combopt_core import cli

RECORDER = """\
import json, os, sys
with open(os.environ["COMBOPT_TEST_RECORD"], "a") as f:
    f.write(json.dumps({"who": WHO, "argv": sys.argv[1:], "cwd": os.getcwd()}) + "\\n")
sys.exit(int(os.environ.get("COMBOPT_TEST_EXIT", "0")))
"""


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A minimal combopt source tree: pyproject.toml, demos/__main__.py, demos/benchmarks/."""
    root = tmp_path / "repo"
    (root / "demos").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "combopt"\n')
    (root / "demos" / "__init__.py").write_text("")
    (root / "demos" / "__main__.py").write_text(RECORDER.replace("WHO", "'demos'"))
    bench = root / "demos" / "benchmarks"
    bench.mkdir()
    (bench / "__init__.py").write_text("")
    for name, doc in (("overhead", "Layer overhead vs solve time."), ("speedup", "Speedup.")):
        body = RECORDER.replace("WHO", repr(name)).replace("\n", "\n    ")
        script = f'"""{doc}"""\nif __name__ == "__main__":\n    {body}\n'
        (bench / f"{name}.py").write_text(script)
    (bench / "_private.py").write_text('if __name__ == "__main__":\n    pass\n')
    (bench / "common.py").write_text('"""Shared helpers, not a script."""\n')
    record = tmp_path / "record.jsonl"
    monkeypatch.setenv("COMBOPT_TEST_RECORD", str(record))
    monkeypatch.delenv(cli.ROOT_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    return root


def records(root: Path) -> list[dict]:
    """What the fake scripts recorded, in order."""
    path = Path(os.environ["COMBOPT_TEST_RECORD"])
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_help_lists_every_command_and_the_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("backends", "demo", "reproduce", "bench"):
        assert command in out
    assert "exit codes" in out


def test_reproduce_help_lists_the_tasks(capsys):
    with pytest.raises(SystemExit):
        cli.main(["reproduce", "--help"])
    out = capsys.readouterr().out
    for task in cli.TASKS:
        assert task in out


def test_backends_lists_highs_and_require_sets_the_exit_code(capsys):
    assert cli.main(["backends"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "highs" in out and "selection:" in out
    assert cli.main(["backends", "--require", "highs"]) == cli.EXIT_OK
    assert cli.main(["backends", "--require", "no-such-backend"]) == cli.EXIT_FAILED


def test_usage_errors_exit_2(capsys):
    for argv in (["reproduce", "no-such-task"], ["backends", "--bogus"], []):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == cli.EXIT_USAGE, argv


def test_demo_runs_the_quick_demonstration_in_the_checkout(checkout):
    assert cli.main(["demo", "--root", str(checkout), "--solver", "highs"]) == 0
    (rec,) = records(checkout)
    assert rec["who"] == "demos"
    assert rec["argv"] == [*cli.DEMO_ARGS, "--solver", "highs"]
    assert Path(rec["cwd"]).resolve() == checkout.resolve()


def test_reproduce_finds_the_checkout_from_a_subdirectory(checkout, monkeypatch):
    monkeypatch.chdir(checkout / "demos")
    code = cli.main(["reproduce", "random-constraints", "--m", "1", "2", "--", "--seeds", "0-4"])
    assert code == 0
    (rec,) = records(checkout)
    assert rec["argv"] == ["random-constraints", "--m", "1", "2", "--seeds", "0-4"]


def test_a_failing_demonstration_passes_its_exit_code_through(checkout, monkeypatch, capsys):
    monkeypatch.setenv("COMBOPT_TEST_EXIT", "4")
    assert cli.main(["reproduce", "knapsack", "--root", str(checkout)]) == 4
    assert "exited with code 4" in capsys.readouterr().err


def test_dry_run_prints_the_command_and_runs_nothing(checkout, capsys):
    assert cli.main(["demo", "--root", str(checkout), "--dry-run"]) == 0
    assert records(checkout) == []
    assert "-m demos " + " ".join(cli.DEMO_ARGS) in capsys.readouterr().err


def test_no_checkout_explains_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(cli.ROOT_ENV_VAR, raising=False)
    assert cli.main(["demo", "--root", str(tmp_path)]) == cli.EXIT_NO_CHECKOUT
    err = capsys.readouterr().err
    assert "not a combopt source checkout" in err and "clone the combopt repository" in err
    monkeypatch.setenv(cli.ROOT_ENV_VAR, str(tmp_path))
    assert cli.main(["bench"]) == cli.EXIT_NO_CHECKOUT
    assert f"${cli.ROOT_ENV_VAR}" in capsys.readouterr().err


def test_search_order_cwd_parents_then_the_installed_package(tmp_path, checkout):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    found = cli.find_source_root(cwd=checkout / "demos", package_dir=elsewhere / "pkg")
    assert found == checkout.resolve()
    found = cli.find_source_root(cwd=elsewhere, package_dir=checkout / "combopt_core")
    assert found == checkout.resolve()
    with pytest.raises(cli.CheckoutNotFound, match="no combopt source checkout"):
        cli.find_source_root(cwd=elsewhere, package_dir=elsewhere / "pkg")


def test_a_checkout_without_the_demos_package_is_explained(checkout, capsys):
    (checkout / "demos" / "__main__.py").unlink()
    assert cli.main(["demo", "--root", str(checkout)]) == cli.EXIT_NO_CHECKOUT
    assert "no demos/__main__.py" in capsys.readouterr().err


def test_bench_lists_scripts_with_their_first_doc_line(checkout, capsys):
    assert cli.main(["bench", "--list", "--root", str(checkout)]) == 0
    out = capsys.readouterr().out
    assert "overhead" in out and "Layer overhead vs solve time." in out
    assert "speedup" in out and "_private" not in out and "common" not in out
    assert records(checkout) == []


def test_bench_runs_the_named_scripts_in_turn_with_arguments_after_dashes(checkout, capsys):
    argv = ["bench", "--root", str(checkout), "speedup", "overhead", "--", "--batch", "8"]
    assert cli.main(argv) == 0
    assert [(r["who"], r["argv"]) for r in records(checkout)] == [
        ("speedup", ["--batch", "8"]),
        ("overhead", ["--batch", "8"]),
    ]
    assert "-m demos.benchmarks.speedup --batch 8" in capsys.readouterr().err


def test_bench_stops_at_the_first_failure(checkout, monkeypatch):
    monkeypatch.setenv("COMBOPT_TEST_EXIT", "1")
    assert cli.main(["bench", "--root", str(checkout), "overhead", "speedup"]) == 1
    assert [r["who"] for r in records(checkout)] == ["overhead"]


def test_bench_unknown_name_is_a_usage_error(checkout, capsys):
    assert cli.main(["bench", "--root", str(checkout), "nope"]) == cli.EXIT_USAGE
    assert "known: overhead, speedup" in capsys.readouterr().err


def test_the_installed_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "combopt_core.cli", "backends"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "highs" in done.stdout
