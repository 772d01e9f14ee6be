"""Area 3: infeasible instances during learning. They are flagged per instance, never raise,
and the infeasible branch of the gradient moves the constraints until a feasible region
appears: training starts from learnable constraints whose feasible region is EMPTY.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from combopt_core import Status, solve
from combopt_torch import CombOptNet

from .helpers import random_problem

N, M, BATCH = 6, 2, 8
MAX_STEPS = 60  # observed with HiGHS: opens at step 7 for both parametrizations


def box_points(n: int) -> np.ndarray:
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def feasible_points(A: torch.Tensor, b: torch.Tensor) -> int:
    """How many points of ``{0, 1}^n`` satisfy ``A y <= b`` (exact enumeration)."""
    Y = box_points(A.shape[1])
    return int(((Y @ A.detach().double().numpy().T) <= b.detach().double().numpy()).all(1).sum())


def empty_model(parametrization: str, backend: str) -> CombOptNet:
    """A ``CombOptNet`` whose constraints admit no point of the box: with unit normals,
    ``|a . (y - o)| <= ||y - o|| <= sqrt(n)``, so a radius (or ``-b``) of 3 > sqrt(6) cuts
    every point off."""
    model = CombOptNet(
        N, M, 0, 1, parametrization, generator=torch.Generator().manual_seed(0), solver=backend
    )
    with torch.no_grad():
        cons = model.constraints
        if parametrization == "origin":
            cons.radii.fill_(3.0)
        else:
            cons.A.div_(cons.A.norm(dim=-1, keepdim=True))
            cons.b.fill_(-3.0)
    assert feasible_points(*model.constraints()) == 0
    return model


def data(seed: int = 0):
    """Costs and the true solutions under hidden constraints (feasible at 0)."""
    rng = np.random.default_rng(seed)
    c, A, b, lb, ub = random_problem(rng, BATCH * 4, N, M)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    y = solve(c, A[0], b[0], lb, ub).y
    assert y.sum() > 0  # targets away from the fallback point, so the loss has a gradient
    return torch.tensor(c, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


@pytest.mark.parametrize("parametrization", ["origin", "direct"])
def test_empty_feasible_region_opens_up_within_bounded_steps(parametrization, backend):
    model = empty_model(parametrization, backend)
    costs, targets = data()
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    history = []
    for step in range(MAX_STEPS):
        i = (step * BATCH) % len(costs)
        y, info = model(costs[i : i + BATCH], return_info=True)
        infeasible = int(info.infeasible.sum())
        history.append(infeasible)
        if step == 0:  # flagged per instance, fallback point (0), status INFEASIBLE
            assert infeasible == BATCH
            assert (info.status == int(Status.INFEASIBLE)).all()
            assert (y == 0).all() and not info.has_solution.any()
        if infeasible < BATCH:
            break
        loss = ((y - targets[i : i + BATCH]) ** 2).sum(-1).mean()
        opt.zero_grad()
        loss.backward()
        grads = [p.grad for p in model.parameters()]
        moved = any(g is not None and g.abs().sum() > 0 for g in grads)
        assert moved, "no gradient while every instance is infeasible"
        opt.step()
    else:
        pytest.fail(f"the feasible region stayed empty for {MAX_STEPS} steps: {history}")
    assert feasible_points(*model.constraints()) > 0
    assert history[-1] < BATCH and all(h == BATCH for h in history[:-1])


def test_infeasible_instances_do_not_raise_and_are_counted(backend):
    """A batch mixing feasible and infeasible instances: only the latter are flagged."""
    c = torch.randn(4, 3, dtype=torch.float64)
    A = torch.tensor([[1.0, 1.0, 1.0]], dtype=torch.float64).expand(4, 1, 3).clone()
    b = torch.tensor([[2.0], [-1.0], [0.5], [-0.5]], dtype=torch.float64)
    model = CombOptNet(3, 1, solver=backend).ilp
    y, info = model(c, A, b, return_info=True)
    assert info.infeasible.tolist() == [False, True, False, True]
    assert info.has_solution.tolist() == [True, False, True, False]
    assert torch.isnan(info.objective[[1, 3]]).all()
    assert (y[[1, 3]] == 0).all()
