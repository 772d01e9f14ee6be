"""The field's cost-learning rules as pure numpy math, for a fixed ``A y <= b``.

Every rule here learns only the cost ``c`` of ``y(c) = argmin c.y  s.t.  A y <= b,
lb <= y <= ub, y integer`` (the library's MIN convention); the constraints are given. The
solves themselves are the caller's (``LayerOptions.solve``); these functions turn their
answers into outputs, losses and gradients. Shapes: ``c, y, dy (B, n)``; samples stack on a
leading axis, ``(S, B, n)``. A gradient is the gradient of the caller's loss with respect to
``c``, to be *subtracted* by gradient descent.

- Blackbox differentiation (Vlastelica et al., ICLR 2020, Algorithm 1): solve again at
  ``c' = c + lambda_ dy`` and return ``-(y(c) - y(c')) / lambda_ = (y(c') - y(c)) / lambda_``,
  the gradient of the interpolation ``(min_y c'.y - min_y c.y) / lambda_`` of a loss with
  gradient ``dy``. (Raising ``c`` where ``dy > 0`` switches those variables off in ``y(c')``,
  so the gradient there is negative and descent raises those costs.)
- Perturbed argmin (Berthet et al., NeurIPS 2020), Gaussian noise ``Z``: the output is
  ``E[y(c + sigma Z)]``; its Jacobian is ``E[y(c + sigma Z) Z^T] / sigma``, estimated on the
  same samples. Its Fenchel-Young loss for a target ``y_true`` is
  ``c.y_true - E[min_y (c + sigma Z).y]`` (>= 0 in expectation), with gradient
  ``y_true - E[y(c + sigma Z)]`` (the MAX-convention ``E[y] - y_true`` with ``c = -theta``).
- SPO+ (Elmachtoub & Grigas, 2022) for a predicted ``c_hat`` and the true ``c_true``:
  ``-min_y (2 c_hat - c_true).y + 2 c_hat.y*(c_true) - z*(c_true)`` (>= 0, 0 at
  ``c_hat = c_true``), subgradient ``2 (y*(c_true) - y(2 c_hat - c_true))``.
- Identity (Sahoo et al., ICLR 2023): the Jacobian of ``y(c)`` replaced by ``-I`` (raising a
  cost lowers its variable), so the gradient is ``-dy``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number > 0, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def check_n_samples(n_samples: Any) -> int:
    """``n_samples`` if it is an integer >= 1, else ``ValueError``."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
        raise ValueError(f"n_samples: must be an integer >= 1, got {n_samples!r}")
    if n_samples < 1:
        raise ValueError(f"n_samples: must be an integer >= 1, got {n_samples!r}")
    return int(n_samples)


def blackbox_costs(c: np.ndarray, dy: np.ndarray, lambda_: float) -> np.ndarray:
    """The costs of the backward's second solve: ``c + lambda_ dy``, ``(B, n)``."""
    return c + lambda_ * dy


def blackbox_gradient(y: np.ndarray, y_shifted: np.ndarray, lambda_: float) -> np.ndarray:
    """``(y(c + lambda_ dy) - y(c)) / lambda_``, ``(B, n)``: the interpolation's gradient."""
    return (y_shifted - y) / lambda_


def perturbed_costs(c: np.ndarray, noise: np.ndarray, sigma: float) -> np.ndarray:
    """``c + sigma Z`` for every sample: ``c (B, n)``, ``noise (S, B, n)`` -> ``(S, B, n)``."""
    return c[None] + sigma * noise


def perturbed_vjp(
    y_samples: np.ndarray, noise: np.ndarray, dy: np.ndarray, sigma: float
) -> np.ndarray:
    """``J^T dy`` for the Monte-Carlo Jacobian ``J = mean_s y_s Z_s^T / sigma``, ``(B, n)``.

    ``y_samples (S, B, n)`` are the solutions at ``c + sigma Z_s``, ``noise (S, B, n)`` the
    ``Z_s``, ``dy (B, n)`` the gradient of the loss with respect to the expected solution.
    """
    weights = np.einsum("sbn,bn->sb", y_samples, dy)  # y_s . dy per sample and instance
    return np.einsum("sb,sbn->bn", weights, noise) / (sigma * noise.shape[0])


def fenchel_young_loss(
    c: np.ndarray, y_true: np.ndarray, sample_objectives: np.ndarray
) -> np.ndarray:
    """``c.y_true - mean_s min_y (c + sigma Z_s).y``, ``(B,)``.

    ``sample_objectives (S, B)`` are the optimal values ``(c + sigma Z_s).y_s``.
    """
    return np.einsum("bn,bn->b", c, y_true) - sample_objectives.mean(axis=0)


def fenchel_young_gradient(y_true: np.ndarray, y_samples: np.ndarray) -> np.ndarray:
    """``y_true - mean_s y_s``, ``(B, n)``: the Fenchel-Young loss's gradient in ``c``."""
    return y_true - y_samples.mean(axis=0)


def spo_plus_costs(c_hat: np.ndarray, c_true: np.ndarray) -> np.ndarray:
    """The costs of SPO+'s solve: ``2 c_hat - c_true``, ``(B, n)``."""
    return 2.0 * c_hat - c_true


def spo_plus_loss(
    c_hat: np.ndarray, c_true: np.ndarray, y_true: np.ndarray, y_spo: np.ndarray
) -> np.ndarray:
    """``-(2 c_hat - c_true).y_spo + 2 c_hat.y_true - c_true.y_true``, ``(B,)``.

    ``y_true`` is optimal for ``c_true`` and ``y_spo`` for ``2 c_hat - c_true``; the sum is
    ``(2 c_hat - c_true).(y_true - y_spo)``, which is >= 0 because ``y_spo`` is optimal.
    """
    return np.einsum("bn,bn->b", spo_plus_costs(c_hat, c_true), y_true - y_spo)


def spo_plus_gradient(y_true: np.ndarray, y_spo: np.ndarray) -> np.ndarray:
    """``2 (y*(c_true) - y(2 c_hat - c_true))``, ``(B, n)``: SPO+'s subgradient in ``c_hat``."""
    return 2.0 * (y_true - y_spo)


def normalized_regret(c_true: np.ndarray, y_hat: np.ndarray, y_true: np.ndarray) -> float:
    """``sum_i (c_true.y_hat - c_true.y_true) / sum_i |c_true.y_true|`` over the batch.

    The regret of deciding ``y_hat (B, n)`` instead of the optimum ``y_true`` for the true
    costs ``c_true``, normalised by the optimal values as PyEPO does: summed over instances
    before dividing, so an instance whose optimal value is near 0 cannot dominate. 0 when
    every decision is optimal; ``ValueError`` when every optimal value is 0.
    """
    best = np.einsum("bn,bn->b", c_true, y_true)
    scale = float(np.abs(best).sum())
    if scale == 0:
        raise ValueError("y_true: every optimal value c_true.y_true is 0; nothing to normalise by")
    return float((np.einsum("bn,bn->b", c_true, y_hat) - best).sum() / scale)
