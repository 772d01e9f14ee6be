"""Training and evaluation of the keypoint matcher with a CombOptNet layer (paper Sec. 4.4).

The network produces unary costs ``(B, p, p)``; the CombOptNet layer with ``m = 2p`` learned
constraints over ``n = p^2`` binary variables turns them into a matching; the loss is the
MSE between that matching and the ground truth (Hamming loss / n). Nothing tells the layer
that the problem is an assignment. After every epoch the model is scored on the validation
split (the layer's own per-keypoint accuracy); the best epoch's weights are evaluated on the
test split with three decoders of the same learned costs:

- ``argmax``: each source keypoint independently takes its cheapest target;
- ``hungarian``: the exact assignment (the known constraints; the dedicated-solver bound);
- ``combopt``: the ILP with the learned constraints.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from combopt_core import Status, get_solver
from combopt_torch import ILPLayer, LearnableConstraints
from combopt_torch.ilploss import ILPLoss

from .backend import CardinalitySplit
from .matching import argmax_matching, hungarian_matching, is_permutation, keypoint_accuracy
from .model import GraphMatcher, delaunay_adjacency
from .pairs import KeypointPair

DECODERS = ("argmax", "hungarian", "combopt")
METHODS = ("combopt", "ilploss")


@dataclass(frozen=True)
class Protocol:
    """Training protocol; the defaults are the paper's (10 epochs x 400 iterations, Adam 1e-4,
    batch 8, tau 0.5, best validation epoch evaluated on test).

    ``constraint_lr`` is the learning rate of the constraint parameters (``None``: ``lr``);
    ``time_limit`` caps each ILP solve during training in seconds, ``eval_time_limit`` during
    validation and test (``None``: solve to proven optimality; a capped solve returns the
    solver's best point so far, and evaluation reports how often that happened);
    ``workers`` is the number of parallel solves per batch; ``solver_options`` are keyword
    options for the backend (``get_solver(solver, **solver_options)``). ``method``:
    ``"combopt"`` trains through the ILP with the paper's rule; ``"ilploss"`` trains the cost
    network and the constraints solver-free with ILP-Loss (costs learned: a negative is cut
    off or made costlier; soft-min temperature ``ilploss_temperature``), solving only to
    validate and test. ``cardinality_split``: wrap the backend in
    ``backend.CardinalitySplit`` (exact: one branch on ``sum y`` before the backend's own
    search; training, validation and test).
    """

    epochs: int = 10
    iterations: int = 400
    batch_size: int = 8
    lr: float = 1e-4
    constraint_lr: float | None = None
    tau: float = 0.5
    time_limit: float | None = None
    eval_time_limit: float | None = None
    workers: int | None = None
    solver: str | None = None
    solver_options: dict | None = None
    method: str = "combopt"
    ilploss_temperature: float = 0.1
    cardinality_split: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {self.method!r}")
        for name in ("epochs", "iterations", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.lr <= 0 or (self.constraint_lr is not None and self.constraint_lr <= 0):
            raise ValueError("lr, constraint_lr: must be > 0")


@dataclass
class Batch:
    """Tensors of a list of pairs with the same ``p``; ``y_true`` is ``(B, p, p)``."""

    src_feat: torch.Tensor
    src_pos: torch.Tensor
    src_adj: torch.Tensor
    trg_feat: torch.Tensor
    trg_pos: torch.Tensor
    trg_adj: torch.Tensor
    perm: np.ndarray
    y_true: torch.Tensor


def collate(pairs: Sequence[KeypointPair], features: Callable | None = None) -> Batch:
    """Stack pairs; ``features(pairs) -> (src (B,p,d), trg (B,p,d))`` overrides descriptors."""
    ps = {pair.num_keypoints for pair in pairs}
    if len(ps) != 1:
        raise ValueError(f"pairs: all pairs of a batch need the same p, got {sorted(ps)}")

    def stack(values) -> torch.Tensor:
        return torch.as_tensor(np.stack(values), dtype=torch.float32)

    if features is None:
        src_feat, trg_feat = stack([q.src_feat for q in pairs]), stack([q.trg_feat for q in pairs])
    else:
        src_feat, trg_feat = features(pairs)
    perm = np.stack([q.perm for q in pairs])
    p = perm.shape[1]
    y_true = torch.zeros(len(pairs), p, p)
    y_true[torch.arange(len(pairs))[:, None], torch.arange(p), torch.as_tensor(perm)] = 1.0
    return Batch(
        src_feat=src_feat,
        src_pos=stack([q.src_pos for q in pairs]),
        src_adj=stack([delaunay_adjacency(q.src_pos) for q in pairs]),
        trg_feat=trg_feat,
        trg_pos=stack([q.trg_pos for q in pairs]),
        trg_adj=stack([delaunay_adjacency(q.trg_pos) for q in pairs]),
        perm=perm,
        y_true=y_true,
    )


class KeypointCombOptNet(nn.Module):
    """Cost network + ``m = 2p`` learned constraints + ILP layer over ``n = p^2`` binaries.

    ``forward(batch) -> (costs (B, p, p), y (B, p, p), info)``; ``y`` is the ILP's matching
    (solved by ``ilp`` in training mode and by ``eval_ilp``, with the evaluation time limit,
    in eval mode).
    ``extractor`` (optional) is a module whose parameters train with the matcher (the
    backbone on SPair-71k); it is only held here so that optimisers and checkpoints see it.
    """

    def __init__(
        self,
        p: int,
        feature_dim: int,
        protocol: Protocol = Protocol(),
        hidden: int = 64,
        num_layers: int = 2,
        seed: int = 0,
        extractor: nn.Module | None = None,
    ) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.p = p
        self.matcher = GraphMatcher(feature_dim, hidden, num_layers)
        self.constraints = LearnableConstraints(2 * p, p * p, 0.0, 1.0, generator=generator)
        solver, options = protocol.solver, protocol.solver_options
        if protocol.cardinality_split:
            solver = CardinalitySplit(get_solver(solver, **(options or {})))
            options = None
        self.ilp = ILPLayer(
            0.0,
            1.0,
            solver=solver,
            tau=protocol.tau,
            workers=protocol.workers,
            time_limit=protocol.time_limit,
            solver_options=options,
        )
        self.eval_ilp = ILPLayer(
            0.0,
            1.0,
            solver=self.ilp.solver,
            workers=protocol.workers,
            time_limit=protocol.eval_time_limit,
        )
        self.extractor = extractor

    def costs(self, batch: Batch) -> torch.Tensor:
        return self.matcher(
            batch.src_feat,
            batch.src_pos,
            batch.src_adj,
            batch.trg_feat,
            batch.trg_pos,
            batch.trg_adj,
        )

    def forward(self, batch: Batch):
        costs = self.costs(batch)
        A, b = self.constraints()
        layer = self.ilp if self.training else self.eval_ilp
        y, info = layer(costs.flatten(1), A, b, return_info=True)
        return costs, y.view_as(costs), info


def evaluate(
    model: KeypointCombOptNet,
    pairs: Sequence[KeypointPair],
    decoders: Sequence[str] = DECODERS,
    batch_size: int = 64,
    features: Callable | None = None,
) -> dict[str, dict[str, float]]:
    """Per decoder: mean keypoint accuracy and valid-permutation share over ``pairs``.

    The ``combopt`` entry also reports the share of infeasible ILPs (learned constraints with
    no feasible point) and of solves stopped by the time limit.
    """
    unknown = set(decoders) - set(DECODERS)
    if unknown:
        raise ValueError(f"decoders: unknown {sorted(unknown)}, expected some of {DECODERS}")
    acc = {d: [] for d in decoders}
    valid = {d: [] for d in decoders}
    infeasible, limited = [], []
    model.eval()
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            stop = min(start + batch_size, len(pairs))
            batch = collate([pairs[i] for i in range(start, stop)], features)
            costs = model.costs(batch)
            outputs = {}
            if "argmax" in decoders:
                outputs["argmax"] = argmax_matching(costs.numpy())
            if "hungarian" in decoders:
                outputs["hungarian"] = hungarian_matching(costs.numpy())
            if "combopt" in decoders:
                A, b = model.constraints()
                y, info = model.eval_ilp(costs.flatten(1), A, b, return_info=True)
                outputs["combopt"] = y.view_as(costs).numpy()
                infeasible.append(info.infeasible.numpy())
                limited.append(info.status.numpy() == int(Status.TIME_LIMIT))
            for name, y in outputs.items():
                acc[name].append(keypoint_accuracy(y, batch.perm))
                valid[name].append(is_permutation(y))
    model.train()
    report = {
        d: {
            "accuracy": float(np.concatenate(acc[d]).mean()),
            "valid_permutations": float(np.concatenate(valid[d]).mean()),
        }
        for d in decoders
    }
    if "combopt" in decoders:
        report["combopt"]["infeasible"] = float(np.concatenate(infeasible).mean())
        report["combopt"]["time_limited"] = float(np.concatenate(limited).mean())
    return report


def train(
    model: KeypointCombOptNet,
    train_pairs: Sequence[KeypointPair],
    val_pairs: Sequence[KeypointPair],
    protocol: Protocol,
    seed: int = 0,
    features: Callable | None = None,
    extractor_lr: float | None = None,
    log: Callable[[str], None] | None = None,
) -> dict:
    """Train with the protocol; restore the best validation epoch; return the history.

    Every iteration draws ``batch_size`` random training pairs. ``extractor_lr`` is the
    learning rate of ``model.extractor`` (the paper: 2.5e-6 for the VGG16 backbone).
    ``log`` receives a progress line at each quarter of an epoch and a summary per epoch.
    """
    rng = np.random.default_rng(seed)
    groups = [
        {"params": model.matcher.parameters(), "lr": protocol.lr},
        {"params": model.constraints.parameters(), "lr": protocol.constraint_lr or protocol.lr},
    ]
    if model.extractor is not None:
        groups.append({"params": model.extractor.parameters(), "lr": extractor_lr or protocol.lr})
    optimizer = torch.optim.Adam(groups)
    best = (-1.0, None, -1)
    history = []
    quarter = max(1, protocol.iterations // 4)
    criterion = None
    if protocol.method == "ilploss":
        criterion = ILPLoss(0.0, 1.0, temperature=protocol.ilploss_temperature, seed=seed)
    for epoch in range(protocol.epochs):
        start = time.perf_counter()
        losses, infeasible, limited = [], [], []
        for iteration in range(1, protocol.iterations + 1):
            idx = rng.choice(len(train_pairs), size=protocol.batch_size, replace=False)
            batch = collate([train_pairs[i] for i in idx], features)
            if criterion is None:
                _, y, info = model(batch)
                loss = ((y - batch.y_true) ** 2).mean()
                infeasible.append(float(info.infeasible.float().mean()))
                limited.append(float((info.status == int(Status.TIME_LIMIT)).float().mean()))
            else:  # solver-free: no ILP, so no infeasible or time-limited training solve
                A, b = model.constraints()
                loss = criterion(A, b, model.costs(batch).flatten(1), batch.y_true.flatten(1))
                infeasible.append(0.0)
                limited.append(0.0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            if log and iteration % quarter == 0 and iteration < protocol.iterations:
                log(
                    f"  epoch {epoch + 1}: {iteration}/{protocol.iterations} iterations, "
                    f"train_loss={np.mean(losses):.3f}, {time.perf_counter() - start:.0f} s"
                )
        val = evaluate(model, val_pairs, ("combopt",), features=features)["combopt"]
        entry = {
            "epoch": epoch + 1,
            "train_loss": float(np.mean(losses)),
            "train_infeasible": float(np.mean(infeasible)),
            "train_time_limited": float(np.mean(limited)),
            "val_accuracy": val["accuracy"],
            "val_valid_permutations": val["valid_permutations"],
            "seconds": time.perf_counter() - start,
        }
        history.append(entry)
        if log:
            log(
                f"  epoch {entry['epoch']}: "
                + ", ".join(f"{k}={v:.3f}" for k, v in entry.items() if k != "epoch")
            )
        if val["accuracy"] > best[0]:
            best = (val["accuracy"], copy.deepcopy(model.state_dict()), epoch + 1)
    model.load_state_dict(best[1])
    return {"history": history, "best_epoch": best[2], "protocol": asdict(protocol)}
