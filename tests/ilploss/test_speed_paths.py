"""The fast paths compute what the direct formulas compute.

* The terms and their gradients come from one NumPy pass (``combopt_core.ilp_loss``); here
  they are checked against torch autograd through the direct formulas, in float32 at the
  Random Constraints sizes, for shared and per-sample rows and learned costs.
* k-hop negatives pick their coordinates by a partial Fisher-Yates shuffle that stores only
  the positions it touches: the same coordinates, draw for draw, as shuffling whole
  permutations; each ``k``-subset of the free coordinates equally likely, each free
  direction a fair coin.
* Projections are computed without broadcasting a shared ``A``: the same points, draw for
  draw, as the broadcast formula.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_core.negatives import (
    NegativeSampler,
    _partial_shuffle,
    _shuffle_positions,
    k_hop,
    projections,
)
from combopt_torch.ilploss import ilp_loss_terms


def _direct_neg(A, b, c, y, neg, neg_margin, temperature, learn_cost):
    """The ``neg`` term by autograd through every hinge (the formula of the docstring)."""
    if A.ndim == 2:
        A, b = A.expand(len(y), *A.shape), b.expand(len(y), -1)
    norm = A.norm(dim=-1)
    d = (b[:, None, :] - neg @ A.transpose(-1, -2)) / norm[:, None, :]
    gap = ((y[:, None, :] - neg) * c[:, None, :]).sum(-1)
    if learn_cost:
        d = torch.cat([d, (gap / c.norm(dim=-1, keepdim=True))[..., None]], dim=-1)
        counts = torch.ones_like(gap)
    else:
        counts = (gap.detach() >= 0).to(gap.dtype)
    with torch.no_grad():
        if temperature == 0:
            w = torch.nn.functional.one_hot(d.argmin(-1), d.shape[-1]).to(d.dtype)
        else:
            w = torch.softmax(-d / temperature, dim=-1)
    per = (w * torch.relu(neg_margin + d)).sum(-1)
    return ((counts * per).sum(-1) / counts.sum(-1).clamp_min(1.0)).mean()


def _rc_case(seed, per_sample, lb=0.0, ub=1.0, batch=64, n=16, m=8):
    rng = np.random.default_rng(seed)
    y = rng.integers(int(lb), int(ub) + 1, (batch, n)).astype(float)
    A = rng.normal(size=(batch, m, n) if per_sample else (m, n))
    b = A @ np.full(n, (lb + ub) / 2) + rng.uniform(0.0, 0.5 * (ub - lb), A.shape[:-1])
    c = rng.normal(size=(batch, n))
    neg = NegativeSampler().sample(
        y, lb, ub, rng, A if not per_sample else A[0], b[0] if per_sample else b
    )
    return (torch.tensor(x, dtype=torch.float32) for x in (A, b, c, y, neg))


@pytest.mark.parametrize("temperature", [0.0, 0.1, 0.01])
@pytest.mark.parametrize(
    "per_sample, learn_cost", [(False, False), (True, False), (False, True), (True, True)]
)
@pytest.mark.parametrize("box", [(0.0, 1.0), (-5.0, 5.0)])
def test_neg_term_and_gradient_match_the_direct_hinges(temperature, per_sample, learn_cost, box):
    A, b, c, y, neg = _rc_case(int(temperature * 100) + 7 * per_sample, per_sample, *box)
    grads = []
    values = []
    for direct in (False, True):
        A_t, b_t = A.clone().requires_grad_(), b.clone().requires_grad_()
        c_t = c.clone().requires_grad_(learn_cost)
        if direct:
            value = _direct_neg(A_t, b_t, c_t, y, neg, 0.01, temperature, learn_cost)
        else:
            value = ilp_loss_terms(A_t, b_t, c_t, y, neg, 0.01, 0.01, temperature)["neg"]
        inputs = [A_t, b_t] + ([c_t] if learn_cost else [])
        grads.append(torch.autograd.grad(value, inputs))
        values.append(float(value.detach()))
    assert values[1] > 0  # the case has active hinges
    np.testing.assert_allclose(values[0], values[1], rtol=1e-4)
    for fast, direct in zip(*grads):
        scale = float(direct.abs().max())
        np.testing.assert_allclose(fast.numpy(), direct.numpy(), atol=1e-4 * scale)


def _direct_pos_var(A, b, y, pos_margin):
    """``pos`` and ``var`` by autograd through the direct formulas."""
    if A.ndim == 2:
        A, b = A.expand(len(y), *A.shape), b.expand(len(y), -1)
    norm = A.norm(dim=-1)
    d = (b - (A @ y[:, :, None])[..., 0]) / norm
    unit = A / norm[..., None]
    return torch.relu(pos_margin - d).mean(), (unit.mean(1) ** 2).mean()


@pytest.mark.parametrize("per_sample", [False, True])
def test_pos_and_var_terms_and_gradients_match_the_direct_formulas(per_sample):
    A, b, c, y, neg = _rc_case(3, per_sample)
    b = b - 0.3  # some gold points outside some rows: active pos hinges
    got, want = [], []
    for direct in (False, True):
        A_t, b_t = A.clone().requires_grad_(), b.clone().requires_grad_()
        if direct:
            terms = _direct_pos_var(A_t, b_t, y, 0.01)
        else:
            out = ilp_loss_terms(A_t, b_t, c, y, neg, 0.01, 0.01, 0.1)
            terms = out["pos"], out["var"]
        for value in terms:
            grad = torch.autograd.grad(value, [A_t, b_t], retain_graph=True, allow_unused=True)
            (want if direct else got).append((float(value.detach()), grad))
    for (value, grads), (ref, ref_grads) in zip(got, want):
        assert ref > 0
        np.testing.assert_allclose(value, ref, rtol=1e-4)
        for g, r in zip(grads, ref_grads):
            r = torch.zeros_like(g) if r is None else r
            np.testing.assert_allclose(
                g.numpy(), r.numpy(), atol=1e-4 * float(r.abs().max() + 1e-6)
            )


def test_a_row_shorter_than_the_clamp_gets_the_gradient_of_the_clamped_norm():
    A, b, c, y, neg = _rc_case(4, False)
    A[2] = 0.0  # a row shorter than the norm's clamp: its norm passes no gradient
    A[2, 0], b[2] = 1e-13, 1e-13
    got, want = [], []
    for direct in (False, True):
        A_t, b_t = A.clone().double().requires_grad_(), b.clone().double().requires_grad_()
        args = (c.double(), y.double(), neg.double())
        if direct:
            unit_norm = A_t.norm(dim=-1).clamp_min(1e-12)
            d = (b_t - (y.double() @ A_t.T)) / unit_norm
            value = torch.relu(0.01 - d).mean() + ((A_t / unit_norm[:, None]).mean(0) ** 2).mean()
        else:
            terms = ilp_loss_terms(A_t, b_t, *args, 0.01, 0.01, 0.1)
            value = terms["pos"] + terms["var"]
        (want if direct else got).append(torch.autograd.grad(value, [A_t, b_t]))
    for g, r in zip(got[0], want[0]):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-9, atol=1e-12)


def _full_shuffle(size, positions):
    """A partial Fisher-Yates shuffle of whole permutations (one per row)."""
    kmax, rows = positions.shape
    order = np.tile(np.arange(size), (rows, 1))
    idx = np.arange(rows)
    for j in range(kmax):
        pick = positions[j]
        order[idx, j], order[idx, pick] = order[idx, pick], order[idx, j].copy()
    return order[:, :kmax]


@pytest.mark.parametrize("size, kmax", [(16, 4), (5, 5), (3, 1), (100, 7)])
def test_the_partial_shuffle_draws_what_shuffling_whole_permutations_draws(size, kmax):
    positions = _shuffle_positions(size, kmax, 5000, np.random.default_rng(size))
    steps = np.arange(kmax)[:, None]
    assert np.all((positions >= steps) & (positions < size))
    for j in range(kmax):  # every position of [j, size) drawn about equally often
        freq = np.bincount(positions[j] - j, minlength=size - j) / 5000
        assert np.all(np.abs(freq - 1 / (size - j)) < 0.02)
    fast = _partial_shuffle(positions)
    assert np.array_equal(fast, _full_shuffle(size, positions))
    assert np.all(np.sort(fast, axis=1)[:, 1:] != np.sort(fast, axis=1)[:, :-1])  # distinct


def test_sampling_into_a_float32_array_gives_the_same_points():
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, (8, 16)).astype(float)
    A, b = rng.normal(size=(4, 16)), rng.normal(size=4)
    sampler = NegativeSampler()
    ref = sampler.sample(y, 0, 1, np.random.default_rng(1), A, b)
    out = np.full(ref.shape, np.nan, dtype=np.float32)
    assert sampler.sample(y, 0, 1, np.random.default_rng(1), A, b, out=out) is out
    assert np.array_equal(out, ref)
    strided = np.full((8, ref.shape[1], 32), np.nan)[..., ::2]  # not C-contiguous
    sampler.sample(y, 0, 1, np.random.default_rng(1), A, b, out=strided)
    assert np.array_equal(strided, ref)
    with pytest.raises(ValueError, match="out: expected"):
        sampler.sample(y, 0, 1, rng, A, b, out=np.empty((8, 3, 16)))


def test_k_hop_subsets_and_directions_are_uniform():
    y = np.zeros((1, 5))
    lo, hi = np.full(5, -1.0), np.full(5, 1.0)  # every coordinate can move both ways
    neg = k_hop(y, lo, hi, (2,), 20000, np.random.default_rng(0))[0]
    subsets = [tuple(np.flatnonzero(z)) for z in neg]
    freq = np.array([subsets.count(s) for s in itertools.combinations(range(5), 2)])
    assert len(set(subsets)) == 10 and np.all(np.abs(freq / 20000 - 0.1) < 0.01)
    assert abs(np.mean(neg[neg != 0] > 0) - 0.5) < 0.01
    assert np.all(np.abs(neg).sum(-1) == 2)


def test_k_hop_only_moves_free_coordinates_and_is_seeded():
    y = np.array([[0.0, 1.0, 2.0, 0.0]])
    lo, hi = np.array([0.0, 1.0, 0.0, 0.0]), np.array([1.0, 1.0, 2.0, 1.0])  # coord 1 fixed
    draws = [k_hop(y, lo, hi, (3, 1), 50, np.random.default_rng(s)) for s in (3, 3, 4)]
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    neg = draws[0][0]
    assert np.all(neg[:, 1] == 1.0) and np.all((neg >= lo) & (neg <= hi))
    assert np.all(np.abs(neg - y).sum(-1) == np.repeat([3, 1], 50))


def _broadcast_projections(y, lo, hi, A, b, rng):
    """The projections' formula with a shared ``A`` broadcast over the batch."""
    A = np.broadcast_to(A, (len(y), *A.shape))
    excess = np.einsum("bkn,bn->bk", A, y) - b
    raw = y[:, None, :] - (excess / np.einsum("bkn,bkn->bk", A, A))[..., None] * A
    floor = np.floor(raw)
    return np.clip(floor + (rng.random(raw.shape) < raw - floor), lo, hi)


