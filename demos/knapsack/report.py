"""Collect the per-method JSON records of one variant into a Markdown table and a plot."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .data import CAPACITY
from .evaluation import plot_prices

ORDER = ("combopt", "refit-combopt", "lpmax", "lp", "mlp")
LABELS = {
    "combopt": "CombOptNet",
    "refit-combopt": "CombOptNet, refit on all 4,500",
    "lpmax": "LPmax (true data)",
    "lp": "LP relaxation (cvxpylayers)",
    "mlp": "MLP",
}


def load_records(folder: Path) -> dict[str, dict]:
    """``method -> record``; tagged parts ``<method>-<tag>.json`` are merged (by name order)."""
    from .experiment import merge_records

    records = {}
    for method in ORDER:
        paths = sorted(Path(folder).glob(f"{method}.json")) + sorted(
            Path(folder).glob(f"{method}-*.json")
        )
        parts = [json.loads(p.read_text()) for p in paths]
        if parts:
            records[method] = parts[0] if len(parts) == 1 else merge_records(parts)
    if not records:
        raise FileNotFoundError(f"no result records (*.json of {ORDER}) in {folder}")
    return records


def seed_repeats(folder: Path) -> list[tuple[int, dict]]:
    """``(training seed, record)`` of every CombOptNet refit in ``folder``, by seed.

    ``refit-combopt.json`` is seed 0; ``seeds/refit-combopt-seed<N>.json`` are the repeats
    (``refit --train-seed N``). They must all refit one chosen setting.
    """
    found: list[tuple[int, Path]] = []
    first = Path(folder) / "refit-combopt.json"
    if first.exists():
        found.append((0, first))
    for path in Path(folder).glob("seeds/refit-combopt-seed*.json"):
        found.append((int(path.stem.rsplit("seed", 1)[1]), path))
    found.sort(key=lambda item: item[0])
    repeats = [(seed, json.loads(path.read_text())) for seed, path in found]
    for (_, path), (_, rec) in zip(found, repeats, strict=True):
        if rec["from"]["chosen"] != repeats[0][1]["from"]["chosen"]:
            raise ValueError(f"{path}: refits a different setting than {found[0][1]}")
    return repeats


def seed_summary(repeats: list[tuple[int, dict]]) -> str:
    """A table row: mean ± sample std over the refit seeds, with the per-seed exact match."""
    scores = [rec["test"]["scores"] for _, rec in repeats]

    def stat(key: str, scale: float = 100.0, digits: int = 1) -> str:
        values = scale * np.array([s[key] for s in scores], dtype=float)
        return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"

    n = scores[0]["n"]
    seeds = ", ".join(f"{100 * s['exact_match']:.1f}" for s in scores)
    return (
        f"| CombOptNet, refit, mean ± std over {len(repeats)} seeds "
        f"({repeats[0][0]}–{repeats[-1][0]}) | {stat('exact_match')} % "
        f"| {stat('optimal_value_reached')} % | {stat('infeasible', 1.0)} / {n} "
        f"| {stat('value_ratio_feasible', 1.0, 3)} | per seed: {seeds} % |"
    )


def setting(chosen: dict) -> str:
    """A chosen setting in words: ``0.001 (x0.1 after epoch 60, standardized inputs)``."""
    notes = []
    if chosen.get("lr_decay_epoch"):
        notes.append(f"x0.1 after epoch {chosen['lr_decay_epoch']}")
    if chosen.get("standardize"):
        notes.append("standardized inputs")
    if chosen.get("normalize_cost"):
        notes.append("normalized cost")
    if chosen.get("ema_decay"):
        notes.append(f"parameter average {chosen['ema_decay']:g}")
    return f"{chosen['lr']:g}" + (f" ({', '.join(notes)})" if notes else "")


def table(records: dict[str, dict]) -> str:
    rows = [
        (
            "| method | exact match | optimal value reached | infeasible | value ratio (feasible) "
            "| chosen lr / epoch (val exact) |"
        ),
        "|---|---|---|---|---|---|",
    ]
    for method, rec in records.items():
        s = rec["test"]["scores"]
        chosen = rec.get("chosen")
        tuned = "-"
        if "from" in rec:  # a refit: settings fixed by the validation run
            chosen = rec["from"]["chosen"]
            lr = setting(chosen)
            tuned = f"{lr} / {rec['epochs']} epochs, as chosen on validation"
        elif chosen:
            lr = setting(chosen)
            tuned = (
                f"{lr} / {chosen['epoch']} of {rec['epochs']} ({100 * chosen['val_exact']:.1f} %)"
            )
        rows.append(
            f"| {LABELS[method]} | {100 * s['exact_match']:.1f} % "
            f"| {100 * s['optimal_value_reached']:.1f} % | {s['infeasible']} / {s['n']} "
            f"| {s['value_ratio_feasible']:.3f} | {tuned} |"
        )
    return "\n".join(rows)


def local_paths_hidden(command: str) -> str:
    """``command`` with the absolute folders of the machine it ran on (``--out /abs/path``,
    ``--cache ...``) written as ``DIR``: where a run wrote does not change what it found."""
    return re.sub(r"(--(?:out|cache)) /\S+", r"\1 DIR", command)


def write_report(folder: Path, optimum: np.ndarray | None = None) -> str:
    """Write ``results.md`` and ``prices.png`` into ``folder``; return the table.

    The optimal totals come from the records' dataset (regenerated from its seed) unless
    ``optimum`` is given.
    """
    records = load_records(folder)
    if optimum is None:
        from .data import generate

        any_rec = next(iter(records.values()))
        data = generate(variant=any_rec["variant"], seed=any_rec.get("seed", 0))
        optimum = data.optimum[data.split("test")]
    panels = {}
    for method, rec in records.items():
        t = rec["test"]
        panels[LABELS[method]] = (
            np.asarray(optimum),
            np.asarray(t["total_price"]),
            np.asarray(t["total_weight"]) > CAPACITY,
        )
    plot_prices(panels, Path(folder) / "prices.png")
    text = table(records)
    repeats = seed_repeats(folder)
    if len(repeats) > 1:
        text += "\n" + seed_summary(repeats)
    commands = [local_paths_hidden(rec["command"]) for rec in records.values() if "command" in rec]
    variant = next(iter(records.values()))["variant"]
    body = f"# Knapsack from sentences: results of the {variant} variant\n\n"
    body += "![predicted vs optimal total price](prices.png)\n\n"
    body += "Test split (500 instances). Generated by `python -m demos knapsack report`.\n\n"
    body += text + "\n"
    if commands:
        body += "\nCommands:\n\n" + "\n".join(f"    {c}" for c in commands) + "\n"
    (Path(folder) / "results.md").write_text(body)
    return text
