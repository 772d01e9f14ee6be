"""The ``combopt`` command line.

Commands:

* ``combopt backends``: every registered backend, its version, whether it can run here and,
  if not, why (missing package with its install hint, licence, broken plugin).
* ``combopt demo``: the main job, a short demonstration that learns the constraints of a
  Random Constraints dataset and prints test accuracy against the box-only baseline.
* ``combopt reproduce TASK``: one of the paper's demonstrations with its full protocol.
* ``combopt bench [NAME ...]``: the benchmark scripts.

``demo``, ``reproduce`` and ``bench`` run code that lives in the source repository
(``python -m demos ...`` and the benchmark scripts), which ``pip install`` does not install:
they look for a source checkout (``--root``, ``$COMBOPT_ROOT``, the current directory and its
parents, then the checkout of an editable install) and say how to get one when there is none.
Arguments after the command's own are passed on unchanged, e.g.
``combopt reproduce random-constraints --m 1 2 --seeds 0-4``.

Exit codes: 0 success; 1 a requested backend is unavailable, or the demonstration or
benchmark failed (its own non-zero code is passed through); 2 usage error; 3 no source
checkout found; 130 interrupted (Ctrl-C); 141 the reader of the output went away
(``combopt backends | head``). ``run_guarded`` gives ``python -m demos`` the same behaviour.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._version import __version__
from .errors import BackendNotFoundError, BackendUnavailableError, CombOptError
from .log import logger
from .registry import DEFAULT_PREFERENCE, SOLVER_ENV_VAR, default_registry

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_CHECKOUT = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool cut off by `| head`

#: Set to 1 to see the traceback of a user error instead of its one-line message.
DEBUG_ENV_VAR = "COMBOPT_DEBUG"
# Errors that a command's user causes and can fix (an argument out of range, an unknown or
# unavailable backend, a missing file or package): one line, no traceback. Solver failures
# are CombOptErrors too and are reported the same way.
USER_ERRORS: tuple[type[BaseException], ...] = (
    CombOptError,
    ValueError,
    FileNotFoundError,
    ImportError,
)
# The extra that installs an optional module the demonstrations import.
EXTRA_OF_MODULE = {
    "torch": 'torch: pip install "torch==2.13.0" -e ".[torch]"',
    "matplotlib": 'demos: pip install -e ".[demos]"',
    "tqdm": 'demos: pip install -e ".[demos]"',
    "scipy": 'demos: pip install -e ".[demos]"',
    "cvxpy": 'lp: pip install -e ".[lp]"',
    "cvxpylayers": 'lp: pip install -e ".[lp]"',
    "sentence_transformers": 'text: pip install -e ".[text]"',
    "jax": 'jax: pip install -e ".[jax]"',
    "ray": 'ray: pip install -e ".[ray]"',
    "numba": 'fast: pip install -e ".[fast]"',
}

ROOT_ENV_VAR = "COMBOPT_ROOT"
REPOSITORY_HINT = (
    "clone the combopt repository, then from its root run: "
    'pip install "torch==2.13.0" -e ".[torch,demos]" && combopt {command}'
)


@dataclass(frozen=True)
class Task:
    """A demonstration: the arguments of ``python -m demos`` and one line of help."""

    demos_args: tuple[str, ...]
    help: str


# The demonstrations of the paper, as ``python -m demos`` names them.
TASKS: dict[str, Task] = {
    "random-constraints": Task(
        ("random-constraints",),
        "Random Constraints (Sec. 4.1): learn m = 1, 2, 4, 8 constraints, binary and dense",
    ),
    "set-cover": Task(
        ("set-cover",),
        "Weighted Set Covering (Sec. 4.2): learn the covering constraints",
    ),
    "knapsack": Task(
        ("knapsack", "reproduce"),
        "Knapsack from sentences (Sec. 4.3): learn costs and a constraint from text",
    ),
    "keypoints": Task(
        ("keypoints",),
        "Keypoint matching (Sec. 4.4): learn assignment constraints and costs",
    ),
}
# The main job: one quick Random Constraints run against the box-only baseline.
DEMO_ARGS: tuple[str, ...] = ("random-constraints", "--quick")
# Where benchmark scripts live, relative to the checkout root, first match wins.
BENCH_DIRS: tuple[str, ...] = ("demos/benchmarks", "benchmarks")


class CheckoutNotFound(Exception):
    """No source checkout with the requested folder was found."""


def _is_checkout(path: Path) -> bool:
    project = path / "pyproject.toml"
    if not (project.is_file() and (path / "demos").is_dir()):
        return False
    try:
        return 'name = "combopt"' in project.read_text(encoding="utf-8")
    except OSError:
        return False


def find_source_root(
    root: str | os.PathLike | None = None,
    cwd: Path | None = None,
    package_dir: Path | None = None,
) -> Path:
    """The source checkout to run demonstrations from.

    Order: ``root`` (from ``--root``), ``$COMBOPT_ROOT``, ``cwd`` and its parents, then the
    folder above ``package_dir`` (the checkout of an editable install).

    Raises:
        CheckoutNotFound: listing where it looked.
    """
    explicit = root or os.environ.get(ROOT_ENV_VAR)
    if explicit:
        path = Path(explicit).expanduser().resolve()
        if _is_checkout(path):
            return path
        source = "--root" if root else f"${ROOT_ENV_VAR}"
        raise CheckoutNotFound(
            f"{source}: '{path}' is not a combopt source checkout (it needs pyproject.toml "
            "naming the combopt project and a demos/ folder)"
        )
    cwd = (cwd or Path.cwd()).resolve()
    package_dir = (package_dir or Path(__file__).parent).resolve()
    candidates = [cwd, *cwd.parents, package_dir.parent]
    for path in candidates:
        if _is_checkout(path):
            return path
    raise CheckoutNotFound(
        f"no combopt source checkout in '{cwd}', its parents, or above the installed "
        f"package ('{package_dir.parent}')"
    )


def _run(command: list[str], root: Path, dry_run: bool) -> int:
    """Run ``command`` in ``root``; pass its exit code through (130 on Ctrl-C)."""
    shown = " ".join(command)
    print(f"combopt: running in {root}:\n  {shown}", file=sys.stderr, flush=True)
    if dry_run:
        return EXIT_OK
    try:
        process = subprocess.Popen(command, cwd=root)
    except OSError as exc:
        print(f"combopt: could not start '{command[0]}': {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        code = process.wait()
    except KeyboardInterrupt:
        # The child got the same Ctrl-C from the terminal; give it a moment to stop cleanly.
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print("combopt: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if code != 0:
        print(f"combopt: '{shown}' exited with code {code}", file=sys.stderr)
    return code


def _checkout_or_explain(args: argparse.Namespace) -> Path | None:
    try:
        return find_source_root(args.root)
    except CheckoutNotFound as exc:
        print(
            f"combopt {args.command}: {exc}.\n"
            "The demonstrations and benchmarks live in the source repository (demos/), "
            "which 'pip install combopt' does not install; "
            + REPOSITORY_HINT.format(command=args.command)
            + f"\n(or point --root or ${ROOT_ENV_VAR} at an existing checkout)",
            file=sys.stderr,
        )
        return None


def _demos_root(args: argparse.Namespace) -> Path | None:
    """The checkout, if it has the ``demos`` package; else explain and return ``None``."""
    root = _checkout_or_explain(args)
    if root is not None and not (root / "demos" / "__main__.py").is_file():
        print(
            f"combopt {args.command}: the checkout '{root}' has no demos/__main__.py, so "
            "'python -m demos' cannot run there (an old or partial checkout?)",
            file=sys.stderr,
        )
        return None
    return root


def _python_m_demos(demos_args: Sequence[str], extra: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "demos", *demos_args, *extra]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def cmd_backends(args: argparse.Namespace) -> int:
    registry = default_registry()
    statuses = registry.statuses()
    selected = registry.resolve_name(None)
    rows = [["name", "version", "available", "plugin", "notes"]]
    for s in statuses:
        mark = " (selected)" if s.name == selected else ""
        rows.append(
            [s.name + mark, s.version or "-", "yes" if s.available else "no", s.plugin, s.reason]
        )
    print(_table(rows))
    print(
        f"\nselection: --solver argument > ${SOLVER_ENV_VAR} > the first available of "
        f"{', '.join(DEFAULT_PREFERENCE)} (now: '{selected}')"
    )
    if args.require and not any(s.available for s in statuses if s.name == args.require):
        print(f"combopt: backend '{args.require}' is not available", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    root = _demos_root(args)
    if root is None:
        return EXIT_NO_CHECKOUT
    return _run(_python_m_demos(DEMO_ARGS, args.args), root, args.dry_run)


def cmd_reproduce(args: argparse.Namespace) -> int:
    root = _demos_root(args)
    if root is None:
        return EXIT_NO_CHECKOUT
    return _run(_python_m_demos(TASKS[args.task].demos_args, args.args), root, args.dry_run)


def find_benchmarks(root: Path) -> tuple[Path | None, dict[str, Path]]:
    """The benchmark folder of a checkout and its runnable scripts by name.

    A script is a ``*.py`` file not starting with ``_`` that has a ``__main__`` block;
    helper modules beside the scripts are left out.
    """
    for rel in BENCH_DIRS:
        folder = root / rel
        if folder.is_dir():
            scripts = {
                p.stem: p
                for p in sorted(folder.glob("*.py"))
                if not p.name.startswith("_") and _is_script(p)
            }
            return folder, scripts
    return None, {}


def _is_script(path: Path) -> bool:
    try:
        return '__name__ == "__main__"' in path.read_text(encoding="utf-8")
    except OSError:
        return False


def _bench_command(root: Path, script: Path, extra: Sequence[str]) -> list[str]:
    """``python -m pkg.mod`` when the folder is a package, else ``python path``."""
    if (script.parent / "__init__.py").is_file():
        module = ".".join(script.relative_to(root).with_suffix("").parts)
        return [sys.executable, "-m", module, *extra]
    return [sys.executable, str(script.relative_to(root)), *extra]


def cmd_bench(args: argparse.Namespace) -> int:
    root = _checkout_or_explain(args)
    if root is None:
        return EXIT_NO_CHECKOUT
    folder, scripts = find_benchmarks(root)
    if folder is None or not scripts:
        where = " or ".join(f"{root / d}/" for d in BENCH_DIRS)
        print(f"combopt bench: no benchmark scripts in {where}", file=sys.stderr)
        return EXIT_NO_CHECKOUT
    if args.list or not args.names:
        print(f"benchmarks in {folder}:")
        for name, path in scripts.items():
            print(f"  {name:28s} {_first_doc_line(path)}")
        if not args.list:
            print("\nrun one with: combopt bench NAME [NAME ...] [-- SCRIPT ARGS]")
        return EXIT_OK
    unknown = [n for n in args.names if n not in scripts]
    if unknown:
        print(
            f"combopt bench: unknown benchmark(s) {', '.join(unknown)}; "
            f"known: {', '.join(scripts)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for name in args.names:
        code = _run(_bench_command(root, scripts[name], args.args), root, args.dry_run)
        if code != 0:
            return code
    return EXIT_OK


def _first_doc_line(path: Path) -> str:
    """The first line of a script's module docstring, for the listing."""
    import ast

    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (OSError, SyntaxError, ValueError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""


EPILOG = """\
exit codes: 0 success; 1 backend unavailable or the run failed (a demonstration's or
benchmark's own exit code is passed through); 2 usage error; 3 no source checkout;
130 interrupted; 141 output pipe closed. COMBOPT_DEBUG=1 shows an error's traceback.

examples:
  combopt backends                      which solvers can run here
  combopt demo                          the quick Random Constraints demonstration
  combopt reproduce random-constraints --m 1 2 4 8 --seeds 0-4
  combopt bench --list                  the benchmark scripts
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="combopt",
        description=(
            "Integer linear programs as differentiable neural-network layers (CombOptNet).\n"
            "Inspect the solver backends; run the demonstrations and benchmarks."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"combopt {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the library's log messages on stderr"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "backends",
        help="list solver backends and whether they can run here",
        description="List every registered solver backend: version, whether it can run "
        "here and, if not, why (with the install command).",
    )
    p.add_argument("--require", metavar="NAME", help="exit 1 unless backend NAME is available")
    p.set_defaults(func=cmd_backends)

    checkout = argparse.ArgumentParser(add_help=False)
    checkout.add_argument(
        "--root",
        metavar="DIR",
        help=f"the source checkout to run in (default: ${ROOT_ENV_VAR}, the current directory "
        "or its parents, or the checkout of an editable install)",
    )
    checkout.add_argument(
        "--dry-run", action="store_true", help="print the command that would run, and stop"
    )

    p = sub.add_parser(
        "demo",
        parents=[checkout],
        help="run the quick demonstration (learn Random Constraints, compare with box only)",
        description="Learn the constraints of a Random Constraints dataset with the "
        "CombOptNet layer and print test accuracy beside the box-only baseline. Runs "
        f"'python -m demos {' '.join(DEMO_ARGS)}' in a source checkout; extra arguments "
        "are passed on (e.g. --solver gurobi).",
    )
    p.set_defaults(func=cmd_demo)

    tasks = "\n".join(f"  {name:20s} {task.help}" for name, task in TASKS.items())
    p = sub.add_parser(
        "reproduce",
        parents=[checkout],
        help="reproduce one of the paper's demonstrations",
        description="Run one of the paper's demonstrations with its full protocol\n"
        "('python -m demos TASK ...' in a source checkout). Extra arguments are passed on;\n"
        "for the demonstration's own options: combopt reproduce TASK -- --help\n\ntasks:\n" + tasks,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", choices=list(TASKS), metavar="TASK", help="one of: " + ", ".join(TASKS))
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser(
        "bench",
        parents=[checkout],
        help="list or run the benchmark scripts",
        description="List the benchmark scripts of a source checkout, or run the named ones "
        "in turn (stopping at the first failure). Arguments after '--' go to every script.",
    )
    p.add_argument("--list", action="store_true", help="list the benchmarks and stop")
    p.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run")
    p.set_defaults(func=cmd_bench)
    return parser


def _user_error_line(exc: BaseException) -> str:
    """A user error as one line, with the extra to install when a module is missing."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        extra = EXTRA_OF_MODULE.get(exc.name.partition(".")[0])
        if extra:
            return f"the Python package '{exc.name}' is not installed; extra {extra}"
    return " ".join(str(exc).split()) or type(exc).__name__


def _exit_code_of(exc: BaseException) -> int:
    """2 for what the command line asked wrongly, 1 for what the machine lacks or failed."""
    if isinstance(exc, (BackendUnavailableError, ImportError)):
        return EXIT_FAILED
    if isinstance(exc, (BackendNotFoundError, ValueError, FileNotFoundError)):
        return EXIT_USAGE
    return EXIT_FAILED


def run_guarded(prog: str, body: Callable[[], int]) -> int:
    """Run a command's ``body()`` as command-line tools behave; return the exit code.

    * Ctrl-C prints ``PROG: interrupted`` and returns 130, without a traceback.
    * A reader that closes the pipe early (``| head``) ends the command quietly with 141.
    * A user error (one of ``USER_ERRORS``) prints ``PROG: error: MESSAGE`` on one line and
      returns 2 for a wrong argument, 1 for an unavailable backend, a missing package or a
      failed solve; ``$COMBOPT_DEBUG=1`` raises it instead, with its traceback.
    """
    try:
        code = body()
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # Python's advice for SIGPIPE: point stdout at devnull so that the final flush at
        # exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except USER_ERRORS as exc:
        if os.environ.get(DEBUG_ENV_VAR, "") not in ("", "0"):
            raise
        print(f"{prog}: error: {_user_error_line(exc)}", file=sys.stderr)
        return _exit_code_of(exc)


def _log_to_stderr() -> None:
    """``--verbose``: the library's log messages, debug level up, on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("combopt: %(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); return the exit code.

    Usage errors exit through ``SystemExit(2)`` (argparse); everything else returns one of
    the exit codes in the module docstring.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    passed: list[str] = []
    if "--" in argv:
        # Everything after ``--`` goes to the demonstration or benchmark unchanged.
        cut = argv.index("--")
        argv, passed = argv[:cut], argv[cut + 1 :]
    args, unknown = parser.parse_known_args(argv)
    if args.command in ("demo", "reproduce"):
        # Options combopt does not know belong to the demonstration.
        args.args = unknown + passed
    elif unknown or (passed and args.command != "bench"):
        hint = " (pass script arguments after '--')" if args.command == "bench" else ""
        parser.error(f"unrecognized arguments: {' '.join(unknown + passed)}{hint}")
    else:
        args.args = []
    if args.command == "bench":
        args.args = passed
    if args.verbose:
        _log_to_stderr()
    return run_guarded("combopt", lambda: args.func(args))


if __name__ == "__main__":
    sys.exit(main())
