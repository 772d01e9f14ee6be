"""One command, one table: train every (method, m, seed) cell and report it.

Shared by the Random Constraints and Weighted Set Covering demonstrations; each supplies a
dataset loader and the paper's reference numbers. Results go to a CSV (one row per run), a
markdown table (ours beside the paper's, mean +- std over seeds) and a PNG plot like the
paper's Fig. 7 / 9.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .datasets import ConstraintDataset
from .ilploss_training import ILPLossConfig, train_combined, train_ilploss
from .models import METHODS, build_model
from .training import TrainConfig, train

# --quick: 3 epochs at a 10x larger learning rate than the paper's, so that the demo learns
# in well under a minute (binary m = 1: validation accuracy 0.56 / 0.90 / 0.93 after epochs
# 1-3 at 5e-3; the paper's 5e-4 needs about 12 epochs to get there).
QUICK_EPOCHS = 3
QUICK_LR = 5e-3
PAPER_LR = 5e-4
# ILP-Loss (--methods ilploss): chosen on the validation splits of Random Constraints.
ILPLOSS_LR = 1e-2
ILPLOSS_FACTOR = 2
ILPLOSS_WARMUP = 20


@dataclass
class RunRecord:
    """One training run (one row of the CSV). Accuracies in percent."""

    task: str
    variant: str
    m: int
    seed: int
    method: str
    learned_constraints: int
    solver: str
    epochs: int
    lr: float
    best_epoch: int
    val_accuracy: float
    test_accuracy: float
    box_only_accuracy: float
    wall_seconds: float
    train_seconds: float = 0.0  # the training steps alone (0: not recorded)


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> ``[0, 1, 2, 3, 4]``; ``"0,2,5"`` -> ``[0, 2, 5]``; ranges may be mixed."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            elif part:
                seeds.append(int(part))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--seeds: expected e.g. '0-4' or '0,2,3', got {text!r}"
        ) from None
    if not seeds or min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"--seeds: need non-negative seeds, got {text!r}")
    return seeds


def add_common_arguments(parser: argparse.ArgumentParser, default_m: Sequence[int]) -> None:
    """Options shared by the synthetic demonstrations."""
    parser.add_argument("--m", type=int, nargs="+", default=None, metavar="M",
                        help=f"sizes to run (default: {' '.join(map(str, default_m))}; "
                        f"--quick: {default_m[0]})")
    parser.add_argument("--seeds", type=parse_seeds, default=None,
                        help="dataset seeds, e.g. 0-4 or 0,2 (default: 0-4; --quick: 0)")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=["combopt"],
                        help="learners to train (default: combopt); box-only is always reported")
    parser.add_argument("--solver", default=None,
                        help="ILP backend for CombOptNet (default: $COMBOPT_SOLVER, else CP-SAT when "
                        "installed, else HiGHS); "
                        "see `combopt backends`")
    parser.add_argument("--epochs", type=int, default=None,
                        help=f"training epochs (default: the paper's 100; --quick: {QUICK_EPOCHS})")
    parser.add_argument("--constraint-factor", type=int, default=1, metavar="K",
                        help="learn K*m constraints (paper: 1; the authors' code: 2)")
    parser.add_argument("--lr", type=float, default=None,
                        help=f"Adam learning rate (default: the paper's {PAPER_LR}; "
                        f"--quick: {QUICK_LR})")
    parser.add_argument("--batch-size", type=int, default=8, help="batch size (paper: 8)")
    parser.add_argument("--ilploss-lr", type=float, default=ILPLOSS_LR,
                        help=f"ILP-Loss: peak Adam learning rate (default: {ILPLOSS_LR})")
    parser.add_argument("--ilploss-temperature", type=float, default=ILPLossConfig.temperature,
                        help="ILP-Loss: starting soft-min temperature (default: "
                        f"{ILPLossConfig.temperature})")
    parser.add_argument("--ilploss-factor", type=int, default=ILPLOSS_FACTOR, metavar="K",
                        help=f"ILP-Loss: learn K*m constraints (default: {ILPLOSS_FACTOR})")
    parser.add_argument("--warmup-epochs", type=int, default=ILPLOSS_WARMUP, metavar="E",
                        help="combined: the first E of --epochs with ILP-Loss, the rest with the "
                        f"paper's rule (default: {ILPLOSS_WARMUP})")
    parser.add_argument("--tau", type=float, default=0.5, help="soft-min temperature (paper: 0.5)")
    parser.add_argument("--workers", type=int, default=None,
                        help="parallel solves per batch (default: all cores)")
    parser.add_argument("--train-size", type=int, default=None, metavar="N",
                        help="use only the first N training pairs (default: all 1,600)")
    parser.add_argument("--quick", action="store_true",
                        help="a short demonstration: one seed, few epochs, nothing written")
    parser.add_argument("--out", type=Path, default=None,
                        help="write <name>.csv/.md/.png here (default: docs/results unless --quick)")
    parser.add_argument("--name", default=None, help="file stem of the results (default: task name)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--quiet", action="store_true", help="no progress bars, no epoch lines")
    parser.set_defaults(default_m=list(default_m))


def resolve_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the options left unset: the paper's protocol, or a short run with ``--quick``."""
    if args.m is None:
        args.m = args.default_m[:1] if args.quick else args.default_m
    if args.seeds is None:
        args.seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else 100
    if args.lr is None:
        args.lr = QUICK_LR if args.quick else PAPER_LR
    if min(args.m) < 1:
        raise SystemExit(f"--m: sizes must be positive, got {args.m}")
    if args.out is None and not args.quick:
        args.out = Path("docs/results")
    return args


