"""The figures: accuracies, training-step solve times, learned vs true rules, solved boards."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import digits
from .grid import geometry
from .ilp import true_rules

RECOVERED = 0.95  # a true rule counts as recovered by a learned row at this cosine or above


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def rule_similarity(A: np.ndarray, size: int) -> np.ndarray:
    """For each true rule (``ilp.true_rules``), the best cosine between its normal and a
    learned row's normal ``(4 s^2,)``; rows are compared as ``A y <= b`` normals, so a
    learned row matches a rule only with the rule's sign."""
    T, _ = true_rules(size)
    T = T / np.linalg.norm(T, axis=1, keepdims=True)
    L = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    return (T @ L.T).max(axis=1) if len(L) else np.zeros(len(T))


def band_span_similarity(A: np.ndarray, b: np.ndarray, size: int) -> np.ndarray:
    """For learned equality bands (``model.EqualityBands``: rows ``a_k . y <= mu - beta_k``
    then ``-a_k . y <= mu + beta_k``), for each true rule ``t . y - 1 = 0`` the cosine
    between ``(t, -1)`` and its projection onto the span of the bands' ``(a_k, beta_k)``
    ``(4 s^2,)``: 1 when the rule is a linear combination of the learned equalities. Bands
    are mixtures of rules, so they are compared as a space, not row by row."""
    m = len(A) // 2
    beta = (b[m:] - b[:m]) / 2
    L = np.hstack([A[:m], beta[:, None]])
    T, _ = true_rules(size)
    T = np.hstack([T, -np.ones((len(T), 1))])
    Q, sv, _ = np.linalg.svd(L.T, full_matrices=False)
    Q = Q[:, sv > 1e-8 * sv.max()]  # an orthonormal basis of the bands' span
    proj = (T @ Q) @ Q.T
    return np.linalg.norm(proj, axis=1) / np.linalg.norm(T, axis=1)


def method_label(row: dict) -> str:
    """A results row's method, with ``" (bands)"`` for learned equality bands (another model
    than the paper's packing rows), ``" (bands, refit)"`` when they were tested refit; a
    visual run's CNN trained from the given cells' digits (``cnn_loss`` ``"cells"``) or
    decoded with log-probability costs or with its confident givens fixed says so
    (``"CNN from digits"``, ``"log costs"``, ``"givens fixed at p >= P"``)."""
    parts = []
    if row.get("encoding") == "bands":
        parts.append("bands, refit" if str(row.get("refit_bands")) == "True" else "bands")
    if row.get("cnn_loss") == "cells":
        parts.append(
            "CNN from digits" + (", shifts" if str(row.get("cnn_shift")) == "True" else "")
        )
    if row.get("costs") == "log":
        parts.append("log costs")
    if row.get("fix_confident") not in (None, ""):
        parts.append(f"givens fixed at p >= {float(row['fix_confident']):g}")
    return row["method"] + (f" ({'; '.join(parts)})" if parts else "")


def plot_accuracy(rows: Sequence[dict], path: Path) -> None:
    """Test board accuracy per (size, input, test split) and method: mean, std over seeds."""
    plt = _pyplot()
    key = lambda r: (int(r["size"]), r["input"], r["test_split"])
    groups = sorted({key(r) for r in rows})
    order = ("comboptnet", "comboptnet (bands)", "ilploss", "ilploss (bands)")
    order += ("ilploss (bands, refit)", "mlp", "rules")
    labels = {method_label(r) for r in rows}
    methods = [m for m in order if m in labels] + sorted(labels - set(order))
    fig, ax = plt.subplots(figsize=(1.8 + 1.4 * len(groups), 3.2))
    width = 0.8 / max(len(methods), 1)
    for j, method in enumerate(methods):
        means, stds = [], []
        for g in groups:
            v = [float(r["test_board"]) for r in rows if key(r) == g and method_label(r) == method]
            means.append(np.mean(v) if v else np.nan)
            stds.append(np.std(v) if v else 0.0)
        x = np.arange(len(groups)) + (j - (len(methods) - 1) / 2) * width
        ax.bar(x, means, width, yerr=stds, label=method, capsize=3)
    labels = [f"{s}x{s} {i}" + (" (hard)" if t == "hard" else "") for s, i, t in groups]
    ax.set_xticks(np.arange(len(groups)), labels, fontsize=8)
    ax.set_ylabel("test board accuracy (%)")
    ax.set_ylim(0, 105)
    # below the axes, so that no bar is hidden behind it
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.savefig(path, dpi=130, bbox_inches="tight")
    plt.close(fig)


