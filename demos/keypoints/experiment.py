"""The synthetic keypoint-matching experiment: one run per (p, seed), then the table.

Each run writes ``<out>/runs/p{p}_seed{seed}.json`` (the protocol, the training history, the
best epoch, test metrics for every decoder, a few test matchings for the figure, the learned
constraints ``A y <= b`` of the best epoch, and the run's wall-clock seconds), so an
interrupted sweep keeps what it finished and ``table`` aggregates whatever is there.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from .matching import feasible_permutations
from .synthetic import SyntheticConfig, SyntheticKeypoints, make_splits
from .train import DECODERS, KeypointCombOptNet, Protocol, evaluate, train

EXAMPLES = 4


def run_one(
    p: int,
    seed: int,
    protocol: Protocol,
    sizes: tuple[int, int, int],
    config: SyntheticConfig | None = None,
    log: Callable[[str], None] | None = print,
) -> dict:
    """Train on a fresh draw of the benchmark (world fixed, splits from ``seed``) and test.

    ``config`` defaults to ``SyntheticConfig()``, the calibrated benchmark.
    """
    start = time.perf_counter()
    config = config if config is not None else SyntheticConfig()
    world = SyntheticKeypoints(config, world_seed=0)
    train_pairs, val_pairs, test_pairs = make_splits(world, p, sizes, seed=1000 * p + seed)
    model = KeypointCombOptNet(p, config.descriptor_dim, protocol, seed=seed)
    fit = train(model, train_pairs, val_pairs, protocol, seed=seed, log=log)
    test = evaluate(model, test_pairs)
    examples = _examples(model, test_pairs[:EXAMPLES])
    with torch.no_grad():
        A, b = model.constraints()
    return {
        "p": p,
        "seed": seed,
        "sizes": {"train": sizes[0], "val": sizes[1], "test": sizes[2]},
        "synthetic_config": asdict(config),
        **fit,
        "test": test,
        "examples": examples,
        "constraints": {"A": A.tolist(), "b": b.tolist()},
        "wall_seconds": time.perf_counter() - start,
    }


def _examples(model: KeypointCombOptNet, pairs) -> list[dict]:
    from .matching import argmax_matching, hungarian_matching
    from .train import collate

    batch = collate(pairs)
    model.eval()
    with torch.no_grad():
        costs, y, _ = model(batch)
    outputs = {
        "argmax": argmax_matching(costs.numpy()),
        "hungarian": hungarian_matching(costs.numpy()),
        "combopt": y.numpy(),
    }
    return [
        {
            "category": q.category,
            "src_pos": q.src_pos.tolist(),
            "trg_pos": q.trg_pos.tolist(),
            "perm": q.perm.tolist(),
            **{name: out[k].astype(int).tolist() for name, out in outputs.items()},
        }
        for k, q in enumerate(pairs)
    ]


def sweep(
    ps: Sequence[int],
    seeds: Sequence[int],
    protocol: Protocol,
    sizes: tuple[int, int, int],
    out: Path,
    skip_existing: bool = True,
    log: Callable[[str], None] = print,
) -> None:
    """Run every (p, seed) not yet in ``out/runs`` (seed-major, so all p get seed 0 first)."""
    runs = out / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        for p in ps:
            path = runs / f"p{p}_seed{seed}.json"
            if skip_existing and path.exists():
                log(f"p={p} seed={seed}: {path} exists, skipped")
                continue
            log(f"p={p} seed={seed}: training")
            result = run_one(p, seed, protocol, sizes, log=log)
            path.write_text(json.dumps(result, indent=1))
            t = result["test"]
            log(
                f"p={p} seed={seed}: "
                + ", ".join(
                    f"{d} {100 * t[d]['accuracy']:.1f}% / {100 * t[d]['valid_permutations']:.1f}%"
                    for d in DECODERS
                )
            )


def load_runs(out: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((out / "runs").glob("p*_seed*.json"))]


def table(results: Sequence[dict]) -> str:
    """Markdown table: per p, mean ± std over seeds of accuracy and valid-permutation share,
    each seed's gap to the Hungarian bound (Hungarian minus CombOptNet accuracy, in points)
    and their mean, the share of permutations the learned constraints admit, the ILP backend
    and each run's wall-clock minutes."""
    if not results:
        raise ValueError("results: no runs found")
    lines = [
        (
            "| p | seeds | argmax acc. | Hungarian acc. | CombOptNet acc. "
            "| gap to Hungarian per seed (mean) | argmax valid perm. "
            "| Hungarian valid perm. | CombOptNet valid perm. | CombOptNet infeasible "
            "| CombOptNet time-limited | permutations feasible | best epoch | backend "
            "| minutes per run |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(values) -> str:
        values = 100 * np.asarray(values)
        return (
            f"{values.mean():.1f} ± {values.std():.1f}" if len(values) > 1 else f"{values[0]:.1f}"
        )

    def gaps(runs: list[dict]) -> str:
        points = [
            100 * (r["test"]["hungarian"]["accuracy"] - r["test"]["combopt"]["accuracy"])
            for r in runs
        ]
        return ", ".join(f"{g:.1f}" for g in points) + f" ({np.mean(points):.1f})"

    def feasible(run: dict) -> float | None:
        c = run.get("constraints")
        return None if c is None else feasible_permutations(c["A"], c["b"])

    def minutes(run: dict) -> str:
        return f"{run['wall_seconds'] / 60:.0f}" if "wall_seconds" in run else "-"

    for p in sorted({r["p"] for r in results}):
        rs = [r for r in results if r["p"] == p]
        acc = [cell([r["test"][d]["accuracy"] for r in rs]) for d in DECODERS] + [gaps(rs)]
        val = [cell([r["test"][d]["valid_permutations"] for r in rs]) for d in DECODERS]
        extra = [
            cell([r["test"]["combopt"][k] for r in rs]) for k in ("infeasible", "time_limited")
        ]
        shares = [feasible(r) for r in rs]
        extra.append("-" if None in shares else cell(shares))
        epochs = ", ".join(str(r["best_epoch"]) for r in rs)
        backends = ", ".join(sorted({r["protocol"]["solver"] or "default" for r in rs}))
        wall = ", ".join(minutes(r) for r in rs)
        lines.append(
            f"| {p} | {len(rs)} | "
            + " | ".join(acc + val + extra)
            + f" | {epochs} | {backends} | {wall} |"
        )
    return "\n".join(lines) + "\n"
