"""Dataset loading, the Random Constraints and Weighted Set Covering generators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from demos import random_constraints, set_cover
from demos.datasets import (
    box_only_solutions,
    exact_match,
    load_npz,
    load_random_constraints,
)


def brute_force(c: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin c.y over binary y with A y <= b, by enumeration (small n only)."""
    n = c.shape[-1]
    points = np.array(list(itertools.product([0.0, 1.0], repeat=n)))
    feasible = points[np.all(points @ A.T <= b + 1e-9, axis=1)]
    return feasible[np.argmin(c @ feasible.T, axis=-1)]


def test_shipped_dataset_loads_with_shapes_and_box():
    data = load_random_constraints("binary", 2, 1)
    assert data.c_train.shape == (1600, 16) and data.y_test.shape == (1000, 16)
    assert data.A.shape == (2, 16) and data.b.shape == (2,)
    assert (data.lb, data.ub) == (0.0, 1.0)
    assert np.all(data.y_train @ data.A.T <= data.b + 1e-5)


def test_unknown_variant_and_missing_file_name_the_argument():
    with pytest.raises(ValueError, match="variant"):
        load_random_constraints("sparse", 1, 0)
    with pytest.raises(FileNotFoundError, match="binary_m3_seed0"):
        load_random_constraints("binary", 3, 0)


def test_validation_split_is_disjoint_seeded_and_leaves_test_alone():
    data = load_random_constraints("binary", 1, 0)
    c_fit, _, c_val, _ = data.validation_split(0.1, seed=5)
    assert len(c_val) == 160 and len(c_fit) == 1440
    rows = {tuple(r) for r in c_fit}
    assert not any(tuple(r) in rows for r in c_val)
    again = data.validation_split(0.1, seed=5)
    assert np.array_equal(again[2], c_val)
    assert not np.array_equal(data.validation_split(0.1, seed=6)[2], c_val)
    with pytest.raises(ValueError, match="fraction"):
        data.validation_split(1.0)


def test_box_only_solutions_are_the_unconstrained_optima():
    c = np.array([[0.3, -0.2, 0.1], [-1.0, 2.0, -3.0]])
    assert np.array_equal(box_only_solutions(c, 0, 1), [[0, 1, 0], [1, 0, 1]])
    assert np.array_equal(box_only_solutions(c, -5, 5), [[-5, 5, -5], [5, -5, 5]])
    assert exact_match(np.array([[0.0, 1.0]]), np.array([[0.0, 1.0]])).all()
    assert not exact_match(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).any()


@pytest.mark.parametrize("variant", ["binary", "dense"])
def test_rc_generator_follows_appendix_a1(variant):
    data = random_constraints.generate(variant, 3, seed=7, num_vars=8, num_train=40, num_test=20)
    lb, ub = random_constraints.BOXES[variant]
    assert np.allclose(np.linalg.norm(data.A, axis=1), 1.0)
    assert data.c_train.shape == (40, 8) and data.c_test.shape == (20, 8)
    assert np.all(np.abs(data.c_train) <= 1.0)
    y = np.concatenate([data.y_train, data.y_test])
    assert np.all((y >= lb) & (y <= ub)) and np.array_equal(y, np.rint(y))
    assert np.all(y @ data.A.T <= data.b + 1e-6)  # every label is feasible
    # Some corner of the box satisfies every constraint (the sign flip of A.1).
    corners = np.array(list(itertools.product([lb, ub], repeat=8)))
    assert np.any(np.all(corners @ data.A.T <= data.b, axis=1))
    # The constraints bind: labels are not all the box-only optima.
    c = np.concatenate([data.c_train, data.c_test])
    assert not exact_match(box_only_solutions(c, lb, ub), y).all()


def test_rc_generator_labels_are_optimal_and_seeded():
    data = random_constraints.generate("binary", 2, seed=1, num_vars=8, num_train=30, num_test=10)
    assert np.array_equal(data.y_train, brute_force(data.c_train, data.A, data.b))
    again = random_constraints.generate("binary", 2, seed=1, num_vars=8, num_train=30, num_test=10)
    assert np.array_equal(again.A, data.A) and np.array_equal(again.c_test, data.c_test)
    other = random_constraints.generate("binary", 2, seed=2, num_vars=8, num_train=30, num_test=10)
    assert not np.array_equal(other.A, data.A)


def test_rc_generator_rejects_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        random_constraints.generate("ternary", 1, 0)
    with pytest.raises(ValueError, match="m"):
        random_constraints.generate("binary", 0, 0)


def test_wsc_generator_draws_small_covering_subsets_and_optimal_labels():
    data = set_cover.generate(4, seed=3, num_train=50, num_test=20)
    C = -data.A  # membership: C[k, j] = [k in S_j]
    assert C.shape == (4, 8) and set(np.unique(C)) <= {0.0, 1.0}
    assert np.all(C.sum(axis=0) >= 1) and np.all(C.sum(axis=0) <= set_cover.MAX_SUBSET_SIZE)
    assert np.all(C.sum(axis=1) >= 1)  # every element is covered
    assert np.array_equal(data.b, -np.ones(4))
    assert np.all(data.c_train > 0) and np.all(data.c_test > 0)
    y = np.concatenate([data.y_train, data.y_test])
    assert np.all(C @ y.T >= 1)  # every label is a cover
    assert np.array_equal(data.y_train, brute_force(data.c_train, data.A, data.b))
    # Positive costs: the box-only optimum (take nothing) never covers.
    assert not exact_match(box_only_solutions(data.c_test, 0, 1), data.y_test).any()


def test_wsc_generator_is_reproducible():
    a = set_cover.generate(6, seed=0, num_train=10, num_test=5)
    b = set_cover.generate(6, seed=0, num_train=10, num_test=5)
    c = set_cover.generate(6, seed=1, num_train=10, num_test=5)
    assert np.array_equal(a.A, b.A) and np.array_equal(a.y_train, b.y_train)
    assert not (np.array_equal(a.A, c.A) and np.array_equal(a.c_train, c.c_train))


def test_covering_that_cannot_exist_is_rejected():
    with pytest.raises(ValueError, match="num_subsets"):
        set_cover.draw_covering(10, 3, np.random.default_rng(0))


def test_save_and_load_round_trip(tmp_path):
    data = set_cover.generate(4, seed=0, num_train=10, num_test=5)
    data.save(tmp_path / "wsc.npz")
    back = load_npz(tmp_path / "wsc.npz")
    assert np.array_equal(back.A, data.A) and np.array_equal(back.y_test, data.y_test)
    assert (back.lb, back.ub) == (0.0, 1.0)