def test_projections_of_a_shared_A_equal_the_broadcast_formula():
    rng = np.random.default_rng(5)
    y = rng.integers(-5, 6, (64, 16)).astype(float)
    A, b = rng.normal(size=(8, 16)), rng.normal(size=8) * 4
    lo, hi = np.full(16, -5.0), np.full(16, 5.0)
    fast = projections(y, lo, hi, A, b, np.random.default_rng(1))
    ref = _broadcast_projections(y, lo, hi, A, b, np.random.default_rng(1))
    repaired = np.all(ref == y[:, None, :], axis=-1)  # those are moved off the gold point
    assert np.array_equal(fast[~repaired], ref[~repaired])
    assert not np.any(np.all(fast == y[:, None, :], axis=-1))


BOXES = {  # (lo, hi): binary, wide, and wide with a fixed coordinate
    "binary": (np.zeros(12), np.ones(12)),
    "wide": (np.full(12, -3.0), np.full(12, 3.0)),
    "fixed": (np.r_[np.full(11, -2.0), 1.0], np.r_[np.full(11, 2.0), 1.0]),
}


@pytest.mark.parametrize("box", sorted(BOXES))
@pytest.mark.parametrize("shared", [True, False])
def test_compiled_negatives_equal_the_numpy_ones_draw_for_draw(box, shared):
    pytest.importorskip("numba")
    lo, hi = BOXES[box]
    rng = np.random.default_rng(11)
    y = np.clip(rng.integers(-3, 4, (32, 12)), lo, hi).astype(float)
    y[:4] = lo  # gold points on the box's faces, where steps must turn back
    y[4:8] = hi
    A = rng.normal(size=(6, 12) if shared else (32, 6, 12))
    A[..., 0, :] = 0.0  # a row with no hyperplane
    b = rng.normal(size=A.shape[:-1]) * 3
    y[8, :] = y[9, :]  # a projection of the gold point rounding back onto it is repaired
    points = {}
    for impl in ("numpy", "numba"):
        sampler = NegativeSampler(hops=(1, 2, 5), per_hop=7, implementation=impl)
        points[impl] = sampler.sample(y, lo, hi, np.random.default_rng(3), A, b)
    assert np.array_equal(points["numpy"], points["numba"])


def test_the_numba_implementation_without_numba_says_how_to_install(monkeypatch):
    from combopt_core import kernels

    monkeypatch.setattr(kernels, "load_kernel", lambda module: None)
    with pytest.raises(ImportError, match="combopt\\[fast\\]"):
        NegativeSampler(implementation="numba")
    y = np.zeros((2, 4))
    auto = NegativeSampler(projections=False).sample(y, 0, 1, np.random.default_rng(0))
    plain = NegativeSampler(projections=False, implementation="numpy")
    assert np.array_equal(auto, plain.sample(y, 0, 1, np.random.default_rng(0)))
    with pytest.raises(ValueError, match="implementation: expected one of"):
        NegativeSampler(implementation="fast")
