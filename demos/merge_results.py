"""``python -m demos merge-results A.csv B.csv ... --name STEM``: one table from several runs.

A full protocol rarely runs as one command (seed 0 first, seeds 1-4 later; one variant per
machine). This merges the per-run CSVs that ``random-constraints`` and ``set-cover`` write
into one report (``STEM.csv``, ``.md`` with mean ± std over every seed, ``.png``), listing the
command behind each source, under a heading said from the runs (or ``--title``). A run
(task, variant, m, seed, method, learned constraints) may appear in only one source.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .experiment import RunRecord, markdown_table, plot, report_title, write_csv

#: task -> (module holding its PAPER numbers, plot title)
TASK_PAPERS = {
    "random-constraints": ("demos.random_constraints", "Random Constraints"),
    "set-cover": ("demos.set_cover", "Weighted Set Covering"),
}


def read_csv(path: Path) -> list[RunRecord]:
    """The ``RunRecord`` rows of one results CSV (as ``write_csv`` wrote them)."""
    types = {f.name: f.type for f in dataclasses.fields(RunRecord)}
    convert = {"int": int, "float": float, "str": str}
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or set(rows[0]) != set(types):
        raise SystemExit(f"{path}: not a results CSV (expected the columns {sorted(types)})")
    return [RunRecord(**{k: convert[types[k]](v) for k, v in row.items()}) for row in rows]


def source_command(path: Path) -> str:
    """The command recorded in the markdown report beside ``path``, if there is one."""
    md = path.with_suffix(".md")
    if md.is_file():
        for line in md.read_text().splitlines():
            if line.startswith("Command: `"):
                return line[len("Command: `") : -1]
    return "(no report beside the CSV)"


def merge(paths: Sequence[Path]) -> list[RunRecord]:
    """Every record of ``paths``; a run found in two sources is an error naming both."""
    seen: dict[tuple, Path] = {}
    records: list[RunRecord] = []
    for path in paths:
        for r in read_csv(path):
            key = (r.task, r.variant, r.m, r.seed, r.method, r.learned_constraints)
            if key in seen:
                raise SystemExit(f"{path}: run {key} is also in {seen[key]}; keep one of them")
            seen[key] = path
            records.append(r)
    _check_protocols(records)
    return records


def _check_protocols(records: Sequence[RunRecord]) -> None:
    """Seeds averaged into one cell must share the protocol (epochs, lr, constraints)."""
    cells: dict[tuple, tuple] = {}
    for r in records:
        cell = (r.variant, r.method, r.m)
        protocol = (r.epochs, r.lr, r.learned_constraints)
        if cells.setdefault(cell, protocol) != protocol:
            raise SystemExit(
                f"csv: cell {cell} mixes protocols (epochs, lr, learned constraints) "
                f"{cells[cell]} and {protocol}; merge runs of one protocol"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos merge-results", description=__doc__)
    parser.add_argument("csv", nargs="+", type=Path, help="results CSVs to merge")
    parser.add_argument("--name", required=True, help="file stem of the merged report")
    parser.add_argument("--out", type=Path, default=Path("docs/results"))
    parser.add_argument(
        "--title",
        help="the report's heading (default: said from the runs, e.g. 'Random Constraints, "
        "binary: m = 1, 2; 5 seeds; 100 epochs; Gurobi')",
    )
    args = parser.parse_args(argv)
    for path in args.csv:
        if not path.is_file():
            raise SystemExit(f"csv: no such file: {path}")
    records = merge(args.csv)
    tasks = {r.task for r in records}
    if len(tasks) != 1 or not tasks <= set(TASK_PAPERS):
        raise SystemExit(
            f"csv: expected the runs of one task of {sorted(TASK_PAPERS)}, got {sorted(tasks)}"
        )
    module, title = TASK_PAPERS[tasks.pop()]
    paper = __import__(module, fromlist=["PAPER"]).PAPER
    given = sys.argv[1:] if argv is None else argv
    command = "python -m demos merge-results " + " ".join(map(shlex.quote, given))
    sources = "\n".join(f"- `{p}`: `{source_command(p)}`" for p in args.csv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(records, args.out / f"{args.name}.csv")
    heading = args.title or report_title(title, records)
    table = markdown_table(records, paper, command, heading, f"{args.name}.png")
    (args.out / f"{args.name}.md").write_text(f"{table}\nMerged from:\n\n{sources}\n")
    plot(records, paper, args.out / f"{args.name}.png", title)
    print(table)
    print(f"written to {args.out / args.name}.csv/.md/.png")
    return 0
