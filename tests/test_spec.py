"""Problem validation: shapes, values and bounds, each error naming its argument."""

from __future__ import annotations

import numpy as np
import pytest

from combopt_core import ProblemValidationError, make_problem


def good(**override):
    args = dict(c=np.zeros((3, 4)), A=np.zeros((2, 4)), b=np.zeros(2), lb=0, ub=1)
    args.update(override)
    return args


def test_shared_and_per_instance_layouts():
    shared = make_problem(**good())
    assert shared.shared and shared.batch_size == 3 and shared.num_constraints == 2
    per = make_problem(**good(A=np.zeros((3, 2, 4)), b=np.zeros((3, 2))))
    assert not per.shared and per.batch_A().shape == (3, 2, 4)
    one = make_problem(**good(c=np.zeros(4)))
    assert one.batch_size == 1


@pytest.mark.parametrize(
    "override, pattern",
    [
        (dict(c=np.zeros((2, 3, 4))), r"^c: expected shape"),
        (dict(c=np.zeros((0, 4))), r"^c: the batch is empty"),
        (dict(c=np.zeros((3, 0)), A=np.zeros((2, 0))), r"^c: there are no variables"),
        (dict(A=np.zeros((2, 5))), r"^A: shared constraints need shape \(m, n=4\)"),
        (dict(A=np.zeros((4, 2, 4)), b=np.zeros((4, 2))), r"^A: expected shape \(B=3"),
        (dict(b=np.zeros(3)), r"^b: shared A of shape \(2, 4\) needs b of shape \(2,\)"),
        (dict(A=np.zeros((3, 2, 4)), b=np.zeros(2)), r"^b: per-instance A"),
        (dict(A=np.zeros(4)), r"^A: expected shape \(m, n\) or \(B, m, n\)"),
        (dict(c=np.full((3, 4), np.nan)), r"^c: contains NaN"),
        (dict(A=np.full((2, 4), np.inf)), r"^A: contains inf"),
        (dict(b=np.array([0.0, -np.inf])), r"^b: contains inf \(first at index \(1,\)\)"),
        (dict(c=np.array([["a"] * 4] * 3)), r"^c: expected numbers"),
        (dict(lb=np.zeros(3)), r"^lb: expected a scalar or shape \(4,\)"),
        (dict(ub=np.inf), r"^ub: variable 0 has an infinite bound"),
        (dict(lb=[0, 0, -np.inf, 0]), r"^lb: variable 2 has an infinite bound"),
        (dict(lb=2, ub=1), r"^lb, ub: variable 0 has no integer value"),
        (dict(lb=0.2, ub=0.8), r"^lb, ub: variable 0 has no integer value"),
    ],
)
def test_bad_input_is_rejected_naming_the_argument(override, pattern):
    with pytest.raises(ProblemValidationError, match=pattern):
        make_problem(**good(**override))


def test_bounds_are_rounded_inward_to_integers():
    p = make_problem(**good(lb=[-0.5, 0, 0.1, 1], ub=[1.5, 1, 1, 1.0]))
    np.testing.assert_array_equal(p.lb, [0, 0, 1, 1])
    np.testing.assert_array_equal(p.ub, [1, 1, 1, 1])


def test_box_only_problem_is_valid():
    p = make_problem(**good(A=np.zeros((0, 4)), b=np.zeros(0)))
    assert p.num_constraints == 0


def test_constraint_set_is_a_copy_that_matches_equal_constraints_only():
    from combopt_core import ConstraintSet

    A, b = np.array([[1.0, 2.0]]), np.array([3.0])
    problem = make_problem(np.zeros((1, 2)), A, b, 0, 1)
    kept = ConstraintSet.of(problem.instance(0))
    A[0, 0] = 9.0  # the caller's arrays may change afterwards; the snapshot does not
    assert kept.A[0, 0] == 1.0
    same = make_problem(np.ones((1, 2)), np.array([[1.0, 2.0]]), np.array([3.0]), 0, 1)
    assert kept.matches(same.instance(0))  # other costs, equal values in new arrays
    for A2, b2, ub in (([[1.0, 2.5]], [3.0], 1), ([[1.0, 2.0]], [3.5], 1), ([[1.0, 2.0]], [3.0], 2)):
        other = make_problem(np.zeros((1, 2)), np.array(A2), np.array(b2), 0, ub)
        assert not kept.matches(other.instance(0))


def test_equality_rows_default_to_none_in_the_problem_layout():
    shared = make_problem(**good())
    assert shared.num_equalities == 0 and shared.A_eq.shape == (0, 4)
    per = make_problem(**good(A=np.zeros((3, 2, 4)), b=np.zeros((3, 2))))
    assert per.A_eq.shape == (3, 0, 4) and per.b_eq.shape == (3, 0)
    inst = per.instance(1)
    assert inst.num_equalities == 0 and inst.A_eq.shape == (0, 4)


