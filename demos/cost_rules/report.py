"""The comparison's CSV, its table (chosen settings, mean and spread over seeds) and figure."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

LABELS = {
    "combopt": "CombOptNet (ILPLayer)",
    "blackbox": "Blackbox (Vlastelica et al.)",
    "perturbed-fy": "Perturbed, Fenchel-Young (Berthet et al.)",
    "spo+": "SPO+ (Elmachtoub & Grigas)",
    "identity": "Identity (Sahoo et al.)",
}
FIELDS = (
    "seed", "method", "setting", "chosen", "val_regret", "val_exact", "regret", "after",
    "before", "cosine",
)  # fmt: skip


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["seed"] = int(row["seed"])
        row["chosen"] = row["chosen"] == "True"
        for key in FIELDS[4:]:
            row[key] = float(row[key])
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per method (in first-seen order): test regret and exact match of the chosen runs."""
    chosen = [r for r in rows if r["chosen"]]
    out = []
    for method in dict.fromkeys(r["method"] for r in chosen):
        mine = sorted((r for r in chosen if r["method"] == method), key=lambda r: r["seed"])
        regret = np.array([r["regret"] for r in mine])
        exact = np.array([r["after"] for r in mine])
        out.append(
            {
                "method": method,
                "seeds": [r["seed"] for r in mine],
                "settings": [r["setting"] or "-" for r in mine],
                "regret": (regret.mean(), regret.std()),
                "exact": (exact.mean(), exact.std()),
            }
        )
    return out


def table(rows: list[dict]) -> str:
    """Markdown: test regret and exact match, mean ± std over seeds, and the chosen settings."""
    lines = [
        "| method | test regret (mean ± std) | test exact match (mean ± std) | "
        "chosen on validation, per seed |",
        "|---|---|---|---|",
    ]
    for s in summary(rows):
        settings = ", ".join(s["settings"]) if any(x != "-" for x in s["settings"]) else "-"
        lines.append(
            f"| {LABELS[s['method']]} | {s['regret'][0]:.4f} ± {s['regret'][1]:.4f} | "
            f"{100 * s['exact'][0]:.1f} ± {100 * s['exact'][1]:.1f} % | {settings} |"
        )
    seeds = sorted({r["seed"] for r in rows})
    lines.append("")
    lines.append(f"Seeds {', '.join(map(str, seeds))}; std is over seeds (population).")
    return "\n".join(lines)


def figure(rows: list[dict], path: Path) -> None:
    """Two bar panels, test regret and test exact match, mean ± std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = summary(rows)
    names = [LABELS[s["method"]].split(" (")[0] for s in stats]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, key, title, scale in (
        (axes[0], "regret", "test normalised regret (lower is better)", 1.0),
        (axes[1], "exact", "test exact match, % (higher is better)", 100.0),
    ):
        means = [scale * s[key][0] for s in stats]
        stds = [scale * s[key][1] for s in stats]
        ax.bar(range(len(stats)), means, yerr=stds, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(stats)), names, rotation=25, ha="right")
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