def run_grid(
    task: str,
    variants: Sequence[str],
    load: Callable[[str, int, int], ConstraintDataset],
    args: argparse.Namespace,
    paper: dict[tuple[str, str, int], float],
    title: str,
) -> list[RunRecord]:
    """Train every ``(variant, m, seed, method)`` of ``args`` on ``load(variant, m, seed)``.

    Prints each result and a summary; with ``args.out`` rewrites the report after every run,
    so that an interrupted grid keeps what it finished.
    """
    import torch

    from combopt_core import get_solver

    # The networks are tiny: one intra-op thread is faster, and leaves the cores to the
    # solver's thread pool.
    torch.set_num_threads(1)
    solver = get_solver(args.solver)
    config = TrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        progress=not (args.no_progress or args.quiet),
        verbose=not args.quiet,
    )
    name = args.name or task.replace("-", "_")
    records: list[RunRecord] = []
    for variant in variants:
        for m in args.m:
            for seed in args.seeds:
                data = load(variant, m, seed)
                if args.train_size is not None:
                    data = data.subset(train=args.train_size)
                for method in args.methods:
                    records.append(_run_one(task, variant, m, seed, method, data, solver, config, args))
                    if args.out is not None:
                        report(records, paper, args.out, name, title)
    print("\nResult (exact match y == y* on the test split):")
    for r in records:
        print(f"  {r.variant} m={r.m} seed={r.seed} {r.method}: test accuracy "
              f"{r.test_accuracy:.1f} % vs box-only {r.box_only_accuracy:.1f} %")
    if args.out is not None:
        print(f"results written to {args.out / name}.csv/.md/.png")
    return records


