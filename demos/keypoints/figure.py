"""Example matchings drawn on the synthetic layouts (like the paper's Fig. 13)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .train import DECODERS

TITLES = {
    "argmax": "row-wise argmax",
    "hungarian": "Hungarian (known)",
    "combopt": "CombOptNet (learned)",
}


def draw_matchings(results: Sequence[dict], path: Path, per_p: int = 1) -> None:
    """One row per (p, example): source and target views side by side, one panel per decoder.

    Lines join each source keypoint to every target it was matched to: green if correct,
    red if wrong; a source keypoint with no match is drawn hollow.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = []
    for p in sorted({r["p"] for r in results}):
        run = min((r for r in results if r["p"] == p), key=lambda r: r["seed"])
        chosen += [(p, ex) for ex in run["examples"][:per_p]]
    if not chosen:
        raise ValueError("results: no examples to draw")
    fig, axes = plt.subplots(
        len(chosen), len(DECODERS), figsize=(4.2 * len(DECODERS), 2.4 * len(chosen))
    )
    axes = np.atleast_2d(axes)
    for row, (p, ex) in enumerate(chosen):
        src, trg = np.asarray(ex["src_pos"]), np.asarray(ex["trg_pos"])
        src = (src - src.mean(0)) / src.std()
        trg = (trg - trg.mean(0)) / trg.std() + np.array([5.0, 0.0])
        for col, name in enumerate(DECODERS):
            ax = axes[row, col]
            y = np.asarray(ex[name])
            for i, j in zip(*np.nonzero(y)):
                ok = ex["perm"][i] == j
                ax.plot(
                    [src[i, 0], trg[j, 0]],
                    [src[i, 1], trg[j, 1]],
                    color="tab:green" if ok else "tab:red",
                    lw=1.5 if ok else 1.0,
                )
            matched = y.sum(1) > 0
            ax.scatter(src[matched, 0], src[matched, 1], c="tab:blue", s=25, zorder=3)
            ax.scatter(
                src[~matched, 0],
                src[~matched, 1],
                facecolors="none",
                edgecolors="tab:blue",
                s=25,
                zorder=3,
            )
            ax.scatter(trg[:, 0], trg[:, 1], c="tab:orange", s=25, zorder=3)
            correct = int(sum(np.array_equal(y[i], np.eye(p)[ex["perm"][i]]) for i in range(p)))
            ax.set_title(f"p={p}  {TITLES[name]}: {correct}/{p}", fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
    fig.suptitle(
        "Synthetic keypoint matching (not SPair-71k): source (blue) -> target (orange); green correct, red wrong",
        fontsize=10,
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
