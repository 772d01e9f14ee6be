"""Weights of the ILP-Loss terms: fixed, or balanced by their coefficient of variation.

A balancer maps the loss terms ``{name: scalar tensor}`` of one batch to their weighted sum.
The weights are constants of the step (no gradient flows through them).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class FixedWeights(nn.Module):
    """``sum_i w_i L_i`` with fixed weights ``{name: w_i}`` (a term left out has weight 0)."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        super().__init__()
        if not weights or any(w < 0 for w in weights.values()):
            raise ValueError(f"weights: need at least one term, all >= 0, got {dict(weights)}")
        self.weights = dict(weights)

    def forward(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        missing = set(self.weights) - set(terms)
        if missing:
            raise ValueError(f"terms: no term named {sorted(missing)}; got {sorted(terms)}")
        return sum(w * terms[name] for name, w in self.weights.items())


class CoVBalancer(nn.Module):
    """Coefficient-of-variation weighting (Groenendijk et al., 2021), as ILP-Loss balances.

    At step ``t`` each term's ratio ``r_i = (L_i + eps) / (mean_t L_i + eps)`` compares it to
    its own mean over steps ``1..t`` (this one included); the weight of term ``i`` is the
    coefficient of variation of its ratios so far, ``w_i = std(r_i) / mean(r_i)``, normalised
    to sum 1. A term that keeps falling relative to its mean gets weight; a term that stays
    constant (e.g. one already at 0) gets none. Running moments are buffers (saved with
    ``state_dict``); on the first step all weights are equal. ``weights`` holds the last
    step's weights, in the order of the terms' names.
    """

    def __init__(self, names: tuple[str, ...] = ("pos", "neg", "var"), eps: float = 1e-6) -> None:
        super().__init__()
        if not names or len(set(names)) != len(names):
            raise ValueError(f"names: need distinct term names, got {names}")
        if eps <= 0:
            raise ValueError(f"eps: must be positive, got {eps}")
        self.names, self.eps = tuple(names), float(eps)
        k = len(self.names)
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.register_buffer("loss_mean", torch.zeros(k, dtype=torch.float64))
        self.register_buffer("ratio_mean", torch.zeros(k, dtype=torch.float64))
        self.register_buffer("ratio_m2", torch.zeros(k, dtype=torch.float64))  # Welford's M2
        self.register_buffer("weights", torch.full((k,), 1.0 / k, dtype=torch.float64))

    @torch.no_grad()
    def update(self, losses: torch.Tensor) -> None:
        """Fold one step's term values ``(k,)`` into the running moments and the weights."""
        self.step += 1
        t = self.step.double()
        self.loss_mean += (losses - self.loss_mean) / t
        ratio = (losses + self.eps) / (self.loss_mean + self.eps)
        delta = ratio - self.ratio_mean
        self.ratio_mean += delta / t
        self.ratio_m2 += delta * (ratio - self.ratio_mean)
        cov = torch.sqrt(self.ratio_m2 / t + self.eps) / self.ratio_mean
        self.weights.copy_(cov / cov.sum())

    def forward(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if set(terms) != set(self.names):
            raise ValueError(f"terms: expected {sorted(self.names)}, got {sorted(terms)}")
        stacked = torch.stack([terms[name] for name in self.names])
        self.update(stacked.detach().double())
        return (self.weights.to(stacked.dtype) * stacked).sum()


__all__ = ["CoVBalancer", "FixedWeights"]
