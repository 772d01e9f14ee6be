"""Cost-learning rules of the field beside CombOptNet's, for a fixed ``A y <= b``.

Each solves ``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` through the same
``LayerOptions.solve`` as ``ILPLayer`` (every backend, batch solving, executors, caches, the
failure policy) and differentiates only ``c``:

- ``BlackboxILP``: blackbox differentiation (Vlastelica et al., ICLR 2020).
- ``PerturbedILP`` and ``FenchelYoungLoss``: the Gaussian perturbed optimizer and its loss
  (Berthet et al., NeurIPS 2020).
- ``SPOPlusLoss``: SPO+ (Elmachtoub & Grigas), which needs the true costs.
- ``IdentityILP``: the identity / straight-through rule (Sahoo et al., ICLR 2023).

The math is in ``combopt_core.cost_rules``.
"""

from .base import CostRule
from .blackbox import BlackboxILP
from .identity import IdentityILP
from .perturbed import FenchelYoungLoss, PerturbedILP
from .spo import SPOPlusLoss

__all__ = [
    "BlackboxILP",
    "CostRule",
    "FenchelYoungLoss",
    "IdentityILP",
    "PerturbedILP",
    "SPOPlusLoss",
]
