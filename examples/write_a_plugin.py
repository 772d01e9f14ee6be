"""Write a solver backend plugin: an exhaustive-enumeration solver for tiny ILPs.

A backend is any object with a ``name``, a ``releases_gil`` flag and a
``solve(instance, time_limit=None) -> Solution`` method (the ``ILPSolver`` protocol). A
plugin makes it known to combopt by implementing the ``register_backends`` hook. In a package
of its own, the plugin is found through an entry point in that package's ``pyproject.toml``::

    [project.entry-points."combopt.backends"]
    tiny-enum = "my_package.plugin"      # the module below, with its @hookimpl

Here the same module is registered in-process with ``register_plugin``, so the script runs as
is. It then checks the new backend against HiGHS on random instances and trains through it.

Run from the repository root::

    python examples/write_a_plugin.py
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time

import numpy as np

from combopt_core import (
    BackendLimits,
    BackendSpec,
    ILPInstance,
    Solution,
    Status,
    get_solver,
    hookimpl,
    list_backends,
    register_plugin,
    solve,
)

MAX_POINTS = 1 << 16  # refuse boxes with more integer points than this


class EnumerationSolver:
    """Exact ILP solving by trying every integer point of the box (tiny problems only).

    Ties between optimal points go to the first one in lexicographic order of ``y``.
    """

    name = "tiny-enum"
    releases_gil = False  # pure Python/numpy: the batch solver runs it in the calling thread

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        self.max_points = max_points

    def solve(self, instance: ILPInstance, time_limit: float | None = None) -> Solution:
        start = time.perf_counter()
        lb, ub = instance.lb.astype(int), instance.ub.astype(int)
        size = int(np.prod(ub - lb + 1, dtype=float))
        if size > self.max_points:
            # Report, never crash the batch: the caller sees the status and the message.
            return Solution(None, Status.ERROR, message=f"{size} points exceed {self.max_points}")
        points = np.array(
            list(itertools.product(*(range(lo, hi + 1) for lo, hi in zip(lb, ub)))),
            dtype=np.float64,
        )
        feasible = np.all(points @ instance.A.T <= instance.b + 1e-9, axis=1)
        elapsed = time.perf_counter() - start
        if not feasible.any():
            return Solution(None, Status.INFEASIBLE, solve_time=elapsed, message="no point")
        candidates = points[feasible]
        objective = candidates @ instance.c
        best = candidates[int(np.argmin(objective))]  # first minimum: lexicographic tie-break
        return Solution(best, Status.OPTIMAL, float(instance.c @ best), elapsed)


@hookimpl
def register_backends(register):
    """The plugin hook: one ``BackendSpec`` per backend this plugin provides."""
    register(
        BackendSpec(
            name="tiny-enum",
            factory=EnumerationSolver,  # called with the user's options: get_solver(name, **options)
            module=None,  # no solver package to import; set it to e.g. "mysolver" otherwise
            description="exhaustive enumeration (example plugin, tiny problems only)",
            # What it cannot be asked; the conformance kit (pytest --combopt-backend tiny-enum)
            # then leaves larger boxes out instead of failing on them.
            limits=BackendLimits(max_points=MAX_POINTS, reason="it enumerates the box"),
        )
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=200, help="random instances to check")
    parser.add_argument("--n", type=int, default=8, help="variables per instance")
    parser.add_argument("--m", type=int, default=3, help="constraints per instance")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    register_plugin(sys.modules[__name__], name="tiny-enum-example")
    row = next(s for s in list_backends() if s.name == "tiny-enum")
    print(f"registered backend '{row.name}' (available: {row.available}, plugin: {row.plugin})")

    rng = np.random.default_rng(args.seed)
    c = rng.uniform(-1, 1, size=(args.instances, args.n))
    A = rng.normal(size=(args.instances, args.m, args.n))
    b = rng.uniform(-2, 1, size=(args.instances, args.m))  # some instances are infeasible
    ours = solve(c, A, b, -1, 1, solver=get_solver("tiny-enum"))
    highs = solve(c, A, b, -1, 1, solver="highs")

    same_status = np.array_equal(ours.status, highs.status)
    both = ours.optimal & highs.optimal
    gap = float(np.max(np.abs(ours.objective[both] - highs.objective[both]), initial=0.0))
    print(
        f"{args.instances} instances: {int(both.sum())} optimal, "
        f"{int(ours.infeasible.sum())} infeasible; statuses agree with HiGHS: {same_status}; "
        f"largest objective difference: {gap:.2e}"
    )

    # The new backend works everywhere a solver is accepted, e.g. in the PyTorch layer.
    import torch

    from combopt_torch import ILPLayer

    layer = ILPLayer(lb=-1, ub=1, solver="tiny-enum")
    c_t = torch.tensor(c[:8], requires_grad=True)
    y = layer(c_t, torch.tensor(A[:8]), torch.tensor(b[:8]))
    (y * torch.tensor(rng.normal(size=y.shape))).sum().backward()  # any loss of y
    print(f"ILPLayer(solver='tiny-enum'): |dL/dc| = {c_t.grad.norm():.3f}")
    return {
        "agree": float(same_status),
        "max_gap": gap,
        "optimal": float(both.sum()),
        "infeasible": float(ours.infeasible.sum()),
        "grad_norm": float(c_t.grad.norm()),
    }


if __name__ == "__main__":
    main()
