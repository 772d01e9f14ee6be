"""Weights of the ILP-Loss terms: fixed, or balanced by their coefficient of variation.

A balancer maps the loss terms ``{name: scalar tensor}`` of one batch to their weighted sum.
The weights are constants of the step (no gradient flows through them).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
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
        self._require(terms)
        return sum(w * terms[name] for name, w in self.weights.items())

    def combine(self, values: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
        """:meth:`forward` of the terms stacked in ``values (k,)``, in the order of ``names``."""
        self._require(names)
        weights = [self.weights.get(name, 0.0) for name in names]
        return values @ torch.tensor(weights, dtype=values.dtype, device=values.device)

    def _require(self, names) -> None:
        missing = set(self.weights) - set(names)
        if missing:
            raise ValueError(f"terms: no term named {sorted(missing)}; got {sorted(names)}")


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
        self._fold(np.asarray(losses.detach().cpu(), dtype=np.float64))

    def _fold(self, losses: np.ndarray) -> None:
        """:meth:`update` in NumPy on the buffers' memory (three-element arithmetic costs
        less there than as torch operations); buffers off the CPU are copied back."""
        names = ("step", "loss_mean", "ratio_mean", "ratio_m2", "weights")
        bufs = [getattr(self, name) for name in names]
        on_cpu = all(buf.device.type == "cpu" for buf in bufs)
        step, mean, ratio_mean, m2, weights = (
            buf.numpy() if on_cpu else buf.cpu().numpy() for buf in bufs
        )
        step += 1
        t = float(step)
        mean += (losses - mean) / t
        ratio = (losses + self.eps) / (mean + self.eps)
        delta = ratio - ratio_mean
        ratio_mean += delta / t
        m2 += delta * (ratio - ratio_mean)
        cov = np.sqrt(m2 / t + self.eps) / ratio_mean
        weights[...] = cov / cov.sum()
        if not on_cpu:
            for buf, arr in zip(bufs, (step, mean, ratio_mean, m2, weights)):
                buf.copy_(torch.from_numpy(arr))

    def forward(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        if set(terms) != set(self.names):
            raise ValueError(f"terms: expected {sorted(self.names)}, got {sorted(terms)}")
        return self.combine(torch.stack([terms[name] for name in self.names]), self.names)

    def combine(self, values: torch.Tensor, names: tuple[str, ...]) -> torch.Tensor:
        """:meth:`forward` of the terms stacked in ``values (k,)``, in the order of ``names``."""
        if set(names) != set(self.names) or len(names) != len(self.names):
            raise ValueError(f"terms: expected {sorted(self.names)}, got {sorted(names)}")
        if tuple(names) != self.names:
            values = values[[names.index(name) for name in self.names]]
        self._fold(values.detach().cpu().numpy().astype(np.float64))
        return values @ self.weights.to(values.dtype)


__all__ = ["CoVBalancer", "FixedWeights"]
