"""Hypothesis strategies of the conformance kit, and its settings profile.

Coefficients lie on grids (multiples of 1/4, 1/7 or 1/100), so that any integer point's
slack is either zero or far above every solver's tolerance. Needs ``hypothesis``
(``pip install 'combopt[test]'``).

Environment:
    COMBOPT_CONFORMANCE_EXAMPLES: examples per generated test (default 40).
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ..spec import ILPInstance, make_problem

EXAMPLES_ENV_VAR = "COMBOPT_CONFORMANCE_EXAMPLES"

settings.register_profile(
    "combopt-conformance",
    max_examples=int(os.environ.get(EXAMPLES_ENV_VAR, "40")),
    deadline=None,
    derandomize=True,  # the same instances on every run; raise the examples to explore
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)
CONFORMANCE_SETTINGS = settings.get_profile("combopt-conformance")


def _grid(draw, shape, low: int, high: int) -> np.ndarray:
    denominator = draw(st.sampled_from([1, 4, 7, 100]))
    ints = draw(arrays(np.int64, shape, elements=st.integers(low, high)))
    return ints / denominator


@st.composite
def small_ilps(draw, max_vars: int = 6, max_width: int = 3) -> ILPInstance:
    """Boxes of at most ``(max_width + 1) ** max_vars`` points, per-variable bounds, 0-4
    rows; costs either small integers (ties) or continuous."""
    n = draw(st.integers(1, max_vars))
    lb = draw(arrays(np.int64, n, elements=st.integers(-3, 2))).astype(float)
    ub = lb + draw(arrays(np.int64, n, elements=st.integers(0, max_width)))
    m = draw(st.integers(0, 4))
    A = _grid(draw, (m, n), -8, 8).reshape(m, n)
    b = _grid(draw, (m,), -10, 30)
    ties = draw(st.booleans())
    c = (
        draw(arrays(np.int64, n, elements=st.integers(-2, 2))).astype(float)
        if ties
        else draw(arrays(np.float64, n, elements=st.floats(-1, 1, allow_nan=False, width=32)))
    )
    return make_problem(c, A, b, lb, ub).instance(0)


@st.composite
def integer_infeasible_ilps(draw) -> ILPInstance:
    """``2 y_0 + 2 y_1 == 1`` (as two rows) plus random rows: LP-feasible, integer-infeasible."""
    base = draw(small_ilps(max_vars=5))
    n = max(base.num_vars, 2)
    extra = n - base.num_vars

    def pad(v: np.ndarray, fill: float) -> np.ndarray:
        return np.concatenate([v, np.full(extra, fill)])

    lb, ub = pad(base.lb, 0.0), pad(base.ub, 1.0)
    lb[:2], ub[:2] = 0.0, 1.0
    row = np.zeros(n)
    row[:2] = 2.0
    A = np.vstack([np.hstack([base.A, np.zeros((base.num_constraints, extra))]), row, -row])
    b = np.concatenate([base.b, [1.0, -1.0]])
    return make_problem(pad(base.c, 0.0), A, b, lb, ub).instance(0)


@st.composite
def small_ilps_with_equalities(draw, max_vars: int = 5, max_width: int = 3) -> ILPInstance:
    """``small_ilps`` plus 1-2 equality rows on a grid: through a box point drawn with them
    (feasible unless the ``<=`` rows cut that point off) or at a grid value (often no
    integer point)."""
    base = draw(small_ilps(max_vars=max_vars, max_width=max_width))
    n, m_eq = base.num_vars, draw(st.integers(1, 2))
    A_eq = _grid(draw, (m_eq, n), -4, 4).reshape(m_eq, n)
    if draw(st.booleans()):
        steps = draw(arrays(np.int64, n, elements=st.integers(0, max_width)))
        b_eq = A_eq @ np.minimum(base.lb + steps, base.ub)
    else:
        b_eq = _grid(draw, (m_eq,), -8, 8)
    return make_problem(base.c, base.A, base.b, base.lb, base.ub, A_eq, b_eq).instance(0)


@st.composite
def equality_infeasible_ilps(draw) -> ILPInstance:
    """``2 y_0 + 2 y_1 == 1`` as one equality row, plus random rows: LP-feasible,
    integer-infeasible."""
    base = draw(integer_infeasible_ilps())
    A, b = base.A[:-2], base.b[:-2]  # without the two <= halves of the same row
    row = base.A[-2:-1]
    return make_problem(base.c, A, b, base.lb, base.ub, row, [1.0]).instance(0)
