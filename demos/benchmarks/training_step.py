"""Per training step: this library against the paper's naive algorithm, cold against warm.

A training step is the layer's forward (one exact ILP per sample) and backward (the
CombOptNet rule) for a batch of Random Constraints costs (n = 16; binary m = 4 and dense
m = 8) with "mid-training" constraints: the dataset's true ``A`` moved by a random walk of
``--drift`` per step, as learned constraints move between steps. Each method runs the same
steps, interleaved in one process:

* ``naive``: the paper's algorithm re-implemented: a fresh model per instance
  (``reuse_model=False``), a per-instance Python loop, one worker, the same backend with
  its stock search settings (the paper's code ran Gurobi with its defaults) and gaps at 0;
* ``cold``: ``ILPLayer``, one worker, no exact skips (``skip=False, enumeration="never"``):
  model reuse, one batched backward;
* ``skips``: ``ILPLayer`` defaults, one worker: the box-minimum certificate and, for a small
  shared box, one enumeration of the feasible set per step;
* ``warm``: ``skips`` plus a ``SolutionMemory`` keyed by the samples' dataset indices, timed
  on the second pass over the steps (the first fills the memory, as epoch 1 would);
* ``default``: ``ILPLayer`` with every default (all cores, the default backend).

Printed: median milliseconds per step, and each method's speed-up over ``naive`` measured in
this run, with the machine's load. Every method's proven optimum is checked against
``naive``'s on every instance (a mismatch is printed and makes the command exit 1); answers
a method could not prove optimal (``Status.ERROR``, e.g. CP-SAT declining to certify a
scaled model) are counted apart as *unproven*, never compared as if they were optima. ``--run-epochs``
also times whole epochs of the demonstration's training loop (``demos.training.train``) and
states the 100-epoch times they imply.

    python -m demos.benchmarks.training_step [--solver gurobi highs] [--steps 12] [--plot PNG]
        [--run-epochs N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import torch

from combopt_core import SolutionMemory, Status, combopt_gradients, get_solver, make_problem
from combopt_core.registry import default_registry
from combopt_torch import CombOptNet, ILPLayer

from .common import RC_CASES, available_backends, load_rc, machine_note, table

METHODS = ("naive", "cold", "skips", "warm", "default")
OBJ_TOL = 1e-9
#: The solvers' own search defaults, where combopt's defaults differ (speed settings only).
STOCK_OPTIONS = {
    "gurobi": {"Heuristics": 0.05, "Cuts": -1},
    "highs": {"mip_allow_restart": True},
    "cpsat": {"cut_level": 1},
}


def stock_solver(name: str):
    """The backend as the paper's code used its solver: a fresh model per instance and the
    solver's stock search settings (exact gaps kept)."""
    return get_solver(name, reuse_model=False, options=STOCK_OPTIONS.get(name, {}))