def test_equality_rows_shared_per_instance_and_mixed():
    A_eq, b_eq = np.ones((1, 4)), np.array([2.0])
    p = make_problem(**good(A_eq=A_eq, b_eq=b_eq))
    assert p.shared and p.num_equalities == 1
    np.testing.assert_array_equal(p.instance(2).A_eq, A_eq)
    # Shared A with per-instance equalities: the shared rows are repeated over the batch.
    per_eq = np.arange(12.0).reshape(3, 1, 4)
    mixed = make_problem(**good(A=np.eye(2, 4), A_eq=per_eq, b_eq=np.ones((3, 1))))
    assert not mixed.shared and mixed.A.shape == (3, 2, 4) and mixed.b.shape == (3, 2)
    np.testing.assert_array_equal(mixed.instance(1).A, np.eye(2, 4))
    np.testing.assert_array_equal(mixed.instance(1).A_eq, per_eq[1])
    # And the other way round.
    other = make_problem(**good(A=np.zeros((3, 2, 4)), b=np.zeros((3, 2)), A_eq=A_eq, b_eq=b_eq))
    assert not other.shared and other.A_eq.shape == (3, 1, 4)


@pytest.mark.parametrize(
    "override, pattern",
    [
        (dict(A_eq=np.ones((1, 4))), r"^b_eq: equality rows need both A_eq and b_eq"),
        (dict(b_eq=np.ones(1)), r"^A_eq: equality rows need both A_eq and b_eq"),
        (dict(A_eq=np.ones((1, 5)), b_eq=np.ones(1)), r"^A_eq: shared constraints need shape"),
        (dict(A_eq=np.ones((1, 4)), b_eq=np.ones(2)), r"^b_eq: shared A_eq of shape \(1, 4\)"),
        (dict(A_eq=np.ones((2, 1, 4)), b_eq=np.ones((2, 1))), r"^A_eq: expected shape \(B=3"),
        (dict(A_eq=np.ones((3, 1, 4)), b_eq=np.ones(1)), r"^b_eq: per-instance A_eq"),
        (dict(A_eq=np.ones(4), b_eq=np.ones(1)), r"^A_eq: expected shape \(m, n\) or"),
        (dict(A_eq=np.ones((1, 4)), b_eq=[np.nan]), r"^b_eq: contains NaN"),
        (dict(A_eq=np.full((1, 4), np.inf), b_eq=[1.0]), r"^A_eq: contains inf"),
        (dict(A_eq=[["x"] * 4], b_eq=[1.0]), r"^A_eq: expected numbers"),
    ],
)
def test_bad_equality_rows_are_rejected_naming_the_argument(override, pattern):
    with pytest.raises(ProblemValidationError, match=pattern):
        make_problem(**good(**override))


def test_lower_equalities_appends_both_halves():
    from combopt_core.spec import lower_equalities

    A_eq, b_eq = np.array([[1.0, 2.0, 0.0, 0.0]]), np.array([3.0])
    p = make_problem(**good(A=np.eye(2, 4), b=np.ones(2), A_eq=A_eq, b_eq=b_eq))
    low = lower_equalities(p)
    assert low.num_equalities == 0 and low.num_constraints == 4
    np.testing.assert_array_equal(low.A, np.vstack([np.eye(2, 4), A_eq, -A_eq]))
    np.testing.assert_array_equal(low.b, [1.0, 1.0, 3.0, -3.0])
    assert lower_equalities(make_problem(**good())).num_constraints == 2


def test_two_sided_rows_split_into_equalities_and_inequalities():
    from combopt_core.spec import two_sided_rows

    A = np.array([[1.0, 1.0], [1.0, -1.0], [0.0, 1.0]])
    A_le, b_le, A_eq, b_eq = two_sided_rows(A, [1.0, -np.inf, 0.0], [1.0, 2.0, np.inf])
    np.testing.assert_array_equal(A_eq, A[:1])
    np.testing.assert_array_equal(b_eq, [1.0])
    np.testing.assert_array_equal(A_le, np.vstack([A[1], -A[2]]))
    np.testing.assert_array_equal(b_le, [2.0, -0.0])
    with pytest.raises(ProblemValidationError, match=r"^lo, hi: row 0 has lo > hi"):
        two_sided_rows(A, [3.0, 0.0, 0.0], 2.0)
    with pytest.raises(ProblemValidationError, match=r"^lo: expected a number or shape \(3,\)"):
        two_sided_rows(A, [0.0, 1.0], 2.0)
