"""Probe for the proposed backward fix: the same rule as a fused compiled loop (numba).

``combopt_core.gradient`` is NumPy only and streams several ``(B, m, n)`` temporaries; this
probe computes the same ``(dc, dA, db)`` with two passes per constraint row over the sorted
coordinates (slacks and violations forward, then the reverse cumulative sum that writes the
row of ``dA``), checks it against ``combopt_gradients`` and prints both times, so the gain of
a compiled kernel is measured rather than guessed. Needs ``numba`` (not a combopt
dependency).

    python -m demos.benchmarks.backward_kernel [--batch 64 --n 1000 --m 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from combopt_core import combopt_gradients
from combopt_core.gradient import _softmin_weights, project_dy

from .fast_batches import backward_inputs


def _compile():
    import numba

    @numba.njit(cache=False)
    def rows(A, y, order, sigma, lam, residual, tol, norm, shared):
        """Forward pass: violations, feasible targets, and per-row sums of the violated ones."""
        B, n = y.shape
        m = residual.shape[1]
        viol = np.zeros((B, m, n), dtype=np.bool_)
        feasible = np.ones((B, n), dtype=np.bool_)
        total_w = np.zeros((B, m))
        wslack = np.zeros((B, m))
        for i in range(B):
            a = A[0] if shared else A[i]
            for j in range(m):
                s = residual[i, j]
                tw = 0.0
                ws = 0.0
                for k in range(n):
                    s -= sigma[i, k] * a[j, order[i, k]]
                    if s > tol[i, j]:
                        viol[i, j, k] = True
                        feasible[i, k] = False
                        if norm[i, j] > 0:
                            tw += lam[i, k]
                            ws += lam[i, k] * s
                total_w[i, j] = tw
                wslack[i, j] = ws
        return viol, feasible, total_w, wslack

    @numba.njit(cache=False)
    def assemble(A, y, order, sigma, lam, viol, total_w, wslack, norm, coef_y, coef_a, shared, dA):
        B, n = y.shape
        m = norm.shape[1]
        for i in range(B):
            a = A[0] if shared else A[i]
            out = dA[0] if shared else dA[i]
            for j in range(m):
                if norm[i, j] > 0:
                    inv = 1.0 / norm[i, j]
                    cy = coef_y[i, j] + total_w[i, j] * inv
                    ca = coef_a[i, j] - wslack[i, j] * inv**3
                else:
                    inv, cy, ca = 0.0, coef_y[i, j], coef_a[i, j]
                acc = 0.0
                for k in range(n - 1, -1, -1):
                    col = order[i, k]
                    if viol[i, j, k] and norm[i, j] > 0:
                        acc += lam[i, k]
                    out[j, col] += cy * y[i, col] + ca * a[j, col] - sigma[i, k] * acc * inv

    return rows, assemble


def kernel_gradients(kernels, dy, y, A, b, lb, ub, tau=0.5, feasibility_tol=1e-9):
    """``combopt_gradients`` with the ``B m n`` work in the compiled loops."""
    rows, assemble = kernels
    shared = A.ndim == 2
    B = y.shape[0]
    A3 = A[None] if shared else A
    b2 = np.broadcast_to(b, (B, A.shape[-2]))
    dy = project_dy(dy, y, lb, ub)
    order = np.argsort(-np.abs(dy), axis=-1, kind="stable")
    mag = np.take_along_axis(np.abs(dy), order, axis=-1)
    sigma = np.take_along_axis(np.sign(dy), order, axis=-1)
    lam = mag - np.concatenate([mag[:, 1:], np.zeros((B, 1))], axis=1)
    residual = (y @ A.T if shared else np.einsum("bmn,bn->bm", A, y)) - b2
    tol = feasibility_tol * np.maximum(1.0, np.abs(b2))
    norm = np.broadcast_to(np.linalg.norm(A3, axis=-1), (B, A.shape[-2]))
    viol, feasible, total_w, wslack = rows(A3, y, order, sigma, lam, residual, tol, norm, shared)
    w_cost = lam * feasible
    inverse = np.argsort(order, axis=-1, kind="stable")
    dc = np.take_along_axis(
        -sigma * np.flip(np.cumsum(np.flip(w_cost, -1), -1), -1), inverse, axis=-1
    )
    valid = norm > 0
    safe = np.where(valid, norm, 1.0)
    p = _softmin_weights(np.abs(residual) / safe, valid, tau) * w_cost.sum(-1)[:, None]
    coef_y = p * np.sign(residual) / safe
    coef_a = -p * np.abs(residual) / safe**3
    dA = np.zeros((1 if shared else B, *A.shape[-2:]))
    assemble(A3, y, order, sigma, lam, viol, total_w, wslack, norm, coef_y, coef_a, shared, dA)
    db = -coef_y - total_w / safe
    return dc, (dA[0] if shared else dA), (db.sum(0) if shared else db)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    kernels = _compile()
    for shared in (True, False):
        inputs = backward_inputs(args.batch, args.n, args.m, shared)
        ref = combopt_gradients(*inputs)
        got = kernel_gradients(kernels, *inputs)  # also compiles
        err = max(np.abs(g - r).max() for g, r in zip(got, (ref.dc, ref.dA, ref.db)))
        times = {}
        for label, fn in (
            ("numpy", lambda x=inputs: combopt_gradients(*x)),
            ("kernel", lambda x=inputs: kernel_gradients(kernels, *x)),
        ):
            wall, cpu = [], []
            for _ in range(args.repeats):
                w0, c0 = time.perf_counter(), time.process_time()
                fn()
                wall.append(time.perf_counter() - w0)
                cpu.append(time.process_time() - c0)
            times[label] = (np.median(wall), np.median(cpu))
        (nw, nc), (kw, kc) = times["numpy"], times["kernel"]
        print(
            f"{'shared' if shared else 'per-instance'} A, batch {args.batch}, n={args.n}, "
            f"m={args.m}: numpy {nw * 1e3:.0f} ms wall / {nc * 1e3:.0f} ms cpu; kernel "
            f"{kw * 1e3:.0f} ms wall / {kc * 1e3:.0f} ms cpu; speedup {nc / kc:.1f}x (cpu); "
            f"max |difference| {err:.1e}"
        )


if __name__ == "__main__":
    main()
