"""One experiment = one method on one dataset variant: tune on validation, score on test.

The validation split is carved from the training split (``VAL_SIZE`` instances drawn with a
fixed seed); models train on the rest. For every learning rate of the grid the model trains
for ``epochs`` epochs; the (learning rate, epoch) with the best validation exact match is
the one scored on the test split. The test split is used for nothing else.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .data import KnapsackDataset, generate
from .embed import EmbeddingCache, embed_dataset
from .evaluation import score, totals
from .models import COST_RULES, METHODS, lp_max, with_true_weights
from .training import TrainConfig, predict, train

VAL_SIZE = 500


@dataclass(frozen=True)
class Features:
    """A dataset with its embeddings ``x (N, 10, d)`` and the three index splits."""

    data: KnapsackDataset
    x: torch.Tensor
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def carve_validation(data: KnapsackDataset, val_size: int = VAL_SIZE, seed: int = 0):
    """``(train, val)`` indices: ``val_size`` random training instances held out."""
    train_idx = data.split("train")
    if not 0 < val_size < len(train_idx):
        raise ValueError(f"val_size: must lie in (0, {len(train_idx)}), got {val_size}")
    perm = np.random.default_rng(seed).permutation(train_idx)
    return np.sort(perm[val_size:]), np.sort(perm[:val_size])


def load_features(
    data: KnapsackDataset,
    cache: EmbeddingCache,
    val_size: int = VAL_SIZE,
    train_limit: int | None = None,
) -> Features:
    """Embeddings from ``cache``; ``train_limit`` keeps only that many training instances
    (for quick runs; the validation and test splits are unchanged)."""
    x = torch.from_numpy(embed_dataset(data.sentences(), cache))
    train_idx, val_idx = carve_validation(data, val_size, seed=data.seed)
    if train_limit is not None:
        if train_limit < 1:
            raise ValueError(f"train_limit: must be at least 1, got {train_limit}")
        train_idx = train_idx[:train_limit]
    return Features(data, x, train_idx, val_idx, data.split("test"))


def standardize_inputs(x: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
    """``x (N, 10, d)`` z-scored per embedding dimension with statistics of ``x[rows]`` only.

    The mean and standard deviation are taken over every item of the instances in ``rows``
    (the instances the model trains on), so validation and test inputs never shape the
    transform. Dimensions that are constant on ``rows`` are only centred.
    """
    fit = x[torch.as_tensor(rows)].reshape(-1, x.shape[-1])
    std = fit.std(dim=0)
    return (x - fit.mean(dim=0)) / torch.where(std > 0, std, torch.ones_like(std))


def _scores(data: KnapsackDataset, idx: np.ndarray, selection: np.ndarray) -> dict:
    return score(
        selection, data.weights[idx], data.prices[idx], data.labels[idx], data.optimum[idx]
    )


def selection_record(data: KnapsackDataset, idx: np.ndarray, selection: np.ndarray) -> dict:
    """Scores plus what the plot needs (bitmasks keep the JSON small)."""
    price, weight = totals(selection, data.weights[idx], data.prices[idx])
    return {
        "scores": _scores(data, idx, selection),
        "bitmask": (selection.astype(np.int64) << np.arange(selection.shape[1])).sum(1).tolist(),
        "total_price": price.tolist(),
        "total_weight": weight.tolist(),
    }


def run_lpmax(feats: Features) -> dict:
    d, idx = feats.data, feats.test
    record = selection_record(d, idx, lp_max(d.weights[idx], d.prices[idx]))
    return {"method": "lpmax", "variant": d.variant, "seed": d.seed, "test": record}


def run_method(
    feats: Features,
    method: str,
    lrs: Sequence[float],
    epochs: int,
    seed: int = 0,
    progress: bool = True,
    lr_decay_epoch: int | None = None,
    standardize: bool = False,
    normalize_cost: bool = False,
    ema_decay: float | None = None,
    **model_options: Any,
) -> dict:
    """Train ``method`` for each lr, keep the best validation (lr, epoch), score on test.

    ``standardize`` z-scores the embeddings with the training split's statistics
    (:func:`standardize_inputs`) before any model sees them; ``normalize_cost`` (CombOptNet
    only) feeds ``c / ||c||`` to the ILP layer; ``ema_decay`` validates and keeps the
    moving average of the parameters (:class:`~.training.ParameterAverage`).
    """
    if method not in METHODS:
        raise ValueError(f"method: expected one of {sorted(METHODS)}, got {method!r}")
    if not lrs:
        raise ValueError("lrs: give at least one learning rate")
    if normalize_cost:
        if method not in ("combopt", "ilploss"):
            raise ValueError(f"normalize_cost: only CombOptNet has a cost vector, not {method!r}")
        model_options["normalize_cost"] = True
    x, labels = feats.x, torch.from_numpy(feats.data.labels)
    if standardize:
        x = standardize_inputs(x, feats.train)
    if method in COST_RULES:  # the capacity row is given: the true weights ride along
        x = with_true_weights(x, feats.data.weights)
    runs, best = [], None
    for lr in lrs:
        torch.manual_seed(seed)
        model = METHODS[method](x.shape[-1], **model_options)
        config = TrainConfig(
            lr=float(lr),
            epochs=epochs,
            lr_decay_epoch=lr_decay_epoch,
            ema_decay=ema_decay,
            seed=seed,
            progress=progress,
        )
        if progress:
            print(f"{method} on {feats.data.variant}: lr {lr:g}, {epochs} epochs", flush=True)
        start = time.perf_counter()
        result = train(
            model,
            x[feats.train],
            labels[feats.train],
            x[feats.val],
            feats.data.labels[feats.val],
            config,
        )
        runs.append(
            {
                "lr": float(lr),
                "lr_decay_epoch": lr_decay_epoch,
                "standardize": standardize,
                "normalize_cost": normalize_cost,
                "ema_decay": ema_decay,
                "history": result.history,
                "best_epoch": result.best_epoch,
                "best_val_exact": result.best_val_exact,
                "seconds": time.perf_counter() - start,
            }
        )
        if best is None or result.best_val_exact > best[0]:
            best = (result.best_val_exact, float(lr), result.best_epoch, model, result.best_state)
    val_exact, lr, epoch, model, state = best
    model.load_state_dict(state)
    selection = predict(model, x[feats.test])
    return {
        "method": method,
        "variant": feats.data.variant,
        "seed": feats.data.seed,
        "train_size": len(feats.train),
        "val_size": len(feats.val),
        "epochs": epochs,
        "lr_grid": [float(v) for v in lrs],
        "chosen": {
            "lr": lr,
            "lr_decay_epoch": lr_decay_epoch,
            "standardize": standardize,
            "normalize_cost": normalize_cost,
            "ema_decay": ema_decay,
            "epoch": epoch,
            "val_exact": val_exact,
        },
        "runs": runs,
        "test": selection_record(feats.data, feats.test, selection),
    }


def refit(
    feats: Features, record: dict, seed: int = 0, progress: bool = True, **model_options: Any
) -> dict:
    """Retrain a record's chosen setting (lr, decay, inputs, cost scaling, averaging,
    epochs) on train + validation, score on test.

    Nothing is selected here: the hyperparameters and the number of epochs come from the
    validation split of ``record``; the model sees all training instances (4,500, as in
    the paper) and is scored once on the test split. Standardized inputs, if chosen, take
    their statistics from those 4,500 instances.
    """
    chosen, method = record["chosen"], record["method"]
    idx = np.sort(np.concatenate([feats.train, feats.val]))
    x, labels = feats.x, torch.from_numpy(feats.data.labels)
    if chosen.get("standardize"):
        x = standardize_inputs(x, idx)
    if method in COST_RULES:
        x = with_true_weights(x, feats.data.weights)
    if chosen.get("normalize_cost"):
        model_options["normalize_cost"] = True
    torch.manual_seed(seed)
    model = METHODS[method](x.shape[-1], **model_options)
    config = TrainConfig(
        lr=chosen["lr"],
        epochs=chosen["epoch"],
        lr_decay_epoch=chosen.get("lr_decay_epoch"),
        ema_decay=chosen.get("ema_decay"),
        seed=seed,
        progress=progress,
    )
    if progress:
        print(f"refit {method} on {len(idx)} instances: {config}", flush=True)
    start = time.perf_counter()
    result = train(model, x[idx], labels[idx], None, None, config)
    model.load_state_dict(result.best_state)
    return {
        "method": f"refit-{method}",
        "variant": feats.data.variant,
        "seed": feats.data.seed,
        "train_size": len(idx),
        "epochs": chosen["epoch"],
        "from": {"lr_grid": record["lr_grid"], "chosen": chosen},
        "history": result.history,
        "seconds": time.perf_counter() - start,
        "test": selection_record(feats.data, feats.test, predict(model, x[feats.test])),
    }


def merge_records(records: Sequence[dict]) -> dict:
    """One record from runs of one method over parts of a learning-rate grid.

    Equivalent to a single ``run_method`` over the concatenated grid (training is
    deterministic per learning rate): the run with the best validation exact match wins,
    the earlier one in the given order on ties.
    """
    if not records:
        raise ValueError("records: nothing to merge")
    keys = {
        (r["method"], r["variant"], r.get("seed"), r.get("epochs"), r.get("train_size"))
        for r in records
    }
    if len(keys) != 1:
        raise ValueError(
            f"records: not runs of one method on one dataset: {sorted(map(str, keys))}"
        )
    best = records[0]
    for r in records[1:]:
        if r["chosen"]["val_exact"] > best["chosen"]["val_exact"]:
            best = r
    merged = dict(best)
    merged["lr_grid"] = [lr for r in records for lr in r["lr_grid"]]
    merged["runs"] = [run for r in records for run in r["runs"]]
    commands = [r["command"] for r in records if "command" in r]
    if commands:
        merged["command"] = " && ".join(commands)
    return merged


def write_record(record: dict, out_dir: Path, tag: str | None = None) -> Path:
    """``out_dir/<variant>/<method>[-<tag>].json``."""
    name = record["method"] + (f"-{tag}" if tag else "")
    path = Path(out_dir) / record["variant"] / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def load_variant(
    variant: str, seed: int, cache_path: Path, train_limit: int | None = None
) -> Features:
    data = generate(variant=variant, seed=seed)
    return load_features(data, EmbeddingCache(cache_path), train_limit=train_limit)
