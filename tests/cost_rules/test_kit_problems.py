"""Every cost rule on every installed backend, over the conformance kit's problems: the
forward optimum agrees with the brute-force oracle's objective, and the backward gives a
finite gradient of ``c``'s shape (the formulas themselves are checked in
``test_cost_rules``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from combopt_core import get_solver, list_backends, solve_batch
from combopt_core.enumeration import count_points
from combopt_core.registry import default_registry
from combopt_core.testing import conformance_problems
from combopt_torch import (
    BlackboxILP,
    FenchelYoungLoss,
    IdentityILP,
    PerturbedILP,
    SPOPlusLoss,
)

BACKENDS = [s.name for s in list_backends() if s.available]
#: The kit's problems the oracle enumerates quickly (the others test time limits and size),
#: without equality rows (the cost rules take fixed ``A, b`` only).
PROBLEMS = [
    p
    for p in conformance_problems()
    if count_points(p.problem.lb, p.problem.ub) <= 2**14 and p.problem.num_equalities == 0
]


def oracle_objective(problem) -> np.ndarray:
    return solve_batch(get_solver("bruteforce"), problem).objective


def refused(backend: str, problem) -> str | None:
    limits = default_registry().specs()[backend][0].limits
    if limits is None:
        return None
    return next(
        filter(None, (limits.refuses(problem.instance(i)) for i in range(problem.batch_size))), None
    )


def rules(lb, ub, backend):
    common = {"lb": lb, "ub": ub, "solver": backend, "workers": 1}
    generator = torch.Generator().manual_seed(0)
    return {
        "blackbox": BlackboxILP(2.0, **common),
        "identity": IdentityILP(**common),
        "perturbed": PerturbedILP(0.3, 2, generator=generator, **common),
        "fenchel-young": FenchelYoungLoss(0.3, 2, generator=generator, **common),
        "spo+": SPOPlusLoss(**common),
    }


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", PROBLEMS, ids=[p.name for p in PROBLEMS])
def test_every_rule_runs_on_the_kit_problem(backend, case):
    problem = case.problem
    why = refused(backend, problem)
    if why:
        pytest.skip(why)
    best = oracle_objective(problem)
    feasible = ~np.isnan(best)
    A, b = torch.tensor(problem.A), torch.tensor(problem.b)
    c_np = problem.c
    y_true = torch.tensor(np.broadcast_to(problem.fallback_point(), c_np.shape).copy())
    for name, rule in rules(problem.lb, problem.ub, backend).items():
        c = torch.tensor(c_np, requires_grad=True)
        if name == "fenchel-young":
            out = rule(c, y_true, A, b)
        elif name == "spo+":
            out = rule(c, torch.tensor(-c_np), A, b)
        else:
            y = rule(c, A, b)
            if name in ("blackbox", "identity"):
                got = np.einsum("bn,bn->b", c_np, y.detach().numpy())
                np.testing.assert_allclose(got[feasible], best[feasible], rtol=1e-9, atol=1e-9)
            out = (y * torch.linspace(-1, 1, y.shape[-1], dtype=y.dtype)).sum()
        out.sum().backward()
        assert c.grad.shape == c.shape, name
        assert torch.isfinite(c.grad).all(), name
