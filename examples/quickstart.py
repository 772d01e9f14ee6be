"""Quickstart: an ILP as a PyTorch layer, with gradients for costs and constraints."""

import torch

from combopt_torch import ILPLayer

layer = ILPLayer(lb=0, ub=1, solver="highs", tau=0.5)  # y in {0, 1}^n

# minimize c.y  s.t.  A y <= b: here "pick at most one item"
c = torch.tensor([[-1.0, -2.0, 0.5]], requires_grad=True)  # costs (B, n)
A = torch.tensor([[1.0, 1.0, 1.0]], requires_grad=True)  # constraints (m, n)
b = torch.tensor([1.0], requires_grad=True)  # right-hand sides (m,)

y = layer(c, A, b)  # tensor([[0., 1., 0.]]): the optimal choice
wanted = torch.tensor([[1.0, 1.0, 0.0]])  # items 0 and 1
loss = ((y - wanted) ** 2).sum()
loss.backward()  # the CombOptNet gradient reaches c, A and b
print(y, c.grad, A.grad, b.grad, sep="\n")
