"""The backward: NumPy reference code vs the compiled kernel (``combopt_core.gradient_kernel``).

Prints, in one run:

1. what the compiled path costs once: importing numba, and the first call in a fresh
   process with an empty on-disk cache (compiling) and with a filled one (loading);
2. the target point, batch 64, n = 1,000, m = 200 (target: under 50 ms), shared and
   per-instance ``A``: wall and CPU time of both implementations, their ratio and the largest
   difference between their results;
3. a scaling table from the paper's size (batch 8, n = 16, m = 4) up: time per ``B m n``
   element of both, and the ratio, which is what ``AUTO_MIN_ELEMENTS`` (the size from which
   ``implementation="auto"`` takes the kernel) is chosen from.

Wall time counts both cores only when they are free; CPU time (all threads of this
process) is the steadier number on a shared machine. Needs numba (``pip install
'combopt[fast]'``).

    python -m demos.benchmarks.backward_kernel [--batch 64 --n 1000 --m 200 --repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import numpy as np

from combopt_core import combopt_gradients, gradient

from .common import machine_note, table
from .fast_batches import backward_inputs

#: (batch, n, m) of the scaling table, smallest first.
SCALING = (
    (8, 16, 4),
    (8, 100, 20),
    (32, 100, 20),
    (64, 100, 50),
    (64, 250, 50),
    (64, 500, 100),
    (64, 1000, 200),
    (16, 2000, 500),
)

_FIRST_CALL = """
import time
t0 = time.perf_counter()
import numba
t1 = time.perf_counter()
import numpy as np
from combopt_core import combopt_gradients
y = np.zeros((2, 3)); A = np.ones((2, 1, 3)); b = np.ones((2, 1))
combopt_gradients(np.ones((2, 3)), y, A, b, np.zeros(3), np.ones(3), implementation="numba")
combopt_gradients(np.ones((2, 3)), y, A[0], b[0], np.zeros(3), np.ones(3), implementation="numba")
print(t1 - t0, time.perf_counter() - t1)
"""


def first_call_costs() -> tuple[float, float, float]:
    """``(numba import, first call compiling, first call loading)`` seconds, fresh processes.

    A private ``NUMBA_CACHE_DIR`` starts empty (compile) and is reused by a second process
    (load), so the cache the library normally uses is left as it is.
    """
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir}
        runs = []
        for _ in range(2):
            out = subprocess.run(
                [sys.executable, "-c", _FIRST_CALL], env=env, capture_output=True, text=True,
                check=True,
            )  # fmt: skip
            runs.append([float(v) for v in out.stdout.split()])
    return runs[1][0], runs[0][1], runs[1][1]


def timed(fn: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median ``(wall, cpu)`` seconds of ``repeats`` calls after one warm-up call."""
    fn()
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def compare(batch: int, n: int, m: int, shared: bool, repeats: int):
    """Times of both implementations on one problem, and their largest difference."""
    args = backward_inputs(batch, n, m, shared)
    ref = combopt_gradients(*args, implementation="numpy")
    got = combopt_gradients(*args, implementation="numba")
    err = max(
        np.abs(g - r).max() for g, r in zip((got.dc, got.dA, got.db), (ref.dc, ref.dA, ref.db))
    )
    numpy_t = timed(lambda: combopt_gradients(*args, implementation="numpy"), repeats)
    kernel_t = timed(lambda: combopt_gradients(*args, implementation="numba"), repeats)
    return numpy_t, kernel_t, err


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-first-call", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    args = parser.parse_args(argv)
    import numba

    combopt_gradients(*backward_inputs(2, 3, 1, True), implementation="numba")  # load or compile
    print(
        f"backward kernel; numba {numba.__version__}, {numba.get_num_threads()} threads, "
        f"threading layer {numba.threading_layer()}; {machine_note()}"
    )
    if not args.skip_first_call:
        imp, compile_s, load_s = first_call_costs()
        print(
            f"\n== once per process: import numba {imp:.2f} s; first call {compile_s:.1f} s "
            f"with an empty cache (compiling), {load_s:.2f} s with a filled one (loading) =="
        )

    print(f"\n== batch {args.batch}, n = {args.n}, m = {args.m} (target < 50 ms) ==")
    for shared in (True, False):
        (nw, nc), (kw, kc), err = compare(args.batch, args.n, args.m, shared, args.repeats)
        print(
            f"  {'shared A      ' if shared else 'per-instance A'}: numpy {nw * 1e3:6.0f} ms wall"
            f" {nc * 1e3:6.0f} ms cpu | kernel {kw * 1e3:5.0f} ms wall {kc * 1e3:5.0f} ms cpu"
            f" | numpy/kernel {nw / kw:4.1f}x wall {nc / kc:4.1f}x cpu | max |diff| {err:.1e}"
        )

    if args.skip_scaling:
        return
    print(
        "\n== scaling, per-instance A: median ms per call (wall) and the numpy/kernel ratios; "
        f"auto takes the kernel from B*m*n >= {gradient.AUTO_MIN_ELEMENTS} =="
    )
    header = ["batch", "n", "m", "B*m*n", "numpy ms", "kernel ms", "kernel ns/el", "wall", "cpu"]
    rows = [header]
    for batch, n, m in SCALING:
        elements = batch * n * m
        repeats = max(3, min(200, int(2e6 // elements)))
        (nw, nc), (kw, kc), _ = compare(batch, n, m, False, repeats)
        rows.append(
            [
                str(batch), str(n), str(m), str(elements), f"{nw * 1e3:.3f}", f"{kw * 1e3:.3f}",
                f"{kw / elements * 1e9:.1f}", f"{nw / kw:.1f}x", f"{nc / max(kc, 1e-9):.1f}x",
            ]
        )  # fmt: skip
        print("  " + " ".join(rows[-1]), flush=True)
    print(table(rows))
    print(f"\ndone; {machine_note()}")


if __name__ == "__main__":
    main()
