"""Solver-free training (ILP-Loss) against the paper's rule, per Random Constraints cell.

For each ``(variant, m, seed)``, in one process:

* ``ilploss``: a full run of ``demos.ilploss_training.train_ilploss`` for ``--epochs``
  epochs (2m learned constraints, no solver in training; the validation split solved every
  few epochs and the test split once, exactly, on ``--solver``): its training-step seconds,
  its total seconds and its exact-match test accuracy;
* ``rule``: the paper's rule (``demos.training.train``, m learned constraints, the same
  backend, one worker) timed on ``--rule-epochs`` epochs; its per-epoch training-step time
  times ``--epochs`` is the time it would need at the same epoch budget (early epochs stand
  for all: a projection, not a full run);
* before the first cell, one untimed ILP-Loss step per box loads the negatives' compiled
  loops (numba; compiled once per machine), as a training run would have done already;
* with ``--same-batch-seeds``, those seeds also train ILP-Loss at the rule's batch size (8),
  so that the speed-up at the same batch sits beside the one at ``--batch-size``.

Printed per cell and written to ``--out`` (CSV) as it goes: both times and their ratios
(``train``: training steps against training steps; ``total``: the rule's projected steps
against all of ILP-Loss's seconds, its solves included), the ILP-Loss test accuracy and best
validation accuracy. ``--plot`` draws accuracy and speed-up per cell; ``--rule-results``
(CSV reports of full runs of the paper's rule, ``python -m demos random-constraints``) puts
their test accuracy beside ILP-Loss's in the figure and in ``--table`` (markdown).

    python -m demos.benchmarks.ilploss_speed [--variant binary dense] [--m 1 2 4 8]
        [--seeds 0-4] [--epochs 100] [--rule-epochs 2] [--same-batch-seeds 0] [--solver gurobi]
        [--out CSV]
        [--plot PNG] [--table MD] [--rule-results CSV ...]
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from combopt_core import get_solver
from combopt_torch import CombOptNet
from combopt_torch.ilploss import ILPLoss

from ..datasets import load_random_constraints
from ..experiment import ILPLOSS_FACTOR, ILPLOSS_LR, PAPER_LR, parse_seeds
from ..ilploss_training import ILPLossConfig, train_ilploss
from ..training import TrainConfig, train
from .common import machine_note

BOXES = {"binary": (0.0, 1.0), "dense": (-5.0, 5.0)}
RULE_BATCH = 8  # the paper's batch size for the rule
FIELDS = (
    "variant", "m", "seed", "epochs", "ilploss_train_s", "ilploss_total_s",
    "ilploss_test_acc", "ilploss_val_acc", "ilploss_best_epoch", "rule_epochs",
    "rule_epoch_s", "rule_projected_s", "ratio_train", "ratio_total", "batch_size",
    "same_batch", "same_batch_train_s", "same_batch_test_acc", "same_batch_ratio_train",
)  # fmt: skip


def _model(data, k: int, seed: int, solver) -> CombOptNet:
    return CombOptNet(
        data.num_vars, k, data.lb, data.ub, solver=solver, workers=1,
        generator=torch.Generator().manual_seed(seed),
    )  # fmt: skip


def warm_up() -> float:
    """One ILP-Loss step per box, so that loading (or, on a new machine, compiling) the
    negatives' compiled loops is not charged to the first cell; returns its seconds."""
    start = time.perf_counter()
    for lb, ub in BOXES.values():
        constraints = CombOptNet(16, 2, lb, ub, workers=1).constraints
        c = torch.randn(4, 16)
        ILPLoss(lb, ub)(*constraints(), c, torch.full_like(c, lb)).backward()
    return time.perf_counter() - start


def run_cell(variant: str, m: int, seed: int, args, solver) -> dict[str, float]:
    data = load_random_constraints(variant, m, seed)
    quiet = {"progress": False, "verbose": False}
    ilp = train_ilploss(
        _model(data, ILPLOSS_FACTOR * m, seed, solver),
        data,
        TrainConfig(epochs=args.epochs, lr=args.ilploss_lr, batch_size=args.batch_size, **quiet),
        ILPLossConfig(temperature=args.temperature),
    )
    rule = train(
        _model(data, m, seed, solver),
        data,
        TrainConfig(epochs=args.rule_epochs, lr=PAPER_LR, batch_size=RULE_BATCH, **quiet),
    )
    rule_epoch = rule.train_seconds / args.rule_epochs
    projected = rule_epoch * args.epochs
    same = {"same_batch": RULE_BATCH, "same_batch_train_s": np.nan}
    same.update(same_batch_test_acc=np.nan, same_batch_ratio_train=np.nan)
    if seed in args.same_batch_seeds:  # ILP-Loss at the rule's batch size, for comparison
        at_rule_batch = train_ilploss(
            _model(data, ILPLOSS_FACTOR * m, seed, solver),
            data,
            TrainConfig(epochs=args.epochs, lr=args.ilploss_lr, batch_size=RULE_BATCH, **quiet),
            ILPLossConfig(temperature=args.temperature),
        )
        same.update(
            same_batch_train_s=at_rule_batch.train_seconds,
            same_batch_test_acc=100 * at_rule_batch.test_accuracy,
            same_batch_ratio_train=projected / at_rule_batch.train_seconds,
        )
    return {
        "variant": variant, "m": m, "seed": seed, "epochs": args.epochs,
        "ilploss_train_s": ilp.train_seconds, "ilploss_total_s": ilp.wall_seconds,
        "ilploss_test_acc": 100 * ilp.test_accuracy,
        "ilploss_val_acc": 100 * ilp.best_val_accuracy, "ilploss_best_epoch": ilp.best_epoch,
        "rule_epochs": args.rule_epochs, "rule_epoch_s": rule_epoch,
        "rule_projected_s": projected, "ratio_train": projected / ilp.train_seconds,
        "ratio_total": projected / ilp.wall_seconds, "batch_size": args.batch_size, **same,
    }  # fmt: skip


