"""Per-backend solve time on the paper's Random Constraints data, plus the conformance count.

For every available backend, solves the first ``--instances`` test costs of
``binary_m4_seed0`` and ``dense_m8_seed0`` (n = 16) one at a time in this thread, and prints
the median wall time per call (model building included), the median time inside the solver,
the ratio to the default backend measured in the same run, and how many answers differ from
the published optima. Then runs the conformance suite (``tests/conformance``) and prints how
many instances it checked per backend.

Run from the repository root:  python demos/benchmarks/backend_speed.py [--instances 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from combopt_core import SolverError, get_solver, list_backends, make_problem
from combopt_core.registry import DEFAULT_BACKEND

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "demos" / "data" / "random_constraints"
CASES = ("binary_m4_seed0", "dense_m8_seed0")
WARMUP = 3


def time_backend(name: str, case: str, count: int) -> dict | str:
    """Per-call timings of backend ``name`` on ``count`` instances of ``case``, or why not."""
    data = np.load(DATA / f"{case}.npz")
    problem = make_problem(data["c_test"][:count], data["A"], data["b"], data["lb"], data["ub"])
    solver = get_solver(name)
    try:
        for i in range(min(WARMUP, count)):  # environments, imports, first-call costs
            solver.solve(problem.instance(i))
    except SolverError as exc:
        return f"refused: {str(exc).split(' (')[0]}"
    wall, inside, wrong = [], [], 0
    for i in range(count):
        start = time.perf_counter()
        sol = solver.solve(problem.instance(i))
        wall.append(time.perf_counter() - start)
        inside.append(sol.solve_time)
        wrong += sol.y is None or not np.array_equal(sol.y, data["y_test"][i])
    return {
        "wall": float(np.median(wall)),
        "inside": float(np.median(inside)),
        "max": float(np.max(wall)),
        "wrong": wrong,
    }


def run_conformance() -> tuple[dict[str, int], str]:
    """Run the conformance suite; instances checked per backend and pytest's last line."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "conformance.json"
        env = dict(os.environ, COMBOPT_CONFORMANCE_REPORT=str(report))
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/conformance"],
            cwd=REPO,
            env=env,
            check=False,
            capture_output=True,
            text=True,
        )
        lines = [line for line in proc.stdout.splitlines() if line.strip()]
        counts = json.loads(report.read_text())["instances"] if report.exists() else {}
    return counts, lines[-1] if lines else proc.stderr[-500:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100, help="instances per case")
    parser.add_argument("--backends", nargs="*", help="backend names (default: all available)")
    parser.add_argument("--no-conformance", action="store_true", help="skip the test suite")
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error(f"--instances: must be at least 1, got {args.instances}")
    names = args.backends or [s.name for s in list_backends() if s.available]
    print(f"{args.instances} instances per case, solved one by one in one thread (n = 16)")
    header = f"{'backend':<12}{'case':<17}{'median ms':>10}{'in solver':>11}{'max ms':>9}"
    print(header + f"{'vs ' + DEFAULT_BACKEND:>11}{'wrong':>7}")
    for case in CASES:
        results = {name: time_backend(name, case, args.instances) for name in names}
        base = results.get(DEFAULT_BACKEND)
        for name, res in results.items():
            if isinstance(res, str):
                print(f"{name:<12}{case:<17}  {res}")
                continue
            ratio = f"{base['wall'] / res['wall']:.2f}x" if isinstance(base, dict) else "-"
            print(
                f"{name:<12}{case:<17}{res['wall'] * 1e3:>10.2f}{res['inside'] * 1e3:>11.2f}"
                f"{res['max'] * 1e3:>9.1f}{ratio:>11}{res['wrong']:>7}"
            )
    print(
        f"('vs {DEFAULT_BACKEND}': how many times faster than {DEFAULT_BACKEND} per call, "
        "same run; 'wrong': answers that differ from the published optimum)"
    )
    if not args.no_conformance:
        counts, summary = run_conformance()
        print("\nconformance suite: " + summary)
        for name, count in counts.items():
            print(f"  {name:<12}{count:>6} instances checked")
    return 0


if __name__ == "__main__":
    sys.exit(main())