def plot_step_times(runs: Sequence[tuple[str, Sequence[float]]], path: Path) -> None:
    """Seconds of each training step's forward pass (CombOptNet: the exact ILP solves of a
    batch; ILP-Loss: drawing the negatives and the loss, no solver)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, times in runs:
        ax.semilogy(np.arange(1, len(times) + 1), times, marker=".", label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel("training forward of one batch (s)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_rules(runs: Sequence[tuple], path: Path) -> None:
    """Per true rule, the best cosine with a learned row (runs ``(label, A, size)``) or, for
    equality bands (runs ``(label, A, size, b)``), with the bands' span
    (``band_span_similarity``), sorted; the dashed line is the ``RECOVERED`` threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for label, A, size, *b in runs:
        sim = band_span_similarity(A, b[0], size) if b else rule_similarity(A, size)
        sim = np.sort(sim)[::-1]
        n = int((sim >= RECOVERED).sum())
        ax.plot(sim, label=f"{label}: {n}/{len(sim)} recovered")
    ax.axhline(RECOVERED, ls="--", c="gray", lw=0.8)
    ax.set_xlabel("true rule (sorted)")
    ax.set_ylabel("best cosine with a learned row\n(bands: with their span)")
    ax.set_ylim(-1, 1.05)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def draw_boards(
    puzzles: np.ndarray,
    predicted: np.ndarray,
    solutions: np.ndarray,
    path: Path,
    image_index: np.ndarray | None = None,
    title: str = "",
) -> None:
    """Boards side by side: givens in black (or their digit images), predicted digits in
    blue where right and red where wrong (the right digit in small grey beside)."""
    plt = _pyplot()
    k, s = len(puzzles), puzzles.shape[1]
    g = geometry(s)
    fig, axes = plt.subplots(1, k, figsize=(2.6 * k, 2.8), squeeze=False)
    for ax, p, y, sol, idx in zip(
        axes[0],
        puzzles,
        predicted,
        solutions,
        image_index if image_index is not None else [None] * k,
    ):
        ax.set_xlim(0, s)
        ax.set_ylim(s, 0)
        ax.set_aspect("equal")
        ax.axis("off")
        for i in range(s + 1):
            thick = 1.6 if i % g.box_rows == 0 else 0.4
            ax.plot([0, s], [i, i], c="k", lw=thick)
            thick = 1.6 if i % g.box_cols == 0 else 0.4
            ax.plot([i, i], [0, s], c="k", lw=thick)
        for r in range(s):
            for c in range(s):
                if p[r, c] and idx is not None:
                    img = digits.images(idx[r, c])
                    ax.imshow(img, cmap="gray_r", extent=(c + 0.1, c + 0.9, r + 0.9, r + 0.1))
                elif p[r, c]:
                    ax.text(
                        c + 0.5,
                        r + 0.5,
                        str(p[r, c]),
                        ha="center",
                        va="center",
                        fontsize=90 / s,
                        weight="bold",
                    )
                else:
                    ok = y[r, c] == sol[r, c]
                    ax.text(
                        c + 0.5,
                        r + 0.5,
                        str(y[r, c]) if y[r, c] else "?",
                        ha="center",
                        va="center",
                        fontsize=90 / s,
                        color="tab:blue" if ok else "tab:red",
                    )
                    if not ok:
                        ax.text(c + 0.85, r + 0.8, str(sol[r, c]), fontsize=40 / s, c="gray")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
