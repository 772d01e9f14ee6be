"""How much of the ILP layer's time is the solver's own solve?

For Random Constraints (n = 16; binary m = 4 and dense m = 8), batch 8 and 128, and every
available backend: the median forward time, backward time, and the ratio of the layer's
forward + backward time to the time spent inside the solver's own solve calls. The layer
is ``ILPLayer`` with a shared, learnable ``A, b`` (the CombOptNet setting) and an MSE loss.

The overhead is measured with one worker: then the layer's wall time is the sum of the
solve calls plus everything else, so ``overhead = 1 - solve / (forward + backward)``.
Each repeat uses a fresh slice of the training costs.

    python -m demos.benchmarks.layer_speed [--solver highs ...] [--repeats 5] [--batches 8 128]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

import torch

from combopt_core import get_solver
from combopt_torch import ILPLayer

from .common import (
    RC_CASES,
    RecordingSolver,
    available_backends,
    load_rc,
    machine_note,
    table,
)


@dataclass(frozen=True)
class LayerTiming:
    """Median seconds per batch: forward, backward, and inside the solver's solve calls."""

    forward: float
    backward: float
    solve: float

    @property
    def layer(self) -> float:
        return self.forward + self.backward

    @property
    def ratio(self) -> float:
        """Layer time over solver time (1.0 = no overhead at all)."""
        return self.layer / self.solve if self.solve > 0 else float("inf")

    @property
    def overhead(self) -> float:
        """Share of the layer's time spent outside the solver (meaningful with 1 worker)."""
        return 1.0 - self.solve / self.layer


def time_layer(solver, data, batch: int, repeats: int, workers: int | None = 1) -> LayerTiming:
    """Median forward/backward/solve seconds of ``ILPLayer`` on ``data``'s training costs."""
    recorder = RecordingSolver(solver)
    # on_error="raise": a backend that cannot solve the case (a box too large to enumerate)
    # is skipped by the caller instead of timing flagged failures.
    layer = ILPLayer(
        float(data["lb"]), float(data["ub"]), solver=recorder, workers=workers, on_error="raise"
    )
    A = torch.tensor(data["A"], requires_grad=True)
    b = torch.tensor(data["b"], requires_grad=True)
    costs = torch.tensor(data["c_train"])
    targets = torch.tensor(data["y_train"])
    slices = max(1, costs.shape[0] // batch)
    fwd, bwd, inside = [], [], []
    for r in range(repeats + 1):  # the first round warms up (models, pools, threads)
        rows = slice((r % slices) * batch, (r % slices + 1) * batch)
        c = costs[rows].clone().requires_grad_(True)
        recorder.take()
        start = time.perf_counter()
        y = layer(c, A, b)
        mid = time.perf_counter()
        torch.nn.functional.mse_loss(y, targets[rows]).backward()
        end = time.perf_counter()
        if r:
            fwd.append(mid - start)
            bwd.append(end - mid)
            inside.append(recorder.take())
    med = statistics.median
    return LayerTiming(med(fwd), med(bwd), med(inside))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--solver", nargs="*", help="backends (default: every available one)")
    parser.add_argument("--batches", nargs="*", type=int, default=[8, 128])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    print(f"layer speed, 1 worker; {machine_note()}")
    rows = [
        [
            "backend",
            "case",
            "batch",
            "forward ms",
            "backward ms",
            "solve ms",
            "layer/solve",
            "overhead",
        ]
    ]
    for name in available_backends(args.solver):
        for box, m in RC_CASES:
            data = load_rc(box, m)
            for batch in args.batches:
                try:
                    t = time_layer(get_solver(name), data, batch, args.repeats)
                except Exception as exc:  # noqa: BLE001 - e.g. a box too large to enumerate
                    print(f"  {name} {box} m={m} batch {batch}: skipped: {exc}", flush=True)
                    continue
                rows.append(
                    [
                        name,
                        f"{box} m={m}",
                        str(batch),
                        f"{t.forward * 1e3:.1f}",
                        f"{t.backward * 1e3:.2f}",
                        f"{t.solve * 1e3:.1f}",
                        f"{t.ratio:.3f}",
                        f"{t.overhead:.1%}",
                    ]
                )
                print(table(rows[:1] + rows[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(rows))


if __name__ == "__main__":
    main()