def _run_one(task, variant, m, seed, method, data, solver, config, args) -> RunRecord:
    factor = args.ilploss_factor if method in ("ilploss", "combined") else args.constraint_factor
    k = factor * m
    model = build_model(
        method, data.num_vars, k, data.lb, data.ub, seed=seed, solver=solver,
        tau=args.tau, workers=args.workers,
    )
    tag = f"[{task} {variant} m={m} seed={seed}]"
    lr = args.ilploss_lr if method == "ilploss" else args.lr
    if not args.quiet:
        what = "no constraints" if method == "mlp" else f"{k} learned constraints"
        print(f"{tag} training {method} ({what}, {args.epochs} epochs, lr {lr:g}, "
              f"solver {solver.name})", flush=True)
    options = ILPLossConfig(temperature=args.ilploss_temperature)
    if method == "ilploss":
        res = train_ilploss(model, data, dataclasses.replace(config, lr=lr), options)
    elif method == "combined":
        res = train_combined(model, data, config, options, args.ilploss_lr, args.warmup_epochs)
    else:
        res = train(model, data, config)
    rec = RunRecord(
        task, variant, m, seed, method, k if method != "mlp" else 0,
        "cvxpylayers" if method == "lp" else "-" if method == "mlp" else solver.name,
        args.epochs, lr, res.best_epoch, 100 * res.best_val_accuracy,
        100 * res.test_accuracy, 100 * res.box_only_accuracy, res.wall_seconds,
        res.train_seconds,
    )
    print(f"{tag} {method}: test accuracy {rec.test_accuracy:.1f} %  (box-only "
          f"{rec.box_only_accuracy:.1f} %, best epoch {rec.best_epoch}, "
          f"{rec.wall_seconds:.0f} s)", flush=True)
    return rec


def write_csv(records: Sequence[RunRecord], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(asdict(records[0])))
        writer.writeheader()
        for r in records:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in asdict(r).items()})


def summarize(records: Sequence[RunRecord]) -> dict[tuple[str, str, int], dict[str, float]]:
    """``(variant, method, m) -> {mean, std, n, box, seconds}`` over seeds (accuracies in %)."""
    groups: dict[tuple[str, str, int], list[RunRecord]] = {}
    for r in records:
        groups.setdefault((r.variant, r.method, r.m), []).append(r)
    return {
        key: {
            "mean": float(np.mean([r.test_accuracy for r in rs])),
            "std": float(np.std([r.test_accuracy for r in rs])),
            "n": len(rs),
            "box": float(np.mean([r.box_only_accuracy for r in rs])),
            "seconds": float(np.mean([r.wall_seconds for r in rs])),
            "train_seconds": float(np.mean([r.train_seconds for r in rs])),
            "epochs": rs[0].epochs,
            "lr": rs[0].lr,
            "solver": rs[0].solver,
        }
        for key, rs in groups.items()
    }


