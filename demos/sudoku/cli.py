"""``python -m demos sudoku``: learn the rules of Sudoku with CombOptNet, beside an MLP.

``--quick`` runs 4x4 symbolic Sudoku for about a minute (the true-rule ILP, the MLP, and
CombOptNet for a fixed training-time budget) and prints the table. A full run trains every
``--size`` x ``--input`` x ``--methods`` x ``--seeds`` (ILP-Loss among the methods) and
writes ``results.csv``, ``results.md`` and the figures under ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

from combopt_core.registry import DEFAULT_BACKEND, SOLVER_ENV_VAR

from . import figure
from .experiment import LEARNED, METHODS, Record, Setting, load_data, run
from .ilploss import SudokuILPLoss
from .model import ENCODINGS, band_rows
from .train import Protocol

DEFAULT_OUT = Path("docs/results/sudoku")
DEFAULT_TRAIN = {4: 1000, 6: 3000, 9: 10000}
# Defaults of what the command line leaves unset; --train None: DEFAULT_TRAIN per size.
FULL = {
    "size": [4, 6, 9],
    "seeds": [0, 1, 2],
    "test": 1000,
    "epochs": 20,
    "mlp_epochs": 100,
    "ilploss_epochs": 40,
    "methods": list(METHODS),
}
QUICK = {
    "size": [4],
    "seeds": [0],
    "train": 500,
    "test": 200,
    "epochs": 3,
    "mlp_epochs": 30,
    "ilploss_epochs": 3,
    "max_seconds": 20.0,
    "methods": ["comboptnet", "mlp", "rules"],
}
MLP_LR = 1e-3


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m demos sudoku", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="4x4 symbolic, about a minute, no files")
    p.add_argument(
        "--size",
        type=int,
        nargs="+",
        choices=(4, 6, 9),
        default=None,
        help="grid sizes (default: 4 6 9)",
    )
    p.add_argument("--input", nargs="+", choices=("symbolic", "visual"), default=["symbolic"])
    p.add_argument(
        "--methods",
        nargs="+",
        choices=METHODS,
        default=None,
        help="(default: all; --quick: comboptnet mlp rules, since ILP-Loss's validation "
        "solves of half-learned rows alone take minutes)",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="(default: 0 1 2)")
    p.add_argument(
        "--train",
        type=int,
        default=None,
        help="training puzzles, validation carved from them (default: 1,000 / 3,000 "
        "/ 10,000 for 4x4 / 6x6 / 9x9)",
    )
    p.add_argument("--test", type=int, default=None, help="test puzzles (default: 1,000)")
    p.add_argument(
        "--test-split",
        choices=("test", "hard"),
        default="test",
        help="'hard': at most 25 givens at 9x9 (default: test, about 36)",
    )
    p.add_argument(
        "--m",
        type=int,
        default=None,
        help="learned constraints (default: 4 s^2, as many as the true rules; with "
        "--encoding bands: ceil(s^3 / 2) + 1 bands, 33 / 109 / 366)",
    )
    p.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="packing",
        help="learned rows: 'packing' (the paper's inequality rows, costs with the fill "
        "bonus) or 'bands' (learned equalities |a.y + beta| <= --band-margin, two rows "
        "each, initialised through y = 0; costs -g) (default: packing)",
    )
    p.add_argument(
        "--band-margin",
        type=float,
        default=0.1,
        help="half-width of each learned equality band (default: 0.1, ILP-Loss's)",
    )
    p.add_argument(
        "--refit-bands",
        action="store_true",
        help="bands: validate and test the learned bands refit, each to its least-squares "
        "nearest band that holds every training solution exactly (training unchanged)",
    )
    p.add_argument(
        "--costs",
        choices=("probs", "log"),
        default="probs",
        help="visual ILP costs at given cells: the CNN's 'probs' or 'log' probabilities "
        "(the optimum is then the most likely solved grid; under packing rows with a fill "
        "bonus that keeps every cell filled) (default: probs)",
    )
    p.add_argument(
        "--cnn-loss",
        choices=("ilp", "cells"),
        default="ilp",
        help="visual: how the digit CNN learns; 'ilp' through the ILP's loss (the paper's "
        "rule with exact solves, or ILP-Loss's cost row), 'cells' by cross-entropy of each "
        "given cell's image against that cell's digit in the solved board (rules and "
        "ilploss; ilploss then learns the rules from those digits) (default: ilp)",
    )
    p.add_argument(
        "--cnn-shift",
        action="store_true",
        help="--cnn-loss cells: train the CNN on images shifted by a random pixel per axis",
    )
    p.add_argument(
        "--val-images",
        choices=("train", "heldout"),
        default="train",
        help="visual: validation puzzles draw their images from the training pool ('train') "
        "or from a fifth of it that the training puzzles never draw from ('heldout', so "
        "validation reads images the CNN has not seen, like the test) (default: train)",
    )
    p.add_argument(
        "--fix-confident",
        type=float,
        default=None,
        metavar="P",
        help="visual ILP methods: validate and test with every given cell that the CNN reads "
        "with probability >= P fixed to that digit, the solver deciding only the doubtful "
        "givens and the blanks (default: none, the solver decides every cell)",
    )
    p.add_argument(
        "--cnn-lr",
        type=float,
        default=1e-3,
        help="ilploss with --cnn-loss cells: the CNN's own Adam learning rate, constant "
        "(default: 1e-3; the rules method's CNN uses --lr)",
    )
    p.add_argument(
        "--weight-decay",
        type=float,
        default=0.0,
        help="ILP-Loss: AdamW's decoupled weight decay (default: 0, plain Adam)",
    )
    p.add_argument(
        "--val-puzzles",
        type=int,
        default=None,
        help="validate on the first this many validation puzzles (default: all)",
    )
    p.add_argument(
        "--val-time-limit",
        type=float,
        default=None,
        help="seconds per validation solve; a solve that hits it scores as wrong and is "
        "counted apart (default: --time-limit)",
    )
    p.add_argument("--epochs", type=int, default=None, help="(default: 20; --quick: 3)")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam learning rate (the paper's)")
    p.add_argument(
        "--mlp-epochs",
        type=int,
        default=None,
        help=f"the MLP's epochs, at learning rate {MLP_LR} (default: 100; --quick: 30)",
    )
    p.add_argument(
        "--ilploss-epochs",
        type=int,
        default=None,
        help="ILP-Loss's epochs (default: 40; --quick: 3)",
    )
    p.add_argument(
        "--ilploss-lr",
        type=float,
        default=1e-3,
        help="ILP-Loss's peak learning rate of its cyclic schedule (default: 1e-3, ILP-Loss's)",
    )
    p.add_argument(
        "--half-cycle",
        type=int,
        default=2,
        help="ILP-Loss: epochs from 0 to the peak learning rate (default: 2)",
    )
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="ILP-Loss's starting soft-min temperature (default: 1, ILP-Loss's)",
    )
    p.add_argument(
        "--pos-margin",
        type=float,
        default=0.01,
        help="ILP-Loss: how far (a distance) each gold point must lie inside every learned "
        "row (default: 0.01, ILP-Loss's); with bands it must stay below each band's "
        "half-width --band-margin / ||a||, else the two rows' pulls on a gold point cancel",
    )
    p.add_argument(
        "--per-hop",
        type=int,
        default=64,
        help="ILP-Loss: random negatives per gold point at each of 2, 3, 4 bit flips "
        "(default: 64; every single flip is always a negative)",
    )
    p.add_argument(
        "--no-projections",
        action="store_true",
        help="ILP-Loss: no projection negatives (one per learned row; they dominate the "
        "step's cost at 9x9)",
    )
    p.add_argument(
        "--no-flips",
        action="store_true",
        help="ILP-Loss: no single-bit-flip negatives (s^3 of them per gold point)",
    )
    p.add_argument("--batch-size", type=int, default=8, help="training batch size (default: 8)")
    p.add_argument(
        "--val-every",
        type=int,
        default=1,
        help="ILP-Loss: epochs between validations, each an exact solve of the validation "
        "split (default: 1)",
    )
    p.add_argument(
        "--max-seconds",
        type=float,
        default=None,
        help="stop a run's training after this much training time (forward + "
        "backward); the run is reported with its steps and flagged 'stopped' "
        "(default: none; --quick: 20)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds per ILP solve (default: none, every answer proven optimal); "
        "a run with a limit is marked 'not exact' and counts its test time-outs",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel ILP solves per batch (default: 1; training's batches are small, "
        "validation and test solve 100 puzzles a batch)",
    )
    p.add_argument(
        "--solver",
        default=None,
        help=f"combopt backend (default: ${SOLVER_ENV_VAR}, else {DEFAULT_BACKEND})",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"where results go (default: {DEFAULT_OUT}; --quick: nowhere)",
    )
    p.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    p.add_argument(
        "--report",
        type=Path,
        nargs="+",
        default=None,
        metavar="DIR",
        help="train nothing: merge the results.csv of these runs' folders into one "
        "table and accuracy figure under --out",
    )
    return p


def _check(args: argparse.Namespace) -> None:
    for name in ("train", "test", "m", "epochs", "mlp_epochs", "ilploss_epochs", "half_cycle"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name.replace('_', '-')}: must be at least 1, got {value}")
    for name in ("per_hop", "val_every", "batch_size", "workers"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: must be at least 1")
    for name in ("ilploss_lr", "temperature", "band_margin", "cnn_lr"):
        if not getattr(args, name) > 0:
            raise ValueError(f"--{name.replace('_', '-')}: must be positive")
    if args.val_puzzles is not None and args.val_puzzles < 1:
        raise ValueError(f"--val-puzzles: must be at least 1, got {args.val_puzzles}")
    if args.val_time_limit is not None and not args.val_time_limit > 0:
        raise ValueError(f"--val-time-limit: must be positive, got {args.val_time_limit}")
    if args.fix_confident is not None and not 0 < args.fix_confident <= 1:
        raise ValueError(f"--fix-confident: must be in (0, 1], got {args.fix_confident}")
    if args.pos_margin < 0:
        raise ValueError(f"--pos-margin: must be >= 0, got {args.pos_margin}")
    if args.weight_decay < 0:
        raise ValueError(f"--weight-decay: must be >= 0, got {args.weight_decay}")
    if args.train is not None and args.train < 10:
        raise ValueError(
            f"--train: need at least 10 puzzles to carve a validation split, got {args.train}"
        )


def table(rows: Sequence[dict]) -> str:
    """Markdown: mean +- std over seeds of each (size, input, method)."""

    label = figure.method_label
    keys = sorted({(int(r["size"]), r["input"], label(r), r["test_split"]) for r in rows})
    head = (
        "| grid | input | method | test split | seeds | board acc. (%) | cell acc. (%) | "
        "steps | train time (s): fwd / bwd / rest | val. time (s) | test s/puzzle |"
    )
    lines = [head, "|" + "---|" * 11]
    for size, inp, method, split in keys:
        group = [
            r
            for r in rows
            if (int(r["size"]), r["input"], label(r), r["test_split"]) == (size, inp, method, split)
        ]

        def stat(field: str, fmt: str = ".1f", group=group) -> str:
            v = np.array([float(r[field]) for r in group])
            return f"{v.mean():{fmt}} ± {v.std():{fmt}}" if len(v) > 1 else f"{v[0]:{fmt}}"

        stopped = " (stopped)" if any(str(r["stopped"]) == "True" for r in group) else ""
        limit = group[0].get("time_limit")
        if limit not in (None, ""):
            outs = sum(int(r["time_outs"]) for r in group)
            method = f"{method} (limit {float(limit):g} s/ILP, not exact: {outs} test time-outs)"
        times = " / ".join(
            f"{np.mean([float(r[f]) for r in group]):.0f}"
            for f in ("seconds_forward", "seconds_backward", "seconds_rest")
        )
        # runs recorded before validation was timed apart count it in 'rest'
        val = [float(r["seconds_validation"]) for r in group if r.get("seconds_validation")]
        val_time = f"{np.mean(val):.0f}" if len(val) == len(group) else "in rest"
        lines.append(
            f"| {size}x{size} | {inp} | {method} | {split} | {len(group)} | {stat('test_board')} "
            f"| {stat('test_cell')} | {stat('steps', '.0f')}{stopped} | {times} | {val_time} | "
            f"{stat('test_seconds_per_puzzle', '.3f')} |"
        )
    return "\n".join(lines)


def write_csv(records: Sequence[Record], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[x.name for x in fields(Record)])
        w.writeheader()
        for r in records:
            w.writerow(asdict(r))


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _check(args)
    if args.report:
        return merge_reports(args.report, args.out or DEFAULT_OUT)
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    sizes = args.size
    solver = args.solver or os.environ.get(SOLVER_ENV_VAR) or DEFAULT_BACKEND
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    protocol_args = {
        "epochs": args.epochs,
        "lr": args.lr,
        "max_seconds": args.max_seconds,
        "verbose": not args.quiet,
        "val_puzzles": args.val_puzzles,
        "val_time_limit": args.val_time_limit,
        "batch_size": args.batch_size,
    }
    ilploss = SudokuILPLoss(
        replace(
            SudokuILPLoss().config,
            temperature=args.temperature,
            half_cycle=args.half_cycle,
            pos_margin=args.pos_margin,
        ),
        per_hop=args.per_hop,
        projections=not args.no_projections,
        flips=not args.no_flips,
        cnn_lr=args.cnn_lr,
    )
    log = print if not args.quiet else (lambda *a, **k: None)

    records, boards, step_runs, rule_runs = [], [], [], []
    for size in sizes:
        for inp in args.input:
            num_train = args.train or DEFAULT_TRAIN[size]
            print(
                f"== {size}x{size} {inp}: {num_train} training puzzles (10 % validation), "
                f"{args.test} {args.test_split} puzzles; ILP backend {solver}",
                flush=True,
            )
            base = Setting(
                size,
                inp == "visual",
                "rules",
                0,
                num_train,
                args.test,
                args.m or (band_rows(size) if args.encoding == "bands" else 4 * size * size),
                solver,
                test_split=args.test_split,
                time_limit=args.time_limit,
                encoding=args.encoding,
                band_margin=args.band_margin,
                refit_bands=args.refit_bands,
                costs=args.costs,
                cnn_loss=args.cnn_loss,
                cnn_shift=args.cnn_shift,
                val_images=args.val_images,
                fix_confident=args.fix_confident,
                workers=args.workers,
            )
            data = load_data(base)
            for method in args.methods:
                for seed in args.seeds if method != "rules" or inp == "visual" else [0]:
                    setting = Setting(**{**asdict(base), "method": method, "seed": seed})
                    log(f"-- {method}, seed {seed}")
                    protocol = Protocol(seed=seed, **protocol_args)
                    if method == "mlp":
                        protocol = replace(protocol, epochs=args.mlp_epochs, lr=MLP_LR)
                    if method == "ilploss":
                        protocol = replace(
                            protocol,
                            epochs=args.ilploss_epochs,
                            lr=args.ilploss_lr,
                            val_every=args.val_every,
                            weight_decay=args.weight_decay,
                        )
                    record, extras = run(setting, protocol, data, log, ilploss)
                    records.append(record)
                    print(
                        f"{size}x{size} {inp} {method} seed {seed}: test board "
                        f"{record.test_board:.1f} %, cell {record.test_cell:.1f} %, "
                        f"{record.steps} steps{' (stopped)' if record.stopped else ''}",
                        flush=True,
                    )
                    label = f"{size}x{size} {inp} {method} seed {seed}"
                    if method in LEARNED:
                        step_runs.append((label, extras["step_forward"]))
                        bands = (extras["b"],) if args.encoding == "bands" else ()
                        rule_runs.append((label, extras["A"], size, *bands))
                    if seed == args.seeds[0] and method in (*LEARNED, "rules"):
                        boards.append((f"{size}x{size} {inp} {method}", data["test"], extras))
                    if out is not None:
                        out.mkdir(parents=True, exist_ok=True)
                        write_csv(records, out / "results.csv")  # as the runs go
    rows = [asdict(r) for r in records]
    text = table(rows)
    print(text)
    if out is not None:
        _write_report(out, rows, text, step_runs, rule_runs, boards, argv)
    return 0


def merge_reports(folders: Sequence[Path], out: Path) -> int:
    """One table (``results.md``) and accuracy figure from several runs' ``results.csv``."""
    rows = []
    for folder in folders:
        path = folder / "results.csv"
        if not path.is_file():
            raise ValueError(f"--report: no results.csv in {folder}")
        with path.open(newline="") as f:
            rows.extend(csv.DictReader(f))
    out.mkdir(parents=True, exist_ok=True)
    text = table(rows)
    figure.plot_accuracy(rows, out / "accuracy.png")
    names = ", ".join(str(f) for f in folders)
    (out / "results.md").write_text(f"Merged from the runs in {names}.\n\n{text}\n")
    print(text)
    return 0


def _write_report(out, rows, text, step_runs, rule_runs, boards, argv) -> None:
    command = "python -m demos sudoku " + shlex.join(sys.argv[1:] if argv is None else argv)
    figure.plot_accuracy(rows, out / "accuracy.png")
    if step_runs:
        figure.plot_step_times(step_runs, out / "step_times.png")
        figure.plot_rules(rule_runs, out / "rules.png")
    for label, (test_set, test_in), extras in boards:
        name = label.replace(" ", "_") + ".png"
        index = test_in.get("image_index")
        figure.draw_boards(
            test_set.puzzles[:3],
            extras["grids"][:3],
            test_set.solutions[:3],
            out / f"boards_{name}",
            None if index is None else index[:3].numpy(),
            label,
        )
    (out / "results.md").write_text(f"Reproduce: `{command}`\n\n{text}\n")
    print(f"wrote {out / 'results.csv'}, {out / 'results.md'} and the figures")
