"""Draw the figures of the Concepts page (run from the repository root).

    python docs/figures/make_figures.py   # writes delta_basis.png and target_cases.png here

Panels on a 2-variable integer lattice, after the paper's Fig. 2 and 3:
(a) the Delta-basis of an incoming gradient dy beside the canonical basis; (b) a feasible
target: the rule pulls the constraint nearest to y towards it; (c) an infeasible target: the
rule pushes the constraint the target violates outwards. The numbers (basis, lambda,
distances, which constraint moves) are computed with the same formulas as the library.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

HERE = Path(__file__).resolve().parent
LIM = (-0.4, 3.6)
BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}
GREEN, ORANGE, GREY, RED, BLUE = "#2a9d4b", "#e67e22", "#7f8c8d", "#c0392b", "#2c6fbb"

# Three constraints a_j . y <= b_j (rows of A); their region contains y = (1, 1).
A = np.array([[1.0, 1.0], [-1.0, 0.0], [0.2, -1.0]])
b = np.array([3.5, -0.4, -0.3])


def delta_basis(dy: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Delta_k and lambda_k of eq. (8)-(9) and Prop. 1, so that sum lambda_k Delta_k = -dy."""
    order = np.argsort(-np.abs(dy), kind="stable")
    mags = np.abs(dy)[order]
    lam = mags - np.append(mags[1:], 0.0)
    deltas, step = [], np.zeros_like(dy)
    for k in order:
        step = step.copy()
        step[k] = -np.sign(dy[k])
        deltas.append(step)
    return deltas, lam


def distance(point: np.ndarray) -> np.ndarray:
    """Euclidean distance of ``point`` to each hyperplane a_j . y = b_j."""
    return np.abs(A @ point - b) / np.linalg.norm(A, axis=1)


def foot(point: np.ndarray, j: int) -> np.ndarray:
    """The orthogonal projection of ``point`` onto hyperplane j."""
    a = A[j]
    return point - (a @ point - b[j]) / (a @ a) * a


def draw_region(ax, highlight: int | None = None, colour: str = GREY) -> None:
    xs, ys = np.meshgrid(np.linspace(*LIM, 400), np.linspace(*LIM, 400))
    inside = np.all(A @ np.stack([xs.ravel(), ys.ravel()]) <= b[:, None], axis=0)
    ax.contourf(xs, ys, inside.reshape(xs.shape), levels=[0.5, 1.5], colors=["#dff0e3"])
    t = np.linspace(*LIM, 2)
    for j, (a, bj) in enumerate(zip(A, b)):
        if abs(a[1]) > 1e-9:
            line = (t, (bj - a[0] * t) / a[1])
        else:
            line = (np.full(2, bj / a[0]), t)
        ax.plot(
            *line, color=colour if j == highlight else "#34495e", lw=2.2 if j == highlight else 1.2
        )
    grid = np.array([(i, k) for i in range(4) for k in range(4)], dtype=float)
    feasible = np.all(grid @ A.T <= b, axis=1)
    ax.scatter(*grid[feasible].T, s=22, color="#34495e", zorder=3)
    ax.scatter(*grid[~feasible].T, s=22, facecolors="white", edgecolors="#34495e", zorder=3)


def setup(ax, title: str) -> None:
    ax.set_xlim(*LIM)
    ax.set_ylim(*LIM)
    ax.set_aspect("equal")
    ax.set_xticks(range(4))
    ax.set_yticks(range(4))
    ax.set_xlabel("$y_1$")
    ax.set_ylabel("$y_2$")
    ax.set_title(title, fontsize=11)


def arrow(ax, start, vector, colour, **kw) -> None:
    ax.annotate(
        "",
        xy=tuple(np.asarray(start) + vector),
        xytext=tuple(start),
        arrowprops=dict(arrowstyle="-|>", color=colour, lw=2, shrinkA=0, shrinkB=0, **kw),
        zorder=4,
    )


