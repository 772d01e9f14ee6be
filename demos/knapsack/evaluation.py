"""Scores of predicted selections against the true knapsack data, and the Fig. 14-style plot.

For each predicted selection ``y`` (0/1) with the true weights ``w``, prices ``p`` and
optimum ``OPT``:

- exact match: ``y == y*`` (the tie-broken label);
- optimal value reached: ``y`` feasible (``w.y <= 100``) and ``p.y == OPT``: counts every
  optimal subset as right (differs from exact match only on instances with ties);
- infeasible: ``w.y > 100``; counted separately;
- value ratio: mean of ``p.y / OPT`` over the *feasible* predictions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import CAPACITY


def totals(selection: np.ndarray, weights: np.ndarray, prices: np.ndarray):
    """``(total price, total weight)`` of each selection, both ``(N,)``."""
    y = np.asarray(selection, dtype=np.int64)
    if y.shape != weights.shape:
        raise ValueError(f"selection: expected shape {weights.shape}, got {y.shape}")
    return (y * prices).sum(axis=1), (y * weights).sum(axis=1)


def score(
    selection: np.ndarray,
    weights: np.ndarray,
    prices: np.ndarray,
    labels: np.ndarray,
    optimum: np.ndarray,
) -> dict:
    """The metrics of the module docstring, as plain Python numbers."""
    price, weight = totals(selection, weights, prices)
    feasible = weight <= CAPACITY
    exact = np.all(np.asarray(selection) == labels, axis=1)
    reached = feasible & np.isclose(price, optimum)
    ratio = price[feasible] / optimum[feasible]
    return {
        "n": len(price),
        "exact_match": float(exact.mean()),
        "optimal_value_reached": float(reached.mean()),
        "infeasible": int((~feasible).sum()),
        "value_ratio_feasible": float(ratio.mean()) if ratio.size else float("nan"),
    }


def plot_prices(panels: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], path: Path) -> None:
    """Fig. 14-style scatter: predicted total price over optimal total price, per method.

    ``panels[name] = (optimal total, predicted total, infeasible mask)``; infeasible
    predictions are drawn as red crosses.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.4 * cols, 4.4 * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    lo = min(float(min(o.min(), p.min())) for o, p, _ in panels.values())
    hi = max(float(max(o.max(), p.max())) for o, p, _ in panels.values())
    for ax, (name, (opt, pred, bad)) in zip(axes.flat, panels.items()):
        ax.plot([lo, hi], [lo, hi], color="0.6", lw=1, zorder=0)
        ax.scatter(opt[~bad], pred[~bad], s=8, alpha=0.5, color="tab:blue", label="feasible")
        ax.scatter(opt[bad], pred[bad], s=14, marker="x", color="tab:red", label="infeasible")
        ax.set_title(f"{name}\n({int(bad.sum())} of {len(bad)} infeasible)", fontsize=10)
        ax.set_xlabel("optimal total price ($)")
        ax.set_xlim(lo - 5, hi + 5)
        ax.set_ylim(lo - 5, hi + 5)
        ax.set_aspect("equal")
    for row in axes:
        row[0].set_ylabel("predicted total price ($)")
    axes[0][0].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