def moving_constraints(A: np.ndarray, steps: int, drift: float, seed: int) -> list[np.ndarray]:
    """``A`` after 1..``steps`` steps of a Gaussian random walk of size ``drift``."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(drift * rng.standard_normal((steps, *A.shape)), axis=0)
    return [A + w for w in walk]


def naive_step(solver, c, A, b, lb, ub, y_true) -> tuple[np.ndarray, np.ndarray]:
    """The paper's algorithm: solve instance by instance, then the rule on the batch.
    Returns the objectives and which of them are proven optima."""
    problem = make_problem(c, A, b, lb, ub)
    ys, proven = [], []
    for i in range(problem.batch_size):
        answer = solver.solve(problem.instance(i))
        ys.append(answer.y if answer.y is not None else problem.fallback_point())
        proven.append(answer.status == Status.OPTIMAL)
    y = np.stack(ys)
    dy = 2 * (y - y_true) / y.size  # the MSE loss's gradient
    combopt_gradients(dy, y, problem.A, problem.b, problem.lb, problem.ub, tau=0.5)
    return np.einsum("bn,bn->b", problem.c, y), np.array(proven)


def layer_step(layer, c, A, b, y_true, ids=None) -> tuple[np.ndarray, np.ndarray]:
    A_t = torch.tensor(A, requires_grad=True)
    b_t = torch.tensor(b, requires_grad=True)
    c_t = torch.tensor(c)
    y, info = layer(c_t, A_t, b_t, return_info=True, ids=ids)
    torch.nn.functional.mse_loss(y, torch.tensor(y_true)).backward()
    return info.objective.numpy(), info.status.numpy() == int(Status.OPTIMAL)


def run_case(backend: str, box: str, m: int, batch: int, steps: int, drift: float) -> dict:
    data = load_rc(box, m)
    lb, ub = float(data["lb"]), float(data["ub"])
    A_steps = moving_constraints(data["A"], 2 * steps, drift, seed=batch)
    b = data["b"]
    count = len(data["c_train"])
    index = [np.arange(s * batch, (s + 1) * batch) % count for s in range(steps)]
    layers = {
        "cold": ILPLayer(lb, ub, solver=backend, workers=1, skip=False, enumeration="never"),
        "skips": ILPLayer(lb, ub, solver=backend, workers=1),
        "warm": ILPLayer(lb, ub, solver=backend, workers=1, memory=SolutionMemory()),
        "default": ILPLayer(lb, ub),
    }
    naive = stock_solver(backend)
    for s, idx in enumerate(index):  # the warm layer's first epoch: fills its memory
        layer_step(layers["warm"], data["c_train"][idx], A_steps[s], b, data["y_train"][idx], idx)
    times = {name: [] for name in METHODS}
    mismatches = {name: 0 for name in METHODS}
    unproven = {name: 0 for name in METHODS}
    for s, idx in enumerate(index):
        c, y_true, A = data["c_train"][idx], data["y_train"][idx], A_steps[steps + s]
        objectives = {}
        for name in METHODS:
            start = time.perf_counter()
            if name == "naive":
                objectives[name] = naive_step(naive, c, A, b, lb, ub, y_true)
            else:
                ids = idx if name == "warm" else None
                objectives[name] = layer_step(layers[name], c, A, b, y_true, ids)
            times[name].append(time.perf_counter() - start)
        ref, ref_proven = objectives["naive"]
        for name, (obj, proven) in objectives.items():
            unproven[name] += int(np.sum(~proven))
            both = proven & ref_proven
            gap = np.abs(obj - ref)[both]
            mismatches[name] += int(np.sum(gap > OBJ_TOL * np.maximum(1.0, np.abs(ref[both]))))
    return {
        "ms": {name: 1e3 * statistics.median(t) for name, t in times.items()},
        "mismatches": mismatches,
        "unproven": unproven,
        "default_backend": layers["default"].solver.name,
    }


def run_epochs(backend: str, box: str, m: int, epochs: int) -> dict[str, float]:
    """Seconds per epoch of the demo's training loop (its training steps alone, without the
    validation solves): the naive algorithm's layer, this library cold and with defaults.

    ``naive`` is ``ILPLayer`` with a fresh model per instance, the solver's stock search
    settings, one worker and no skips (its backward is still the batched rule, so the ratio
    understates the paper's code's per-instance backward)."""
    from ..datasets import load_random_constraints
    from ..training import TrainConfig, train

    data = load_random_constraints(box, m, 0)
    num_vars, num_rows = data.c_train.shape[1], data.A.shape[0]
    config = TrainConfig(epochs=epochs, progress=False, verbose=False)
    variants = {
        "naive, 1 worker": {
            "solver": stock_solver(backend),
            "workers": 1,
            "skip": False,
            "enumeration": "never",
        },
        "cold, 1 worker": {"solver": backend, "workers": 1, "skip": False, "enumeration": "never"},
        "defaults, all cores": {"solver": backend},
    }
    seconds = {}
    for label, options in variants.items():
        generator = torch.Generator().manual_seed(0)
        model = CombOptNet(num_vars, num_rows, data.lb, data.ub, generator=generator, **options)
        seconds[label] = train(model, data, config).train_seconds / epochs
    return seconds


def plot_speedups(rows: list[list[str]], path: str) -> None:
    """Bars of each method's speed-up over naive, one group per backend, case and batch."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    header, body = rows[0], rows[1:]
    labels = [f"{r[0]}\n{r[1]}\nB={r[2]}" for r in body]
    methods = METHODS[1:]
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(max(8, 0.9 * len(body)), 4.5))
    for k, method in enumerate(methods):
        values = [float(r[header.index(f"{method} x")]) for r in body]
        ax.bar([i + k * width for i in range(len(body))], values, width, label=method)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(
        [i + width * (len(methods) - 1) / 2 for i in range(len(body))], labels, fontsize=7
    )
    ax.set_ylabel("speed-up over the naive algorithm (x)")
    ax.set_title("One training step (forward + backward), Random Constraints n = 16")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solver", nargs="*", help="backends (default: every one but bruteforce)")
    parser.add_argument("--steps", type=int, default=12, help="timed steps per case")
    parser.add_argument("--batches", type=int, nargs="*", default=[8, 128])
    parser.add_argument("--drift", type=float, default=0.003, help="constraint change per step")
    parser.add_argument("--run-epochs", type=int, default=0, help="also time N training epochs")
    parser.add_argument("--plot", help="also draw the speed-ups into this PNG file")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    backends = [b for b in available_backends(args.solver) if b != "bruteforce" or args.solver]
    default = default_registry().resolve_name(None)
    print(f"Training steps, forward + backward; {machine_note()}; default backend {default}")
    rows = [
        [
            "backend",
            "case",
            "batch",
            *[f"{m} ms" for m in METHODS],
            *[f"{m} x" for m in METHODS[1:]],
            "objective mismatches",
            "unproven",
        ]
    ]
    bad = 0
    for backend in backends:
        for box, m in RC_CASES:
            for batch in args.batches:
                r = run_case(backend, box, m, batch, args.steps, args.drift)
                ms = r["ms"]
                wrong = sum(r["mismatches"].values())
                bad += wrong
                rows.append(
                    [
                        backend,
                        f"{box} m={m}",
                        str(batch),
                        *[f"{ms[k]:.1f}" for k in METHODS],
                        *[f"{ms['naive'] / ms[k]:.1f}" for k in METHODS[1:]],
                        str(wrong),
                        str(sum(r["unproven"].values())),
                    ]
                )
                print(table(rows[:1] + rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))
    print("x: naive's median step time over the method's, measured in this run.")
    if args.plot:
        plot_speedups(rows, args.plot)
    if args.run_epochs:
        print(f"\n== {args.run_epochs} training epoch(s) per variant, Random Constraints ==")
        erows = [["backend", "case", "variant", "s / epoch", "100 epochs (min)", "x naive"]]
        for backend in backends:
            for box, m in RC_CASES:
                seconds = run_epochs(backend, box, m, args.run_epochs)
                naive = next(iter(seconds.values()))
                for label, sec in seconds.items():
                    erows.append(
                        [
                            backend,
                            f"{box} m={m}",
                            label,
                            f"{sec:.1f}",
                            f"{100 * sec / 60:.1f}",
                            f"{naive / sec:.1f}",
                        ]
                    )
                print("\n".join(table(erows[:1] + erows[-3:]).splitlines()[-3:]), flush=True)
        print(table(erows))
    if bad:
        print(f"{bad} objective mismatch(es) against the naive solves", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
