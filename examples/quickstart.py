"""Quickstart: an ILP as a PyTorch layer, with gradients for costs and constraints."""

import torch

from combopt_torch import ILPLayer

layer = ILPLayer(lb=0, ub=1, solver="highs", tau=0.5)  # y in {0, 1}^n

c = torch.tensor([[-1.0, -2.0, 0.5]], requires_grad=True)  # costs (B, n): minimize c.y
A = torch.tensor([[1.0, 1.0, 1.0]], requires_grad=True)  # constraints A y <= b, (m, n)
b = torch.tensor([1.0], requires_grad=True)  # right-hand sides (m,): pick at most one

y = layer(c, A, b)  # tensor([[0., 1., 0.]]): the optimal selection
loss = ((y - torch.tensor([[1.0, 1.0, 0.0]])) ** 2).sum()  # we wanted items 0 and 1
loss.backward()  # the CombOptNet gradient reaches c, A and b
print(y, c.grad, A.grad, b.grad, sep="\n")
