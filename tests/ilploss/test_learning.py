"""ILP-Loss learns: solver-free training raises exact-match accuracy of the exact ILP layer."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_core import solve
from combopt_torch import CombOptNet
from combopt_torch.ilploss import ILPLoss


def _hidden_ilp(rng, n=8, count=240):
    """Pairs ``(c, y*)`` of one hidden binary ILP with two constraints ``A y <= b``."""
    A = rng.uniform(-0.5, 0.5, (2, n))
    A /= np.linalg.norm(A, axis=1, keepdims=True)
    corner = (rng.random(n) < 0.5).astype(float)
    A *= np.where(A @ (corner - 0.5) > 0, -1.0, 1.0)[:, None]  # the corner stays feasible
    b = A @ np.full(n, 0.5) - 0.2
    c = rng.uniform(-1, 1, (count, n))
    y = solve(c, A, b, 0.0, 1.0, solver="bruteforce").y
    return torch.tensor(c, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


def _accuracy(model, c, y):
    with torch.no_grad():
        return float((model(c) == y).all(-1).float().mean())


def test_solver_free_training_improves_exact_match():
    c, y = _hidden_ilp(np.random.default_rng(0))
    fit, test = slice(0, 160), slice(160, None)
    model = CombOptNet(8, 4, solver="bruteforce", generator=torch.Generator().manual_seed(0))
    before = _accuracy(model, c[test], y[test])
    criterion = ILPLoss(0, 1, temperature=0.1, seed=0)
    optimizer = torch.optim.Adam(model.constraints.parameters(), lr=1e-2)
    for _ in range(15):
        for s in range(0, 160, 16):
            loss = criterion(*model.constraints(), c[fit][s : s + 16], y[fit][s : s + 16])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    after = _accuracy(model, c[test], y[test])
    box_only = float(((c[test] < 0).float() == y[test]).all(-1).float().mean())
    assert after >= before + 0.3 and after >= box_only + 0.3, (before, box_only, after)
