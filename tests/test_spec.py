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
