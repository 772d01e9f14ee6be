"""Solver-free constraint learning (ILP-Loss, Nandwani et al., NeurIPS 2022).

Train the same learnable constraints as CombOptNet (``LearnableConstraints``) from gold
points and sampled negatives, with no solver call in training; evaluate exactly through
``ILPLayer`` / ``CombOptNet`` on any backend, or fine-tune there with the paper's rule::

    model = CombOptNet(16, 2)
    criterion = ILPLoss(lb=0, ub=1)
    loss = criterion(*model.constraints(), c, y_gold)
"""

from combopt_core.negatives import NegativeSampler

from .balance import CoVBalancer, FixedWeights
from .loss import TERMS, ILPLoss, ilp_loss_terms, signed_distances

__all__ = [
    "TERMS",
    "CoVBalancer",
    "FixedWeights",
    "ILPLoss",
    "NegativeSampler",
    "ilp_loss_terms",
    "signed_distances",
]
