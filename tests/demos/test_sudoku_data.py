"""Sudoku data: generator, uniqueness (cross-checked by an ILP backend), loader errors."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import solve
from demos.sudoku import digits
from demos.sudoku.data import GIVENS, SudokuSet, generate, load_puzzles, save_puzzles
from demos.sudoku.figure import band_span_similarity, rule_similarity
from demos.sudoku.grid import check_puzzle, count_solutions
from demos.sudoku.ilp import decode, fill_bonus, given_costs, one_hot, true_rules

pytest.importorskip("highspy")


def _is_grid(g: np.ndarray) -> bool:
    """Every true rule holds with equality: one digit per cell, each digit once per unit."""
    return bool((true_rules(g.shape[0])[0] @ one_hot(g[None])[0] == 1).all())


@pytest.mark.parametrize("size", [4, 6, 9])
def test_generated_puzzles_are_deterministic_valid_and_unique(size):
    data = generate(size, "train", 6, seed=3)
    again = generate(size, "train", 4, seed=3)
    assert np.array_equal(data.puzzles[:4], again.puzzles)  # a prefix, puzzle by puzzle
    assert not np.array_equal(data.puzzles, generate(size, "train", 6, seed=4).puzzles)
    lo, hi = GIVENS["train"][size]
    for p, sol in zip(data.puzzles, data.solutions):
        assert lo <= (p > 0).sum() <= hi
        assert _is_grid(sol)
        assert np.array_equal(sol[p > 0], p[p > 0])
        assert count_solutions(p, limit=2)[0] == 1


@pytest.mark.parametrize("size", [4, 9])
def test_uniqueness_agrees_with_an_ilp_backend(size):
    """The true-rule ILP returns the counter's solution, and excluding that solution leaves
    no other point as good: the ILP proves the uniqueness the counter claims."""
    data = generate(size, "test", 3, seed=0)
    A, b = true_rules(size)
    c = given_costs(one_hot(data.puzzles))
    y = solve(c, A, b, solver="highs", workers=1).y
    assert np.array_equal(decode(y, size), data.solutions)
    best = -((data.puzzles > 0).sum((1, 2)) + size * size * fill_bonus(size))
    for i in range(3):
        cut = one_hot(data.solutions[i : i + 1])  # sum over the solution's ones <= s^2 - 1
        A2, b2 = np.vstack([A, cut]), np.append(b, size * size - 1)
        other = solve(c[i : i + 1], A2, b2, solver="highs", workers=1)
        assert other.objective[0] > best[i] + 1e-9


def test_an_ambiguous_puzzle_is_rejected():
    """Blanking a rectangle of two digits that can swap gives two solutions."""
    sol = generate(4, "test", 1).solutions[0]
    p = sol.copy()
    rows = [(r, c) for r in range(4) for c in range(4)]
    found = False
    for r1, c1 in rows:
        for r2, c2 in rows:
            swap = sol[r1, c1] == sol[r2, c2] and sol[r1, c2] == sol[r2, c1]
            if r1 < r2 and c1 < c2 and swap:
                p = sol.copy()
                p[r1, c1] = p[r2, c2] = p[r1, c2] = p[r2, c1] = 0
                if count_solutions(p, 3)[0] >= 2:
                    found = True
                    break
        if found:
            break
    assert found
    with pytest.raises(ValueError, match="puzzle 7: has several solutions"):
        check_puzzle(p, "puzzle 7")


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (np.zeros((5, 5), int), "puzzle 3: expected a square grid"),
        (np.zeros((4, 6), int), "puzzle 3: expected a square grid"),
        (np.full((4, 4), 0.5), "puzzle 3: expected integer digits"),
        (np.array([[5, 0, 0, 0]] + [[0] * 4] * 3), r"digit 5 at r1c1 is out of range 0..4"),
        (np.array([[-1, 0, 0, 0]] + [[0] * 4] * 3), r"digit -1 at r1c1 is out of range"),
        (np.array([[1, 0, 0, 1]] + [[0] * 4] * 3), r"digit 1 appears twice in row 1"),
        (np.array([[1, 0, 0, 0], [0, 1, 0, 0]] + [[0] * 4] * 2), r"twice in box 1"),
        (np.array([[1, 2, 0, 0]] + [[0] * 4] * 3), "puzzle 3: has several solutions"),
    ],
)
def test_malformed_puzzles_are_rejected_by_name(grid, message):
    with pytest.raises(ValueError, match=message):
        check_puzzle(grid, "puzzle 3")


def test_a_puzzle_without_solution_is_rejected():
    # no repeated digit, yet r1c4 cannot hold anything: 1, 2, 3 in its row, 4 in its column
    grid = np.array([[1, 2, 3, 0], [0, 0, 0, 4], [0, 0, 0, 0], [0, 0, 0, 0]])
    with pytest.raises(ValueError, match="puzzle 0: has no solution"):
        check_puzzle(grid, "puzzle 0")


def test_loader_validates_every_puzzle(tmp_path):
    data = generate(4, "train", 5)
    path = tmp_path / "ok.npz"
    save_puzzles(data, path)
    back = load_puzzles(path)
    assert np.array_equal(back.puzzles, data.puzzles)
    assert np.array_equal(back.solutions, data.solutions)
    with pytest.raises(ValueError, match="expected a 9x9 grid"):
        load_puzzles(path, size=9)
    bad = data.puzzles.copy()
    bad[2] = 0  # an empty grid has many solutions
    save_puzzles(SudokuSet(4, bad, data.solutions), tmp_path / "bad.npz")
    with pytest.raises(ValueError, match="bad.npz: puzzle 2: has several solutions"):
        load_puzzles(tmp_path / "bad.npz")
    wrong = data.solutions.copy()
    wrong[1] = data.solutions[0]
    save_puzzles(SudokuSet(4, data.puzzles, wrong), tmp_path / "wrong.npz")
    with pytest.raises(ValueError, match="puzzle 1: the stored solution"):
        load_puzzles(tmp_path / "wrong.npz")


def test_encoding_round_trips_and_true_rules_are_recognised():
    data = generate(6, "test", 4)
    assert np.array_equal(decode(one_hot(data.solutions), 6), data.solutions)
    assert np.array_equal(decode(one_hot(data.puzzles), 6), data.puzzles)
    A, _ = true_rules(6)
    assert A.shape == (4 * 36, 216) and (A.sum(1) == 6).all() and (A.sum(0) == 4).all()
    assert np.allclose(rule_similarity(A, 6), 1.0)
    assert rule_similarity(-A, 6).max() < 0.5  # the sign matters: -A y <= b is no rule


def test_visual_pools_are_disjoint_and_images_match_their_digits():
    train, test = digits.pools("train"), digits.pools("test")
    for d in range(1, 10):
        assert len(train[d]) and len(test[d]) and not set(train[d]) & set(test[d])
    p = generate(9, "test", 2).puzzles
    index = digits.draw_images(p, "test")
    assert ((index >= 0) == (p > 0)).all()
    assert (digits.labels(index) == p).all()
    assert all(i in set(test[d]) for i, d in zip(index[p > 0], p[p > 0]))
    assert digits.images(index).shape == (2, 9, 9, 8, 8)


def test_band_span_recognises_mixtures_of_rules_and_nothing_else():
    T, _ = true_rules(4)
    rng = np.random.default_rng(0)
    mix = rng.standard_normal((40, 64)) @ T  # random combinations of all 64 rules (rank 40)
    beta = -mix @ np.ones(64) / 4  # t . y = 1 for each rule, so sum_j w_j (t_j . y - 1) = 0
    A, b = np.vstack([mix, -mix]), np.concatenate([0.1 - beta, 0.1 + beta])
    assert rule_similarity(A, 4).max() < 0.95  # no single row is a rule
    assert np.allclose(band_span_similarity(A, b, 4), 1.0)  # every rule is in their span
    through_zero = np.full(80, 0.1)  # the same normals, every band through y = 0
    assert band_span_similarity(A, through_zero, 4).max() < 0.95
    noise = rng.standard_normal((33, 64))
    assert band_span_similarity(np.vstack([noise, -noise]), np.full(66, 0.1), 4).max() < 0.95
