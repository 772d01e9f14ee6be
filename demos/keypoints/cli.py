"""``python -m demos.keypoints`` (or ``python -m demos keypoints``): the keypoint demos.

Subcommands:
  synthetic  train and test on the synthetic benchmark for each p and seed, then write the
             table (``results.md``) and the figure (``matchings.png``) under ``--out``;
  table      rebuild the table and figure from the runs already under ``--out``;
  spair      the real experiment on SPair-71k with a backbone from disk (see ``spair``).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .backend import PREFERRED, choose_options, choose_solver
from .train import METHODS, Protocol

DEFAULT_OUT = Path("docs/results/keypoints")


def _protocol_args(parser: argparse.ArgumentParser) -> None:
    d = Protocol()
    g = parser.add_argument_group("protocol (defaults: the paper's)")
    g.add_argument("--p", type=int, nargs="+", default=[4, 5, 6, 7], help="keypoints per image")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    g.add_argument("--epochs", type=int, default=d.epochs)
    g.add_argument("--iterations", type=int, default=d.iterations, help="iterations per epoch")
    g.add_argument("--batch-size", type=int, default=d.batch_size)
    g.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate of the network")
    g.add_argument(
        "--constraint-lr", type=float, default=None, help="of the constraints (default: --lr)"
    )
    g.add_argument("--tau", type=float, default=d.tau)
    g.add_argument(
        "--method",
        choices=METHODS,
        default=d.method,
        help="combopt: the paper's rule through the ILP; ilploss: solver-free training, the "
        "ILP solved only to validate and test (default: combopt)",
    )
    g.add_argument(
        "--ilploss-temperature",
        type=float,
        default=d.ilploss_temperature,
        help=f"ILP-Loss: starting soft-min temperature (default: {d.ilploss_temperature})",
    )
    g.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per ILP solve in training (default: none, exact)",
    )
    g.add_argument(
        "--eval-time-limit",
        type=float,
        default=None,
        help="seconds per ILP solve in validation and test (default: none, exact)",
    )
    g.add_argument("--workers", type=int, default=None, help="parallel ILP solves (default: cores)")
    g.add_argument(
        "--solver",
        default=None,
        help="combopt backend name (default: $COMBOPT_SOLVER, else the first "
        "available of " + ", ".join(PREFERRED) + ", fastest first)",
    )
    g.add_argument(
        "--solver-options",
        default=None,
        metavar="JSON",
        help="keyword options for the backend as a JSON object, e.g. "
        "'{\"options\": {\"linearization_level\": 2}}' for CP-SAT; '{}' for "
        "the backend's defaults (default: the options tuned for these ILPs)",
    )
    g.add_argument(
        "--cardinality-split",
        action="store_true",
        help="branch once on sum(y) before the backend's search (exact; faster on the "
        "half-learned p >= 7 ILPs with Gurobi, see docs/keypoints.md)",
    )
    g.add_argument(
        "--threads", type=int, default=None, help="torch intra-op threads (default: torch's)"
    )


def _protocol(args: argparse.Namespace) -> Protocol:
    solver, why = choose_solver(args.solver)
    options, options_why = choose_options(solver, args.solver_options)
    split = ", cardinality split" if args.cardinality_split else ""
    print(f"ILP backend: {solver} ({why}), options {json.dumps(options)} ({options_why}){split}")
    return Protocol(
        epochs=args.epochs,
        iterations=args.iterations,
        batch_size=args.batch_size,
        lr=args.lr,
        constraint_lr=args.constraint_lr,
        tau=args.tau,
        time_limit=args.time_limit,
        eval_time_limit=args.eval_time_limit,
        workers=args.workers,
        solver=solver,
        solver_options=options,
        method=args.method,
        ilploss_temperature=args.ilploss_temperature,
        cardinality_split=args.cardinality_split,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos keypoints",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    syn = sub.add_parser("synthetic", help="the synthetic benchmark: train, test, table, figure")
    _protocol_args(syn)
    syn.add_argument("--train-size", type=int, default=4000, help="training pairs per run")
    syn.add_argument("--val-size", type=int, default=200)
    syn.add_argument("--test-size", type=int, default=1000)
    syn.add_argument("--out", type=Path, default=DEFAULT_OUT)
    syn.add_argument("--rerun", action="store_true", help="redo runs whose result file exists")

    tab = sub.add_parser("table", help="rebuild results.md and matchings.png from --out/runs")
    tab.add_argument("--out", type=Path, default=DEFAULT_OUT)

    from .spair import add_spair_arguments

    add_spair_arguments(
        sub.add_parser("spair", help="the real experiment on SPair-71k"), _protocol_args
    )
    return parser


def write_report(out: Path, command: str | None = None) -> str:
    """Write ``results.md`` (table + commands) and ``matchings.png`` from ``out/runs``.

    ``command`` is added to ``out/command.txt`` (one line per distinct command), so a folder
    filled by several runs, e.g. one per ``p``, lists every command behind its table.
    """
    from .experiment import load_runs, table
    from .figure import draw_matchings

    results = load_runs(out)
    text = table(results)
    header = "# Synthetic keypoint matching (not SPair-71k)\n\n"
    cmd_file = out / "command.txt"
    commands = cmd_file.read_text().splitlines() if cmd_file.exists() else []
    if command and command not in commands:
        commands.append(command)
        cmd_file.write_text("\n".join(commands) + "\n")
    if commands:
        header += "Commands:\n\n```\n" + "\n".join(commands) + "\n```\n\n"
    (out / "results.md").write_text(
        header + "Test split, best validation epoch; accuracy and valid permutations in %, "
        "mean ± std over seeds.\n\n" + text
    )
    draw_matchings(results, out / "matchings.png")
    return text


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)
    if args.command == "synthetic":
        from .experiment import sweep

        protocol = _protocol(args)
        sizes = (args.train_size, args.val_size, args.test_size)
        sweep(args.p, args.seeds, protocol, sizes, args.out, skip_existing=not args.rerun)
        command = "python -m demos keypoints " + shlex.join(argv)
        print(write_report(args.out, command))
    elif args.command == "table":
        print(write_report(args.out))
    else:
        from .spair import run_spair

        run_spair(args, _protocol(args))
    return 0