def panel_basis(ax) -> None:
    y = np.array([1.0, 1.0])
    dy = np.array([-0.8, -0.3])
    deltas, lam = delta_basis(dy)
    assert np.allclose(sum(l * d for l, d in zip(lam, deltas)), -dy)
    draw_region(ax)
    for e in np.eye(2) * -dy:
        arrow(ax, y, e, ORANGE)
    offsets = [(-30, -18), (-10, 8)]
    for k, d in enumerate(deltas, 1):
        arrow(ax, y, d, GREEN)
        ax.annotate(
            f"$\\Delta_{k}$ ($\\lambda_{k}$ = {lam[k - 1]:.1f})",
            y + d,
            xytext=offsets[k - 1],
            textcoords="offset points",
            color=GREEN,
            fontsize=9,
            bbox=BOX,
        )
    arrow(ax, y, -dy, GREY, linestyle="--")
    ax.annotate("$-dy$", y - dy, xytext=(-8, 8), textcoords="offset points", color=GREY, bbox=BOX)
    ax.scatter(*y, s=70, color=BLUE, zorder=5)
    ax.annotate("$y$", y, xytext=(-14, -12), textcoords="offset points", color=BLUE)
    setup(ax, "$\\Delta$-basis (green) vs canonical basis (orange)")


def panel_feasible(ax) -> None:
    y, target = np.array([1.0, 1.0]), np.array([2.0, 1.0])
    assert np.all(A @ target <= b), "the target of this panel must be feasible"
    j = int(np.argmin(distance(y)))  # softmin -> the nearest constraint dominates
    draw_region(ax, highlight=j, colour=GREEN)
    f = foot(y, j)
    ax.plot(*np.stack([y, f]).T, ls=":", color=GREEN, lw=1.6)
    arrow(ax, f, (y - f) * 0.8, GREEN)
    ax.annotate(
        "constraint pulled in",
        f,
        xytext=(6, -22),
        textcoords="offset points",
        color=GREEN,
        fontsize=9,
        bbox=BOX,
    )
    arrow(ax, y, target - y, GREY)
    ax.scatter(*y, s=70, color=BLUE, zorder=5)
    ax.scatter(*target, s=70, marker="s", color=GREEN, zorder=5)
    ax.annotate("$y$", y, xytext=(-14, 6), textcoords="offset points", color=BLUE)
    ax.annotate(
        "$y'_k$ feasible", target, xytext=(4, 12), textcoords="offset points", color=GREEN, bbox=BOX
    )
    setup(ax, "(a) feasible target: make $y$ less feasible")


def panel_infeasible(ax) -> None:
    y, target = np.array([1.0, 1.0]), np.array([2.0, 2.0])
    violated = np.flatnonzero(A @ target > b)
    assert violated.size == 1, "this panel shows a target violating exactly one constraint"
    j = int(violated[0])
    draw_region(ax, highlight=j, colour=RED)
    f = foot(target, j)
    ax.plot(*np.stack([target, f]).T, ls=":", color=RED, lw=1.6)
    arrow(ax, f, (target - f) * 1.6, RED)
    ax.annotate(
        "violated constraint\npushed out",
        target,
        xytext=(-10, 16),
        textcoords="offset points",
        color=RED,
        fontsize=9,
        bbox=BOX,
    )
    arrow(ax, y, target - y, GREY)
    ax.scatter(*y, s=70, color=BLUE, zorder=5)
    ax.scatter(*target, s=70, marker="s", color=RED, zorder=5)
    ax.annotate("$y$", y, xytext=(-14, -12), textcoords="offset points", color=BLUE)
    ax.annotate(
        "$y'_k$ infeasible",
        target,
        xytext=(8, -14),
        textcoords="offset points",
        color=RED,
        bbox=BOX,
    )
    setup(ax, "(b) infeasible target: make $y'_k$ feasible")


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw the Concepts page's figures.")
    parser.add_argument("--out", type=Path, default=HERE, help="folder (default: beside me)")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    panel_basis(ax)
    save(fig, out / "delta_basis.png")
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 5.0))
    panel_feasible(axes[0])
    panel_infeasible(axes[1])
    save(fig, out / "target_cases.png")


if __name__ == "__main__":
    main()
