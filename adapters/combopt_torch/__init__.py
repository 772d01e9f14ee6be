"""PyTorch adapter for combopt: the CombOptNet ILP layer and learnable constraints.

``ILPLayer(lb, ub, solver, tau)(c, A, b) -> y`` solves
``min c.y s.t. A y <= b, lb <= y <= ub, y integer`` in the forward pass and returns the
paper's gradients for ``c``, ``A`` and ``b`` in the backward pass.
"""

from .constraints import CombOptNet, LearnableConstraints
from .function import ILPFunction
from .layer import ILPInfo, ILPLayer

__all__ = [
    "CombOptNet",
    "ILPFunction",
    "ILPInfo",
    "ILPLayer",
    "LearnableConstraints",
]