def read_rule_results(paths: list[Path]) -> dict[tuple[str, int, int], float]:
    """``(variant, m, seed) -> test accuracy %`` of the paper's rule's full runs."""
    out = {}
    for path in paths:
        with path.open() as f:
            for r in csv.DictReader(f):
                if r["method"] == "combopt":
                    out[(r["variant"], int(r["m"]), int(r["seed"]))] = float(r["test_accuracy"])
    return out


def _cells(rows):
    return sorted({(r["variant"], r["m"]) for r in rows})


def _stat(values) -> tuple[float, float]:
    return (float(np.mean(values)), float(np.std(values))) if values else (np.nan, 0.0)


def markdown(rows: list[dict[str, float]], rule_acc: dict, command: str) -> str:
    """One row per ``(variant, m)``: both accuracies and times, mean +- std over seeds."""
    lines = [
        (
            "| variant | m | ILP-Loss test % | paper's rule test % (full runs) | ILP-Loss "
            "training s | ILP-Loss total s | paper's rule training s (projected) | speed-up, "
            "training | speed-up, total | seeds |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v, m in _cells(rows):
        rs = [r for r in rows if (r["variant"], r["m"]) == (v, m)]
        ref = [rule_acc[(v, m, r["seed"])] for r in rs if (v, m, r["seed"]) in rule_acc]

        def cell(key, digits=1, rs=rs):
            mean, std = _stat([r[key] for r in rs])
            return f"{mean:.{digits}f} ± {std:.{digits}f}"

        rule = "-" if not ref else "{:.1f} ± {:.1f}".format(*_stat(ref))
        lines.append(
            f"| {v} | {m} | {cell('ilploss_test_acc')} | {rule} | {cell('ilploss_train_s')} | "
            f"{cell('ilploss_total_s')} | {cell('rule_projected_s', 0)} | "
            f"{cell('ratio_train')}× | {cell('ratio_total')}× | {len(rs)} |"
        )
    same = [r for r in rows if np.isfinite(r["same_batch_train_s"])]
    if same:
        lines += [
            "",
            f"ILP-Loss at the rule's batch size ({RULE_BATCH}) as well (seeds "
            + ", ".join(sorted({str(r["seed"]) for r in same}))
            + "):",
            "",
            (
                "| variant | m | seed | ILP-Loss test % | ILP-Loss training s | paper's rule "
                "training s (projected) | speed-up, training |"
            ),
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['variant']} | {r['m']} | {r['seed']} | {r['same_batch_test_acc']:.1f} | "
            f"{r['same_batch_train_s']:.1f} | {r['rule_projected_s']:.0f} | "
            f"{r['same_batch_ratio_train']:.1f}× |"
            for r in sorted(same, key=lambda r: (r["variant"], r["m"], r["seed"]))
        ]
    return "\n".join(lines) + f"\n\nCommand: `{command}`\n"


def plot(rows: list[dict[str, float]], rule_acc: dict, path: Path) -> None:
    """Per ``(variant, m)``: test accuracy of both methods (mean, seed spread) and the
    speed-up of ILP-Loss's training over the paper's rule's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = _cells(rows)
    labels = [f"{v}\nm={m}" for v, m in cells]
    x = np.arange(len(cells))

    def stat(key, v, m):
        return _stat([r[key] for r in rows if (r["variant"], r["m"]) == (v, m)])

    def rule_stat(v, m):
        seeds = [r["seed"] for r in rows if (r["variant"], r["m"]) == (v, m)]
        return _stat([rule_acc[(v, m, s)] for s in seeds if (v, m, s) in rule_acc])

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    acc = np.array([stat("ilploss_test_acc", v, m) for v, m in cells])
    ref = np.array([rule_stat(v, m) for v, m in cells])
    left.bar(x - 0.2, ref[:, 0], 0.4, yerr=ref[:, 1], capsize=3, label="paper's rule (CombOptNet)")
    left.bar(x + 0.2, acc[:, 0], 0.4, yerr=acc[:, 1], capsize=3, label="ILP-Loss, solver-free")
    left.set_xticks(x, labels, fontsize=8)
    left.set_ylabel("test accuracy y = y* (%)")
    left.set_ylim(0, 105)
    left.legend(fontsize=8)
    for key, name, shift in (
        ("ratio_train", "training steps", -0.2),
        ("ratio_total", "total", 0.2),
    ):
        ratio = np.array([stat(key, v, m) for v, m in cells])
        right.bar(x + shift, ratio[:, 0], 0.4, yerr=ratio[:, 1], capsize=3, label=name)
    right.axhline(10, color="black", lw=0.8, ls="--", label="10x")
    right.set_xticks(x, labels, fontsize=8)
    right.set_ylabel("paper's rule time / ILP-Loss time")
    right.set_yscale("log")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demos.benchmarks.ilploss_speed")
    parser.add_argument("--variant", nargs="+", choices=tuple(BOXES), default=list(BOXES))
    parser.add_argument("--m", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seeds", type=parse_seeds, default=[0, 1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=100, help="the shared epoch budget")
    parser.add_argument(
        "--rule-epochs",
        type=int,
        default=2,
        help="epochs of the paper's rule actually timed per cell",
    )
    parser.add_argument("--batch-size", type=int, default=8, help="ILP-Loss batch size")
    parser.add_argument(
        "--same-batch-seeds",
        type=parse_seeds,
        default=[],
        help=f"seeds also trained with ILP-Loss at the rule's batch size ({RULE_BATCH})",
    )
    parser.add_argument("--ilploss-lr", type=float, default=ILPLOSS_LR)
    parser.add_argument("--temperature", type=float, default=ILPLossConfig.temperature)
    parser.add_argument("--solver", default=None, help="backend for solves (default: the default)")
    parser.add_argument(
        "--out", type=Path, default=None, help="CSV of the cells, written as it goes"
    )
    parser.add_argument("--plot", type=Path, default=None, help="PNG of accuracy and speed-up")
    parser.add_argument("--table", type=Path, default=None, help="markdown table of the cells")
    parser.add_argument(
        "--rule-results",
        type=Path,
        nargs="*",
        default=[],
        help="CSV reports of full runs of the paper's rule, for its accuracy",
    )
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.rule_epochs < 1:
        parser.error("--epochs, --rule-epochs: must be at least 1")
    torch.set_num_threads(1)
    solver = get_solver(args.solver)
    print(f"backend {solver.name}; {machine_note()}", flush=True)
    print(f"ILP-Loss's compiled loops loaded in {warm_up():.1f} s (not timed)", flush=True)
    rows: list[dict[str, float]] = []
    for variant in args.variant:
        for m in args.m:
            for seed in args.seeds:
                t = time.perf_counter()
                row = run_cell(variant, m, seed, args, solver)
                rows.append(row)
                print(
                    f"{variant} m={m} seed={seed}: ILP-Loss {row['ilploss_test_acc']:.1f} % test, "
                    f"train {row['ilploss_train_s']:.1f} s, total {row['ilploss_total_s']:.1f} s; "
                    f"rule {row['rule_epoch_s']:.2f} s/epoch -> {row['rule_projected_s']:.0f} s; "
                    f"ratio train {row['ratio_train']:.1f}x, total {row['ratio_total']:.1f}x "
                    f"({time.perf_counter() - t:.0f} s)",
                    flush=True,
                )
                if args.out is not None:
                    args.out.parent.mkdir(parents=True, exist_ok=True)
                    with args.out.open("w", newline="") as f:
                        writer = csv.DictWriter(f, fieldnames=FIELDS)
                        writer.writeheader()
                        writer.writerows(
                            {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in r.items()}
                            for r in rows
                        )
    print("\nper cell (mean over seeds): ILP-Loss test %, ratio train, ratio total")
    for variant, m in sorted({(r["variant"], r["m"]) for r in rows}):
        rs = [r for r in rows if (r["variant"], r["m"]) == (variant, m)]
        mean = {
            k: np.mean([r[k] for r in rs])
            for k in ("ilploss_test_acc", "ratio_train", "ratio_total")
        }
        print(
            f"  {variant} m={m}: {mean['ilploss_test_acc']:.1f} %  "
            f"{mean['ratio_train']:.1f}x  {mean['ratio_total']:.1f}x  ({len(rs)} seeds)"
        )
    rule_acc = read_rule_results(args.rule_results)
    if args.plot is not None:
        plot(rows, rule_acc, args.plot)
    if args.table is not None:
        command = "python -m demos.benchmarks.ilploss_speed " + " ".join(
            shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)
        )
        args.table.parent.mkdir(parents=True, exist_ok=True)
        args.table.write_text(markdown(rows, rule_acc, command))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
