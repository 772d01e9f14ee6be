"""``python -m demos cost-rules``: the cost rules beside CombOptNet's, over seeds, to a table."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .experiment import GRID, compare
from .report import figure, read_csv, table, write_csv

DEFAULT_OUT = Path("docs/results/cost_rules")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m demos cost-rules",
        description="Cost rules (blackbox, perturbed Fenchel-Young, SPO+, identity) beside "
        "CombOptNet's on the synthetic fixed-ILP task, settings chosen on validation.",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--methods", nargs="+", choices=list(GRID), default=list(GRID))
    parser.add_argument("--p", type=int, default=5, help="keypoints per side (n = p^2)")
    parser.add_argument("--train", type=int, default=400, help="training draw, --val included")
    parser.add_argument("--val", type=int, default=100, help="held out from --train")
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--solver", default="cpsat", help="backend name (default: cpsat)")
    parser.add_argument("--workers", type=int, default=1, help="parallel solves per batch")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder")
    parser.add_argument(
        "--report-only", action="store_true", help="redraw table and figure from the CSV"
    )
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.val < 1:
        raise SystemExit("--val: the settings are chosen on validation; give at least 1")
    args.out.mkdir(parents=True, exist_ok=True)
    csv_path = args.out / "cost_rules.csv"
    if args.report_only:
        rows = read_csv(csv_path)
    else:
        task = ["--p", str(args.p), "--train", str(args.train), "--val", str(args.val)]
        task += ["--test", str(args.test), "--epochs", str(args.epochs)]
        task += ["--solver", args.solver, "--workers", str(args.workers)]
        rows = compare(args.seeds, args.methods, task, progress=not args.quiet)
        write_csv(rows, csv_path)
    text = table(rows)
    shown = [a for a in argv if a not in ("--report-only", "--quiet")]  # what makes the CSV
    command = "python -m demos cost-rules " + " ".join(shown)
    (args.out / "cost_rules.md").write_text(f"{text}\n\nCommand: `{command.strip()}`\n")
    figure(rows, args.out / "cost_rules.png")
    print(text)
    return 0
