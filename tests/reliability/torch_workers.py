"""Picklable pieces for the multiprocessing tests (a spawned child imports this module)."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from combopt_torch import CombOptNet

N, M = 6, 3


def make_model(backend: str, seed: int = 0) -> CombOptNet:
    return CombOptNet(N, M, 0, 1, generator=torch.Generator().manual_seed(seed), solver=backend)


def costs(count: int = 8) -> torch.Tensor:
    return torch.randn(count, N, generator=torch.Generator().manual_seed(1))


def forward_backward(model: CombOptNet, c: torch.Tensor):
    """``y`` and the gradients of the constraint parameters for a fixed linear loss."""
    model.zero_grad()
    y = model(c)
    (y * torch.linspace(-1.0, 1.0, N)).sum().backward()
    return y.detach(), [p.grad.detach().clone() for p in model.parameters()]


class SolvingDataset(Dataset):
    """Each item is solved by the layer inside the worker (a batch of two, two threads)."""

    def __init__(self, model: CombOptNet, c: torch.Tensor) -> None:
        self.model, self.c = model, c

    def __len__(self) -> int:
        return len(self.c) // 2

    def __getitem__(self, i: int) -> torch.Tensor:
        with torch.no_grad():
            return self.model(self.c[2 * i : 2 * i + 2])


def spawned_worker(rank: int, model: CombOptNet, c: torch.Tensor, out: str) -> None:
    """``torch.multiprocessing.spawn`` target: forward + backward on a pickled model."""
    y, grads = forward_backward(model, c)
    torch.save({"y": y, "grads": grads}, f"{out}.{rank}")
