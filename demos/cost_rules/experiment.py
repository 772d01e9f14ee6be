"""One comparison: each cost rule on the synthetic fixed-ILP task, set on validation.

The task is ``examples/fixed_ilp_learned_costs.py`` (a ``p x p`` assignment with known
constraints, costs linear in pair features plus unseen noise); each run is one call of that
example's ``main`` with ``--method``. Per seed and method, every setting of ``GRID`` trains
on the training split less the ``val`` held-out instances; the setting with the lowest
validation regret (first on ties) is the one whose test scores are reported. The test split
is never used to choose.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
from collections.abc import Sequence
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fixed_ilp_learned_costs.py"

#: Per method, the settings tried (extra example flags); one empty setting = nothing to tune.
GRID: dict[str, list[tuple[str, ...]]] = {
    "combopt": [()],
    "blackbox": [("--lambda", v) for v in ("5", "20", "80")],
    "perturbed-fy": [("--sigma", v) for v in ("0.05", "0.2", "0.5")],
    "spo+": [()],
    "identity": [()],
}


def load_example():
    """The example module, imported from its file (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("fixed_ilp_learned_costs", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def run_one(example, argv: Sequence[str]) -> dict[str, float]:
    """The example's scores for ``argv``, its per-epoch printing kept quiet."""
    with contextlib.redirect_stdout(io.StringIO()):
        return example.main(list(argv))


def compare(
    seeds: Sequence[int],
    methods: Sequence[str],
    task: Sequence[str],
    progress: bool = True,
) -> list[dict]:
    """One row per (seed, method, setting): the scores and whether validation chose it.

    ``task``: the example flags every run shares (sizes, epochs, solver, ``--val``).
    """
    unknown = sorted(set(methods) - set(GRID))
    if unknown:
        raise ValueError(f"methods: unknown {unknown}, expected some of {sorted(GRID)}")
    example = load_example()
    rows = []
    for seed in seeds:
        for method in methods:
            runs = []
            for setting in GRID[method]:
                argv = [*task, "--seed", str(seed), "--method", method, *setting]
                scores = run_one(example, argv)
                runs.append({"seed": seed, "method": method, "setting": " ".join(setting)})
                runs[-1].update(scores)
                if progress:
                    print(
                        f"seed {seed} {method:12s} {' '.join(setting):14s} "
                        f"val regret {scores['val_regret']:.4f}  test regret "
                        f"{scores['regret']:.4f}  test exact {scores['after']:.3f}",
                        flush=True,
                    )
            best = min(range(len(runs)), key=lambda i: runs[i]["val_regret"])
            for i, run in enumerate(runs):
                run["chosen"] = i == best
            rows.extend(runs)
    return rows
