"""The paper's KNAPSACK models (appendix A.1): CombOptNet, the LP-relaxation and MLP baselines.

Inputs are item embeddings ``x (B, 10, d)``. Every model has
``forward(x) -> (B, 10)`` (what the loss sees: a solution, relaxed or not) and
``select(x) -> (B, 10)`` 0/1 (what evaluation sees), both with torch tensors.

Scaling (as in the paper): a per-item MLP maps each embedding to a price in ``[10, 45]``
and a weight in ``[15, 35]``; prices, weights and the capacity ``100`` are multiplied by
``SCALE = 0.01``. The ILP in the library's convention is then
``min c.y  s.t.  A y <= b,  y in {0,1}^10`` with ``c = -0.01 price`` (maximisation turned
into minimisation), ``A = 0.01 weight`` as one input-dependent row ``(B, 1, 10)`` and
``b = 0.01 * 100`` (fixed, not learned).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from combopt_torch import BlackboxILP, IdentityILP, ILPLayer, PerturbedILP
from combopt_torch.ilploss import ILPLoss

from .data import CAPACITY, NUM_ITEMS, PRICE_RANGE, WEIGHT_RANGE
from .relaxation import greedy_round, lp_relaxation

SCALE = 0.01


class ItemCoefficients(nn.Module):
    """Per-item two-layer MLP: embedding ``(..., d)`` -> ``(price, weight)`` in dollars/pounds.

    ``Linear(d, hidden) -> ReLU -> Linear(hidden, 2) -> sigmoid``, the two sigmoids mapped
    affinely onto ``PRICE_RANGE`` and ``WEIGHT_RANGE``.
    """

    def __init__(self, embed_dim: int, hidden: int = 512) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(embed_dim, hidden), nn.ReLU(), nn.Linear(hidden, 2))
        lo = torch.tensor([PRICE_RANGE[0], WEIGHT_RANGE[0]], dtype=torch.float32)
        hi = torch.tensor([PRICE_RANGE[1], WEIGHT_RANGE[1]], dtype=torch.float32)
        self.register_buffer("lo", lo)
        self.register_buffer("span", hi - lo)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.lo + self.span * torch.sigmoid(self.net(x))
        return out[..., 0], out[..., 1]


def _check_input(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 3 or x.shape[1] != NUM_ITEMS:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x: expected item embeddings of shape (B, {NUM_ITEMS}, d), got {shape}")


class KnapsackCombOptNet(nn.Module):
    """Costs and the single constraint both predicted from text, solved by ``ILPLayer``.

    Args:
        embed_dim: ``d``.
        hidden: hidden width of the per-item MLP (512 in the paper).
        normalize_cost: divide ``c`` by its Euclidean norm per instance (the paper's
            convention for cost vectors, METHOD.md). The selection is unchanged (the ILP's
            optimum is invariant to scaling ``c``); only the gradient loses its component
            along ``c``.
        **layer_options: for ``ILPLayer`` (``solver``, ``tau``, ``workers``, ...).
    """

    def __init__(
        self, embed_dim: int, hidden: int = 512, normalize_cost: bool = False, **layer_options: Any
    ) -> None:
        super().__init__()
        self.coefficients = ItemCoefficients(embed_dim, hidden)
        self.normalize_cost = normalize_cost
        self.ilp = ILPLayer(0.0, 1.0, **layer_options)

    def ilp_data(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c (B, 10), A (B, 1, 10), b (B, 1))`` in the library's ``min``/``<=`` form."""
        _check_input(x)
        price, weight = self.coefficients(x)
        c = -SCALE * price
        if self.normalize_cost:
            c = c / c.norm(dim=-1, keepdim=True)
        A = (SCALE * weight).unsqueeze(1)
        b = torch.full((x.shape[0], 1), SCALE * CAPACITY, dtype=A.dtype, device=A.device)
        return c, A, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ilp(*self.ilp_data(x))

    @torch.no_grad()
    def select(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).round().to(torch.uint8)


class KnapsackILPLoss(KnapsackCombOptNet):
    """``KnapsackCombOptNet`` trained solver-free with ILP-Loss on its predicted ILP.

    ``training_loss(x, y)`` is ``combopt_torch.ilploss.ILPLoss`` on ``(A, b, c)`` from
    ``ilp_data(x)`` and the labels ``y``: costs and the capacity row both learned (the cost
    row joins the loss, so a negative is cut off or made costlier). ``forward`` / ``select``
    solve the ILP exactly, as for CombOptNet. ``temperature``: the loss's soft-min start.
    """

    def __init__(
        self,
        embed_dim: int,
        hidden: int = 512,
        normalize_cost: bool = False,
        temperature: float = 0.1,
        **layer_options: Any,
    ) -> None:
        super().__init__(embed_dim, hidden, normalize_cost, **layer_options)
        self.criterion = ILPLoss(0.0, 1.0, temperature=temperature)

    def training_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c, A, b = self.ilp_data(x)
        return self.criterion(A, b, c, y)


