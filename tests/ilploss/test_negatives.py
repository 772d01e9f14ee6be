"""Negative samples: integer points of the box, never the gold point, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core.negatives import NegativeSampler, k_hop, neighbours, projections

BOXES = [(0.0, 1.0), (-5.0, 5.0), (np.array([0, -2, 0, 1, 0, -1]), np.array([1, 2, 3, 1, 4, 0]))]


def _gold(rng, lb, ub, batch=40, n=6):
    lo, hi = np.broadcast_to(lb, (n,)), np.broadcast_to(ub, (n,))
    y = rng.integers(lo, hi + 1, (batch, n)).astype(float)
    y[0], y[1] = lo, hi  # corners: every coordinate at a bound
    return y


@pytest.mark.parametrize("lb, ub", BOXES)
def test_every_negative_is_an_integer_box_point_other_than_gold(lb, ub):
    rng = np.random.default_rng(0)
    y = _gold(rng, lb, ub)
    A, b = rng.normal(size=(5, 6)), rng.normal(size=5)
    neg = NegativeSampler().sample(y, lb, ub, rng, A, b)
    binary = bool(np.all(np.broadcast_to(ub, (6,)) - np.broadcast_to(lb, (6,)) == 1))
    assert neg.shape == (40, NegativeSampler().count(6, 5, binary), 6)
    assert np.all(neg == np.rint(neg))
    assert np.all(neg >= np.broadcast_to(lb, (6,))) and np.all(neg <= np.broadcast_to(ub, (6,)))
    assert not np.any(np.all(neg == y[:, None, :], axis=-1))


@pytest.mark.parametrize("lb, ub", BOXES)
@pytest.mark.parametrize("projections", [True, False])
def test_shape_is_the_shape_sample_draws(lb, ub, projections):
    rng = np.random.default_rng(2)
    y = _gold(rng, lb, ub, batch=7)
    A, b = rng.normal(size=(3, 6)), rng.normal(size=3)
    sampler = NegativeSampler(hops=(2,), per_hop=5, projections=projections)
    binary = bool(np.all(np.broadcast_to(ub, (6,)) - np.broadcast_to(lb, (6,)) == 1))
    expected = (7, (6 if binary else 12) + 5 + (3 if projections else 0), 6)
    assert sampler.sample(y, lb, ub, rng, A, b).shape == expected
    assert sampler.shape(7, 6, lb, ub, A) == expected
    assert sampler.shape(7, 6, lb, ub, A[None].repeat(7, 0)) == expected  # per-sample rows


@pytest.mark.parametrize("lb, ub", BOXES)
def test_neighbours_are_at_l1_distance_one_and_cover_every_in_box_step(lb, ub):
    y = _gold(np.random.default_rng(1), lb, ub)
    lo, hi = np.broadcast_to(lb, (6,)), np.broadcast_to(ub, (6,))
    neg = neighbours(y, lo, hi)
    assert np.all(np.abs(neg - y[:, None]).sum(-1) == 1)
    for row, points in zip(y, neg):
        expected = {tuple(row + s * e) for e in np.eye(6) for s in (1, -1)}
        expected = {p for p in expected if np.all(lo <= p) and np.all(np.array(p) <= hi)}
        assert {tuple(p) for p in points} == expected


@pytest.mark.parametrize("k", [1, 2, 4])
@pytest.mark.parametrize("lb, ub", BOXES[:2])
def test_k_hop_points_are_exactly_k_steps_away(k, lb, ub):
    rng = np.random.default_rng(2)
    y = _gold(rng, lb, ub)
    lo, hi = np.full(6, lb), np.full(6, ub)
    neg = k_hop(y, lo, hi, (k, 1), 16, rng)
    diff = np.abs(neg - y[:, None])
    assert neg.shape == (40, 32, 6) and diff.max() == 1
    assert np.all(diff[:, :16].sum(-1) == k) and np.all(diff[:, 16:].sum(-1) == 1)


def test_projections_land_next_to_the_hyperplane_they_project_on():
    rng = np.random.default_rng(3)
    y = _gold(rng, -5.0, 5.0)
    A, b = rng.normal(size=(4, 6)), rng.normal(size=4) * 3
    neg = projections(y, np.full(6, -5.0), np.full(6, 5.0), A, b, rng)
    raw = y[:, None] - ((y @ A.T - b) / (A * A).sum(-1))[..., None] * A
    inside = np.all(np.abs(raw) <= 5, axis=-1)  # no clipping: a rounding of the projection
    assert np.all(np.abs(neg - raw)[inside] < 1 + 1e-12)


def test_a_projection_that_rounds_onto_gold_moves_one_step():
    y = np.array([[0.0, 1.0, 0.0]])
    A, b = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), np.array([0.0, 1.0])  # y on row 0
    neg = projections(y, np.zeros(3), np.ones(3), A, b, np.random.default_rng(0))
    assert np.all(np.abs(neg - y[:, None]).sum(-1) == 1)


def test_same_seed_same_negatives_other_seed_other_negatives():
    y = _gold(np.random.default_rng(4), -5.0, 5.0)
    A, b = np.random.default_rng(5).normal(size=(3, 6)), np.zeros(3)
    draw = [NegativeSampler().sample(y, -5, 5, np.random.default_rng(s), A, b) for s in (7, 7, 8)]
    assert np.array_equal(draw[0], draw[1]) and not np.array_equal(draw[0], draw[2])


@pytest.mark.parametrize(
    "kwargs, y, match",
    [
        ({}, [[0.5, 1.0]], "y: gold points must be integer"),
        ({}, [[2.0, 1.0]], "y: gold points must lie in the box"),
        ({}, [0.0, 1.0], r"y: expected gold points \(B, n\)"),
        ({"hops": (3,)}, [[0.0, 1.0]], "hops: a 3-hop neighbour needs"),
    ],
)
def test_bad_input_names_the_argument(kwargs, y, match):
    sampler = NegativeSampler(projections=False, **kwargs)
    with pytest.raises(ValueError, match=match):
        sampler.sample(y, 0, 1, np.random.default_rng(0))


def test_bad_settings_and_missing_constraints_are_named():
    with pytest.raises(ValueError, match="hops"):
        NegativeSampler(hops=(0,))
    with pytest.raises(ValueError, match="every sampler is off"):
        NegativeSampler(neighbours=False, hops=(), projections=False)
    with pytest.raises(ValueError, match="A, b: projections need"):
        NegativeSampler().sample([[0.0, 1.0, 0.0, 1.0, 0.0]], 0, 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="lb, ub: the box has one point"):
        NegativeSampler(hops=()).sample([[1.0]], 1, 1, np.random.default_rng(0))