def report_title(title: str, records: Sequence[RunRecord]) -> str:
    """A report's heading, said from what it holds: the task ``title``, variants, ``m``,
    seeds, epochs and solver (e.g. "Random Constraints, binary: m = 1, 2, 4, 8; 5 seeds;
    100 epochs; Gurobi")."""
    variants = sorted({r.variant for r in records} - {"wsc"})  # set cover has one variant
    ms = ", ".join(str(m) for m in sorted({r.m for r in records}))
    seeds = sorted({r.seed for r in records})
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds"
    epochs = "/".join(str(e) for e in sorted({r.epochs for r in records}))
    methods = [m for m in METHODS if any(r.method == m for r in records)]
    solvers = sorted({r.solver for r in records if r.method in ("combopt", "ilploss", "combined")})
    head = f"{title}, {', '.join(variants)}" if variants else title
    parts = [f"m = {ms}", seed_text, f"{epochs} epochs"]
    factors = sorted({r.learned_constraints // r.m for r in records if r.method != "mlp"})
    if factors not in ([], [1]):
        parts.append(f"{'/'.join(map(str, factors))}m learned constraints")
    if methods != ["combopt"]:
        parts.append(", ".join(METHOD_NAMES[m] for m in methods))
    if solvers:
        parts.append(", ".join(SOLVER_NAMES.get(s, s) for s in solvers))
    return f"{head}: {'; '.join(parts)}"


#: How the reports write each method's and each backend's name.
METHOD_NAMES = {
    "combopt": "CombOptNet",
    "ilploss": "ILP-Loss (solver-free training)",
    "combined": "ILP-Loss warm-up + CombOptNet",
    "mlp": "MLP",
    "lp": "LP relaxation",
}
SOLVER_NAMES = {
    "highs": "HiGHS",
    "gurobi": "Gurobi",
    "scip": "SCIP",
    "cpsat": "CP-SAT",
    "bruteforce": "brute force",
}


def markdown_table(
    records: Sequence[RunRecord],
    paper: dict[tuple[str, str, int], float],
    command: str,
    title: str,
    figure: str,
) -> str:
    """A markdown report led by its heading and ``figure``, then the table (ours, mean +- std
    over seeds, beside the paper's number per cell) and the command that wrote it."""
    rows = [
        (
            "| variant | m | method | ours: test acc. % (mean ± std) | seeds | paper % | "
            "box-only % | epochs | lr | solver | s / run | training steps s / run |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (variant, method, m), s in sorted(summarize(records).items()):
        ref = paper.get((variant, method, m))
        steps = f"{s['train_seconds']:.1f}" if s["train_seconds"] else "-"  # 0: not recorded
        rows.append(
            f"| {variant} | {m} | {method} | {s['mean']:.1f} ± {s['std']:.1f} | {s['n']} | "
            f"{'-' if ref is None else f'{ref:.1f}'} | {s['box']:.1f} | {s['epochs']} | {s['lr']:g} | "
            f"{s['solver']} | {s['seconds']:.0f} | {steps} |"
        )
    head = f"# {title}\n\n![{title}]({figure})\n\n"
    foot = (
        f"Command: `{command}`\n\n"
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}; "
        f"written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
    )
    return head + "\n".join(rows) + "\n\n" + foot


def plot(
    records: Sequence[RunRecord],
    paper: dict[tuple[str, str, int], float],
    path: Path,
    title: str,
) -> None:
    """Grouped bars per m (ours per method, with seed spread) and the paper's values as marks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarize(records)
    variants = sorted({k[0] for k in summary})
    methods = [m for m in METHODS if any(k[1] == m for k in summary)]
    fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 3.6), squeeze=False)
    for ax, variant in zip(axes[0], variants):
        ms = sorted({k[2] for k in summary if k[0] == variant})
        x = np.arange(len(ms))
        width = 0.8 / (len(methods) + 1)
        for i, method in enumerate(methods):
            means = [summary.get((variant, method, m), {}).get("mean", np.nan) for m in ms]
            stds = [summary.get((variant, method, m), {}).get("std", 0.0) for m in ms]
            pos = x + (i - len(methods) / 2) * width
            ax.bar(pos, means, width, yerr=stds, capsize=3, label=f"{method} (ours)")
            ref = [paper.get((variant, method, m), np.nan) for m in ms]
            ax.scatter(pos, ref, marker="_", s=300, color="black", zorder=3,
                       label="paper" if i == 0 else None)
        box = [np.mean([r.box_only_accuracy for r in records if r.variant == variant and r.m == m])
               for m in ms]
        ax.bar(x + (len(methods) / 2) * width, box, width, color="lightgray", label="box-only")
        ax.set_xticks(x, [str(m) for m in ms])
        ax.set_xlabel("m (ground-truth constraints)")
        ax.set_ylabel("test accuracy y = y* (%)")
        ax.set_ylim(0, 105)
        ax.set_title(title if variant == "wsc" else f"{title}: {variant}")  # WSC: one variant
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def report(
    records: Sequence[RunRecord],
    paper: dict[tuple[str, str, int], float],
    out: Path,
    name: str,
    title: str,
) -> None:
    """Write ``out/name.csv``, ``out/name.md`` and ``out/name.png``."""
    command = "python -m demos " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    out.mkdir(parents=True, exist_ok=True)
    write_csv(records, out / f"{name}.csv")
    heading = report_title(title, records)
    (out / f"{name}.md").write_text(
        markdown_table(records, paper, command, heading, f"{name}.png")
    )
    plot(records, paper, out / f"{name}.png", title)