class KnapsackLP(nn.Module):
    """The CVXPY baseline: the same MLP, the LP relaxation through cvxpylayers.

    Training differentiates the LP ``min c.y s.t. a.y <= 1, 0 <= y <= 1`` (cvxpylayers,
    SCS); ``select`` solves the same LP exactly in closed form and rounds greedily with the
    predicted weights (paper appendix A.1).
    """

    def __init__(self, embed_dim: int, hidden: int = 512) -> None:
        super().__init__()
        try:
            import cvxpy as cp
            from cvxpylayers.torch import CvxpyLayer
        except ImportError as exc:
            raise ImportError(
                "the LP-relaxation baseline needs cvxpylayers: "
                "pip install torch==2.13.0 cvxpylayers"
            ) from exc
        self.coefficients = ItemCoefficients(embed_dim, hidden)
        y = cp.Variable(NUM_ITEMS)
        c = cp.Parameter(NUM_ITEMS)
        a = cp.Parameter(NUM_ITEMS)
        problem = cp.Problem(cp.Minimize(c @ y), [a @ y <= SCALE * CAPACITY, y >= 0, y <= 1])
        self.lp = CvxpyLayer(problem, parameters=[c, a], variables=[y])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        price, weight = self.coefficients(x)
        c, a = (-SCALE * price).double(), (SCALE * weight).double()
        (y,) = self.lp(c, a)
        return y.to(x.dtype)

    @torch.no_grad()
    def select(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        price, weight = (t.double().cpu().numpy() for t in self.coefficients(x))
        relaxed = lp_relaxation(weight, price, CAPACITY)
        return torch.from_numpy(greedy_round(relaxed, weight, CAPACITY)).to(x.device)


class KnapsackMLP(nn.Module):
    """The MLP baseline: all 10 embeddings -> 3 layers of width 100 -> 10 outputs, rounded."""

    def __init__(self, embed_dim: int, hidden: int = 100) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(NUM_ITEMS * embed_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, NUM_ITEMS),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        return self.net(x)

    @torch.no_grad()
    def select(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x).round().clamp(0, 1).to(torch.uint8)


class KnapsackCostRule(nn.Module):
    """Prices predicted from text, the capacity row given: a cost rule of ``combopt_torch.cost``.

    The PyEPO setting: the constraint ``0.01 weight . y <= 1`` uses the true weights, which
    arrive as the input's last feature (``with_true_weights``); only the price head of the
    per-item MLP is trained, by the training loop's squared error on the rule's output (for
    ``perturbed``, the expected solution). ``select`` solves the ILP at the predicted costs.

    Args:
        embed_dim: ``d + 1`` (the embedding and the true weight).
        rule: ``"blackbox"``, ``"identity"`` or ``"perturbed"``.
        lambda_, sigma, n_samples: the rule's setting (blackbox; perturbed).
        **layer_options: for the rule's module (``solver``, ``workers``, ...).
    """

    def __init__(
        self,
        embed_dim: int,
        rule: str,
        hidden: int = 512,
        lambda_: float = 10.0,
        sigma: float = 0.05,
        n_samples: int = 4,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        self.coefficients = ItemCoefficients(embed_dim - 1, hidden)
        layer_options.pop("tau", None)  # CombOptNet's constraint temperature: no constraints here
        rules = {
            "blackbox": lambda: BlackboxILP(lambda_, 0.0, 1.0, **layer_options),
            "identity": lambda: IdentityILP(0.0, 1.0, **layer_options),
            "perturbed": lambda: PerturbedILP(sigma, n_samples, 0.0, 1.0, **layer_options),
        }
        if rule not in rules:
            raise ValueError(f"rule: expected one of {sorted(rules)}, got {rule!r}")
        self.rule = rules[rule]()

    def ilp_data(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(c (B, 10), A (B, 1, 10), b (B, 1))``: predicted costs, the true capacity row."""
        _check_input(x)
        price, _ = self.coefficients(x[..., :-1])
        A = (SCALE * x[..., -1]).unsqueeze(1).detach()
        b = torch.full((x.shape[0], 1), SCALE * CAPACITY, dtype=A.dtype, device=A.device)
        return -SCALE * price, A, b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rule(*self.ilp_data(x))

    @torch.no_grad()
    def select(self, x: torch.Tensor) -> torch.Tensor:
        c, A, b = (t.double().cpu().numpy() for t in self.ilp_data(x))
        _, result = self.rule.options.solve(c, A, b)
        return torch.from_numpy(result.y).round().to(torch.uint8).to(x.device)


def with_true_weights(x: torch.Tensor, weights: np.ndarray) -> torch.Tensor:
    """``x (N, 10, d)`` with each item's true weight appended: ``(N, 10, d + 1)``."""
    w = torch.from_numpy(np.asarray(weights, dtype=np.float64)).to(x.dtype)
    return torch.cat([x, w.unsqueeze(-1)], dim=-1)


COST_RULES = ("blackbox", "identity", "perturbed")
METHODS = {
    "combopt": KnapsackCombOptNet,
    "ilploss": KnapsackILPLoss,
    "lp": KnapsackLP,
    "mlp": KnapsackMLP,
    **{rule: lambda d, rule=rule, **kw: KnapsackCostRule(d, rule, **kw) for rule in COST_RULES},
}


def lp_max(weights: np.ndarray, prices: np.ndarray) -> np.ndarray:
    """LPmax: the LP relaxation on the true data, greedily rounded with the true weights."""
    return greedy_round(lp_relaxation(weights, prices, CAPACITY), weights, CAPACITY)
