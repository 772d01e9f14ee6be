"""The paper's CVXPY baseline: learned constraints with the ILP replaced by its LP relaxation.

Forward: ``y_lp = argmin c.y + M 1.s  s.t.  A y <= b + s,  s >= 0,  lb <= y <= ub`` (real
``y``), solved and differentiated by ``cvxpylayers`` (Agrawal et al., 2019). The slack ``s``
with penalty ``M`` keeps the LP feasible whatever the learned constraints (the paper does not
say how it handled empty regions; with a feasible region and ``M`` large, ``s = 0``).
Prediction: ``y_lp`` greedily rounded to an integer point that satisfies the learned
constraints (:func:`round_feasible`).

Optional dependency: ``pip install cvxpy cvxpylayers`` (the ``lp`` extra).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from combopt_torch import LearnableConstraints

INSTALL_HINT = "the LP baseline needs cvxpylayers: pip install cvxpy cvxpylayers"


def round_feasible(
    y_lp: np.ndarray, A: np.ndarray, b: np.ndarray, lb: float, ub: float, tol: float = 1e-9
) -> np.ndarray:
    """Round each row of ``y_lp (B, n)`` to an integer point of the box with ``A y <= b``.

    Greedy: start from the nearest integer point; while some constraint is violated, take the
    unit step of one coordinate that reduces the total violation ``sum_j max(0, a_j.y - b_j)``
    most (ties: the step that stays closest to ``y_lp``). Stops when feasible or when no step
    helps; then the point may remain infeasible (a learned region can be empty).
    """
    y_lp = np.atleast_2d(np.asarray(y_lp, dtype=np.float64))
    out = np.clip(np.rint(y_lp), lb, ub)
    n = y_lp.shape[1]
    steps = np.concatenate([np.eye(n), -np.eye(n)])  # (2n, n)
    for i in range(len(out)):
        y = out[i]
        violation = np.maximum(A @ y - b, 0.0).sum()
        for _ in range(int(n * (ub - lb)) + 1):
            if violation <= tol:
                break
            cand = y + steps
            inside = np.all((cand >= lb) & (cand <= ub), axis=1)
            cand_violation = np.maximum(cand @ A.T - b, 0.0).sum(axis=1)
            distance = np.abs(cand - y_lp[i]).sum(axis=1)
            score = np.where(inside, cand_violation + 1e-6 * distance, np.inf)
            best = int(np.argmin(score))
            if not inside[best] or cand_violation[best] >= violation:
                break
            y, violation = cand[best], cand_violation[best]
        out[i] = y
    return out


class LPRelaxationBaseline(nn.Module):
    """Learnable constraints (as CombOptNet's) + an LP-relaxation layer (cvxpylayers).

    ``forward(c) -> y_lp`` is the differentiable LP solution; ``predict(c)`` rounds it to a
    feasible integer point of the learned constraints. ``penalty`` is ``M`` above.
    """

    def __init__(
        self,
        num_vars: int,
        num_constraints: int,
        lb: float,
        ub: float,
        penalty: float = 10.0,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        try:
            import cvxpy as cp
            from cvxpylayers.torch import CvxpyLayer
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(INSTALL_HINT) from exc
        self.lb, self.ub = float(lb), float(ub)
        self.constraints = LearnableConstraints(num_constraints, num_vars, lb, ub, generator=generator)
        y = cp.Variable(num_vars)
        s = cp.Variable(num_constraints, nonneg=True)
        c = cp.Parameter(num_vars)
        A = cp.Parameter((num_constraints, num_vars))
        b = cp.Parameter(num_constraints)
        problem = cp.Problem(
            cp.Minimize(c @ y + penalty * cp.sum(s)),
            [A @ y <= b + s, y >= self.lb, y <= self.ub],
        )
        self.layer = CvxpyLayer(problem, parameters=[c, A, b], variables=[y])

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        A, b = self.constraints()
        batch = c.shape[0]
        (y,) = self.layer(
            c.double(),
            A.double().expand(batch, *A.shape),
            b.double().expand(batch, *b.shape),
        )
        return y.to(c.dtype)

    def predict(self, c: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            y_lp = self.forward(c).double().numpy()
            A, b = (t.double().numpy() for t in self.constraints())
        return torch.from_numpy(round_feasible(y_lp, A, b, self.lb, self.ub))
