"""Conventional command-line behaviour of ``combopt`` and ``python -m demos``.

Progress bars only on a terminal; a user error is one line and an exit code, never a
traceback; a reader that closes the pipe early and Ctrl-C end the run quietly; the
library's own messages go through ``logging.getLogger("combopt")``.
"""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import types
from pathlib import Path

import pytest

from combopt_core import (
    BackendNotFoundError,
    BackendUnavailableError,
    Registry,
    hookimpl,
)
from combopt_core.cli import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    run_guarded,
)

ROOT = Path(__file__).resolve().parents[2]


def python(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        **kwargs,
    )


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("stream", [io.StringIO, Terminal])
def test_progress_bars_draw_only_on_a_terminal(stream, monkeypatch):
    pytest.importorskip("tqdm")
    from demos.progress import progress_bar

    err = stream()
    monkeypatch.setattr(sys, "stderr", err)
    bar = progress_bar(range(50), desc="epoch 1", mininterval=0)
    for _ in bar:
        bar.set_postfix(loss="0.1")
    bar.close()
    drawn = "epoch 1" in err.getvalue()
    assert drawn == err.isatty()


def test_a_disabled_bar_stays_silent_even_on_a_terminal(monkeypatch):
    pytest.importorskip("tqdm")
    from demos.progress import progress_bar

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert list(progress_bar(range(3), enabled=False)) == [0, 1, 2]
    assert sys.stderr.getvalue() == ""


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ValueError("epochs: must be at least 1, got 0"), EXIT_USAGE),
        (BackendNotFoundError("solver: unknown backend 'nosuch'"), EXIT_USAGE),
        (FileNotFoundError("csv: no such file: a.csv"), EXIT_USAGE),
        (BackendUnavailableError("solver: backend 'gurobi' is unavailable"), EXIT_FAILED),
        (ModuleNotFoundError("No module named 'cvxpylayers'", name="cvxpylayers"), EXIT_FAILED),
    ],
)
def test_a_user_error_is_one_line_and_an_exit_code(error, code, capsys, monkeypatch):
    monkeypatch.delenv("COMBOPT_DEBUG", raising=False)

    def body() -> int:
        raise error

    assert run_guarded("prog", body) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prog: error: ")


def test_a_missing_module_names_the_extra_that_installs_it(capsys):
    def body() -> int:
        raise ModuleNotFoundError("No module named 'cvxpylayers'", name="cvxpylayers")

    run_guarded("prog", body)
    assert 'pip install -e ".[lp]"' in capsys.readouterr().err


def test_combopt_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("COMBOPT_DEBUG", "1")

    def body() -> int:
        raise ValueError("epochs: must be at least 1")

    with pytest.raises(ValueError, match="epochs"):
        run_guarded("prog", body)


def test_a_programming_error_keeps_its_traceback():
    def body() -> int:
        raise KeyError("a bug, not a user error")

    with pytest.raises(KeyError):
        run_guarded("prog", body)


def test_ctrl_c_is_one_line_and_exit_130(capsys):
    def body() -> int:
        raise KeyboardInterrupt

    assert run_guarded("prog", body) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == "prog: interrupted\n"


def test_a_closed_pipe_ends_the_command_quietly():
    # More output than a pipe buffers, so the writer is still writing when the reader leaves.
    code = (
        "import sys; from combopt_core.cli import run_guarded\n"
        "def body():\n"
        "    for _ in range(20000):\n"
        "        print('x' * 80)\n"
        "    return 0\n"
        "sys.exit(run_guarded('prog', body))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.readline()
    process.stdout.close()  # what `| head -1` does after its line
    err = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == ""


def test_combopt_backends_into_head_has_no_traceback():
    done = subprocess.run(
        f"'{sys.executable}' -m combopt_core.cli backends | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("name")
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_demos_user_errors_are_one_line_with_exit_code_2():
    for args in (["--epochs", "0"], ["--solver", "nosuch"], ["--m", "3"]):
        done = python("-m", "demos", "random-constraints", "--quick", *args)
        assert done.returncode == EXIT_USAGE, done.stderr
        assert done.stderr.startswith("python -m demos random-constraints: error: ")
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


@pytest.mark.slow
def test_the_quick_demo_into_a_log_has_epoch_lines_and_no_progress_bar():
    pytest.importorskip("torch")
    done = python("-m", "demos", "random-constraints", "--quick", "--solver", "highs")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("epoch ") >= 3 and "test accuracy" in done.stdout
    assert done.stderr == ""


def test_library_messages_go_to_the_combopt_logger(caplog):
    bad = types.ModuleType("bad_plugin")

    @hookimpl
    def register_backends(register):
        raise RuntimeError("boom")

    bad.register_backends = register_backends
    registry = Registry(group="combopt.no_such_group")
    registry.register_plugin(bad, name="bad")
    with caplog.at_level(logging.DEBUG, logger="combopt"):
        registry.statuses()
        registry.statuses()  # looked up twice, logged once
    records = [r for r in caplog.records if r.name == "combopt"]
    assert len(records) == 1 and records[0].levelno == logging.WARNING
    assert "bad" in records[0].getMessage() and "boom" in records[0].getMessage()


def test_combopt_verbose_shows_the_log_on_stderr():
    done = python(
        "-c",
        "import sys; from combopt_core.cli import main\n"
        "from combopt_core import get_solver\n"
        "sys.argv = ['combopt', '-v', 'backends']\n"
        "code = main()\n"
        "get_solver('highs')\n"
        "sys.exit(code)\n",
    )
    assert done.returncode == 0, done.stderr
    assert "combopt: DEBUG: solver: backend 'highs'" in done.stderr
