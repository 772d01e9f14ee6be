"""The blocked backward equals the one-block backward and a plain per-target reference.

Both implementations (``implementation`` fixture): the NumPy code, blocked or not, and the
compiled kernel (which does not block; the block size must not change its result either).
"""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import combopt_gradients, gradient


def _inputs(B, n, m, shared, seed, box=(0, 1)):
    rng = np.random.default_rng(seed)
    shape = (m, n) if shared else (B, m, n)
    A = rng.normal(size=shape)
    b = rng.normal(size=shape[:-1])
    y = rng.integers(box[0], box[1] + 1, (B, n)).astype(float)
    dy = rng.normal(size=(B, n))
    dy[rng.random((B, n)) < 0.2] = 0.0
    return dy, y, A, b, np.full(n, float(box[0])), np.full(n, float(box[1]))


def _softmin_grad(dist, tau):
    if tau == 0:
        w = np.zeros_like(dist)
        w[np.argmin(dist)] = 1.0
        return w
    e = np.exp(-(dist - dist.min()) / tau)
    return e / e.sum()


def reference(dy, y, A, b, lb, ub, tau, tol=1e-9):
    """Materialises every target y'_k and differentiates each mismatch on its own."""
    B, n = y.shape
    shared = A.ndim == 2
    dc, dA, db = np.zeros((B, n)), np.zeros((B, *A.shape[-2:])), np.zeros((B, A.shape[-2]))
    for i in range(B):
        Ai, bi = (A, b) if shared else (A[i], b[i])
        g = gradient.project_dy(dy[i], y[i], lb, ub)
        order = np.argsort(-np.abs(g), kind="stable")
        mag = np.abs(g)[order]
        lam = mag - np.append(mag[1:], 0.0)
        norm = np.linalg.norm(Ai, axis=1)
        delta = np.zeros(n)
        for k in range(n):
            delta[order[k]] -= np.sign(g[order[k]])
            if lam[k] == 0 or not delta.any():
                continue
            t = y[i] + delta
            s = Ai @ t - bi
            viol = s > tol * np.maximum(1.0, np.abs(bi))
            if not viol.any():  # feasible: softmin of the distances of y, plus the cost term
                r = Ai @ y[i] - bi
                p = _softmin_grad(np.abs(r) / norm, tau) * lam[k]
                dA[i] += (p * np.sign(r) / norm)[:, None] * y[i] - (p * np.abs(r) / norm**3)[
                    :, None
                ] * Ai
                db[i] -= p * np.sign(r) / norm
                dc[i] += lam[k] * delta
            else:  # infeasible: push every violated constraint out
                w = lam[k] * viol
                dA[i] += (w / norm)[:, None] * t - (w * s / norm**3)[:, None] * Ai
                db[i] -= w / norm
    if shared:
        return dc, dA.sum(0), db.sum(0)
    return dc, dA, db


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("tau", [0.0, 0.5])
@pytest.mark.parametrize("box", [(0, 1), (-2, 2)])
def test_blocks_match_reference(monkeypatch, shared, tau, box, implementation):
    args = _inputs(
        9, 7, 3, shared, seed=int(shared) + 10 * int(tau * 2) + 100 * abs(box[0]), box=box
    )
    whole = combopt_gradients(*args, tau=tau, implementation=implementation)
    monkeypatch.setattr(gradient, "BLOCK_ELEMENTS", 2 * 7 * 3)  # blocks of 2 instances
    blocked = combopt_gradients(*args, tau=tau, implementation=implementation)
    ref = reference(*args, tau=tau)
    for got in (whole, blocked):
        np.testing.assert_allclose(got.dc, ref[0], atol=1e-12)
        np.testing.assert_allclose(got.dA, ref[1], atol=1e-10)
        np.testing.assert_allclose(got.db, ref[2], atol=1e-10)


def test_large_batches_are_split_into_blocks(monkeypatch):
    seen = []
    real = gradient._numpy_gradients

    def spy(dy, *rest, **kw):
        seen.append(dy.shape[0])
        return real(dy, *rest, **kw)

    monkeypatch.setattr(gradient, "_numpy_gradients", spy)
    monkeypatch.setattr(gradient, "BLOCK_ELEMENTS", 4 * 5 * 2)
    args = _inputs(10, 5, 2, True, seed=3)
    got = combopt_gradients(*args, implementation="numpy")
    assert seen == [10, 4, 4, 2]
    monkeypatch.setattr(gradient, "BLOCK_ELEMENTS", 1 << 30)
    np.testing.assert_allclose(got.dA, real(*args, 0.5, 1e-9).dA, atol=1e-12)


@pytest.mark.parametrize("shared", [True, False])
def test_kernel_result_does_not_depend_on_the_thread_count(monkeypatch, shared):
    """Shared ``A`` is summed through one partial buffer per thread: 1 and 2 threads agree."""
    numba = pytest.importorskip("numba", reason="numba not installed (pip install 'combopt[fast]')")
    from combopt_core import gradient_kernel

    monkeypatch.setattr(gradient_kernel, "PARALLEL_MIN_ELEMENTS", 0)
    args = _inputs(13, 40, 9, shared, seed=21, box=(-5, 5))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = combopt_gradients(*args, implementation="numba")
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        two = combopt_gradients(*args, implementation="numba")
    finally:
        numba.set_num_threads(before)
    ref = combopt_gradients(*args, implementation="numpy")
    for got in (one, two):
        np.testing.assert_allclose(got.dc, ref.dc, atol=1e-12)
        np.testing.assert_allclose(got.dA, ref.dA, atol=1e-9)
        np.testing.assert_allclose(got.db, ref.db, atol=1e-9)
