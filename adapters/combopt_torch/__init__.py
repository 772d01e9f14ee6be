"""PyTorch adapter for combopt: the CombOptNet ILP layer and learnable constraints.

``ILPLayer(lb, ub, solver, tau)(c, A, b) -> y`` solves
``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` in the forward pass and returns the
paper's gradients for ``c``, ``A`` and ``b`` in the backward pass. ``combopt_torch.cost`` holds
the field's cost-only rules (blackbox, perturbed / Fenchel-Young, SPO+, identity).
"""

try:
    import torch  # noqa: F401 - only to name the missing framework clearly
except ImportError as exc:
    raise ImportError(
        "combopt_torch needs PyTorch, which is not installed: "
        'pip install "torch==2.13.0" "combopt[torch]" (pin torch: a bare `torch` can '
        "resolve to a multi-GB CUDA build)"
    ) from exc

from combopt_core import __version__ as __version__

from .constraints import CombOptNet, LearnableConstraints
from .cost import BlackboxILP, CostRule, FenchelYoungLoss, IdentityILP, PerturbedILP, SPOPlusLoss
from .function import ILPFunction
from .layer import ILPInfo, ILPLayer

__all__ = [
    "BlackboxILP",
    "CombOptNet",
    "CostRule",
    "FenchelYoungLoss",
    "ILPFunction",
    "ILPInfo",
    "ILPLayer",
    "IdentityILP",
    "LearnableConstraints",
    "PerturbedILP",
    "SPOPlusLoss",
]
