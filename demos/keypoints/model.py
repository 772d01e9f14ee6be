"""The matching network: keypoint features -> Delaunay graph message passing -> p x p costs.

``GraphMatcher(feature_dim)`` maps a batch of pairs to unary matching costs ``(B, p, p)``
(low = good, ``cost[b, i, j]`` for source ``i`` and target ``j``), in plain PyTorch:

1. Each view's positions are normalised (centred, divided by their RMS radius), so the
   network sees shapes, not where the object sits in the frame.
2. Node states start from ``[features, normalised position]``.
3. ``num_layers`` message-passing layers on each view's Delaunay graph (as BB-GM builds its
   graphs): node ``i`` averages ``MLP([h_j, pos_j - pos_i])`` over its neighbours ``j`` and
   adds it to its state (residual update, layer norm).
4. The cost of ``(i, j)`` is minus the scaled inner product of projected source and target
   states, normalised to unit length per instance as in the paper's code (``c / ||c||``).

The graph uses ``scipy.spatial.Delaunay``; with fewer than three points, or points on one
line (no triangulation), it falls back to the complete graph.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.spatial import Delaunay, QhullError
from torch import nn


def delaunay_adjacency(points: np.ndarray) -> np.ndarray:
    """Symmetric 0/1 adjacency ``(p, p)`` of the Delaunay triangulation of ``points (p, 2)``."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points: expected shape (p, 2), got {points.shape}")
    p = points.shape[0]
    adj = np.zeros((p, p))
    try:
        simplices = Delaunay(points).simplices if p >= 3 else None
    except QhullError:  # collinear or duplicate points: no triangulation exists
        simplices = None
    if simplices is None:
        adj[:] = 1.0
    else:
        for a in range(3):
            for b in range(3):
                adj[simplices[:, a], simplices[:, b]] = 1.0
    np.fill_diagonal(adj, 0.0)
    return adj


def normalise_positions(pos: torch.Tensor) -> torch.Tensor:
    """Centre each view ``(B, p, 2)`` and divide by its RMS distance to the centre."""
    centred = pos - pos.mean(dim=1, keepdim=True)
    radius = centred.pow(2).sum(-1).mean(-1).sqrt().clamp_min(1e-8)
    return centred / radius[:, None, None]


class MessagePassing(nn.Module):
    """One residual layer: ``h_i += W [h_i, mean_{j ~ i} MLP([h_j, pos_j - pos_i])]``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.message = nn.Sequential(
            nn.Linear(hidden + 2, hidden), nn.ReLU(), nn.Linear(hidden, hidden)
        )
        self.update = nn.Linear(2 * hidden, hidden)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, pos: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        p = h.shape[1]
        rel = pos[:, None, :, :] - pos[:, :, None, :]  # [b, i, j] = pos_j - pos_i
        msg = self.message(torch.cat([h[:, None].expand(-1, p, -1, -1), rel], dim=-1))
        degree = adj.sum(-1, keepdim=True).clamp_min(1.0)
        agg = (adj[..., None] * msg).sum(2) / degree
        return self.norm(h + torch.relu(self.update(torch.cat([h, agg], dim=-1))))


class GraphMatcher(nn.Module):
    """``forward(src_feat, src_pos, src_adj, trg_feat, trg_pos, trg_adj) -> costs (B, p, p)``.

    Shapes: features ``(B, p, feature_dim)``, positions ``(B, p, 2)``, adjacency ``(B, p, p)``.
    Both views share the weights (a siamese network).
    """

    def __init__(self, feature_dim: int, hidden: int = 64, num_layers: int = 2) -> None:
        super().__init__()
        if feature_dim < 1 or hidden < 1 or num_layers < 0:
            raise ValueError(
                f"feature_dim, hidden, num_layers: need >= 1, >= 1, >= 0, got {feature_dim}, "
                f"{hidden}, {num_layers}"
            )
        self.embed = nn.Linear(feature_dim + 2, hidden)
        self.layers = nn.ModuleList(MessagePassing(hidden) for _ in range(num_layers))
        self.head = nn.Linear(hidden, hidden)
        self.scale = hidden**-0.5

    def encode(self, feat: torch.Tensor, pos: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        pos = normalise_positions(pos)
        h = self.embed(torch.cat([feat, pos], dim=-1))
        for layer in self.layers:
            h = layer(h, pos, adj)
        return self.head(h)

    def forward(self, src_feat, src_pos, src_adj, trg_feat, trg_pos, trg_adj) -> torch.Tensor:
        hs = self.encode(src_feat, src_pos, src_adj)
        ht = self.encode(trg_feat, trg_pos, trg_adj)
        costs = -self.scale * hs @ ht.transpose(1, 2)
        flat = costs.flatten(1)
        return (flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)).view_as(costs)
