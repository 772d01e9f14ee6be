"""The learners compared in the paper's synthetic demonstrations (Sec. 4.1-4.2).

All map normalised costs ``c (B, n)`` to solutions ``(B, n)`` in the box's own coordinates
(see ``demos.training``):

* ``combopt`` -- CombOptNet: learned constraints (learnable origins, Fig. 4) + an ILP solver;
* ``mlp`` -- the MLP baseline: three layers of width 100, ReLU, no output nonlinearity,
  output rounded to the nearest integer point of the box;
* ``ilploss`` -- CombOptNet's model (the same learnable constraints and exact ILP layer),
  trained solver-free with ILP-Loss (``demos.ilploss_training``); the solver runs only to
  validate and test;
* ``combined`` -- the same model: ILP-Loss for a warm-up, then the paper's rule;
* ``lp`` -- the CVXPY baseline (``demos.lp_baseline``): the same learned constraints, the ILP
  replaced by its LP relaxation (cvxpylayers), greedily rounded to a feasible integer point.
"""

from __future__ import annotations

import torch
from torch import nn

from combopt_torch import CombOptNet

METHODS = ("combopt", "ilploss", "combined", "mlp", "lp")


class MLPBaseline(nn.Module):
    """``c -> y``: an MLP (``n -> hidden -> hidden -> n``, ReLU) read in normalised coordinates.

    ``forward`` returns the raw (continuous) output mapped from ``[-0.5, 0.5]^n`` to the box;
    ``predict`` rounds it to the nearest integer point of the box.
    """

    def __init__(self, num_vars: int, lb: float, ub: float, hidden: int = 100) -> None:
        super().__init__()
        self.lb, self.ub = float(lb), float(ub)
        self.net = nn.Sequential(
            nn.Linear(num_vars, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_vars),
        )

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        return self.lb + (self.net(c) + 0.5) * (self.ub - self.lb)

    def predict(self, c: torch.Tensor) -> torch.Tensor:
        return torch.round(self.forward(c)).clamp(self.lb, self.ub)


def build_model(
    method: str,
    num_vars: int,
    num_constraints: int,
    lb: float,
    ub: float,
    *,
    seed: int = 0,
    solver: str | None = None,
    tau: float = 0.5,
    workers: int | None = None,
) -> nn.Module:
    """A freshly initialised learner (seeded) for one of :data:`METHODS`."""
    generator = torch.Generator().manual_seed(seed)
    if method in ("combopt", "ilploss", "combined"):
        return CombOptNet(
            num_vars, num_constraints, lb, ub, solver=solver, tau=tau, workers=workers,
            generator=generator,
        )
    if method == "mlp":
        torch.manual_seed(seed)
        return MLPBaseline(num_vars, lb, ub)
    if method == "lp":
        from .lp_baseline import LPRelaxationBaseline

        return LPRelaxationBaseline(num_vars, num_constraints, lb, ub, generator=generator)
    raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
