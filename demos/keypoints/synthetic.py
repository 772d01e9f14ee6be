"""A synthetic keypoint-matching benchmark with the learning problem of SPair-71k matching.

Each object class has ``parts_per_class`` parts, each with a 2-D layout position and a
``descriptor_dim``-dimensional prototype (``N(0, I)``). A pair shows ``p`` parts of one class
(a random subset) in two views: each view applies its own random affine map (rotation,
anisotropic scale, shear, translation) to the layout and adds positional noise
(``position_noise``); each keypoint's descriptor is its part's prototype plus
``N(0, descriptor_noise^2 I)``, drawn independently per view. The target keypoints are
shuffled; the task is to recover the permutation.

Nothing about the assignment structure is given to a learner: it sees positions and
descriptors, and must produce ``p x p`` costs whose constrained minimiser is the matching.
This is a stand-in for SPair-71k (which cannot be downloaded here), not a replacement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .pairs import KeypointPair


@dataclass(frozen=True)
class SyntheticConfig:
    """Generator parameters (the defaults are the calibrated benchmark)."""

    num_classes: int = 10
    parts_per_class: int = 12
    descriptor_dim: int = 32
    descriptor_noise: float = 1.6
    position_noise: float = 0.05
    max_rotation: float = np.pi / 4
    scale_range: tuple[float, float] = (0.7, 1.3)
    max_shear: float = 0.3

    def __post_init__(self) -> None:
        if self.num_classes < 1 or self.parts_per_class < 2 or self.descriptor_dim < 1:
            raise ValueError(
                "num_classes, parts_per_class, descriptor_dim: need >= 1, >= 2, >= 1, got "
                f"{self.num_classes}, {self.parts_per_class}, {self.descriptor_dim}"
            )
        if self.descriptor_noise < 0 or self.position_noise < 0:
            raise ValueError("descriptor_noise, position_noise: must be >= 0")
        lo, hi = self.scale_range
        if not 0 < lo <= hi:
            raise ValueError(f"scale_range: need 0 < low <= high, got {self.scale_range}")


class SyntheticKeypoints:
    """The benchmark's world: class layouts and prototypes fixed by ``world_seed``.

    ``sample(p, count, rng)`` draws pairs; train, validation and test splits are drawn from
    the same world with different generators (see ``make_splits``).
    """

    def __init__(self, config: SyntheticConfig = SyntheticConfig(), world_seed: int = 0) -> None:
        self.config = config
        rng = np.random.default_rng(world_seed)
        k, d = config.parts_per_class, config.descriptor_dim
        self.layouts = rng.uniform(-1.0, 1.0, size=(config.num_classes, k, 2))
        self.prototypes = rng.standard_normal((config.num_classes, k, d))

    def _view(self, layout: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        cfg = self.config
        theta = rng.uniform(-cfg.max_rotation, cfg.max_rotation)
        rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        scale = np.diag(rng.uniform(*cfg.scale_range, size=2))
        shear = np.array([[1.0, rng.uniform(-cfg.max_shear, cfg.max_shear)], [0.0, 1.0]])
        shift = rng.uniform(-1.0, 1.0, size=2)
        pos = layout @ (rot @ shear @ scale).T + shift
        return pos + cfg.position_noise * rng.standard_normal(pos.shape)

    def sample_pair(self, p: int, rng: np.random.Generator) -> KeypointPair:
        """One pair with ``p`` common keypoints (``2 <= p <= parts_per_class``)."""
        cfg = self.config
        if not 2 <= p <= cfg.parts_per_class:
            raise ValueError(f"p: need 2 <= p <= {cfg.parts_per_class}, got {p}")
        cls = int(rng.integers(cfg.num_classes))
        parts = rng.choice(cfg.parts_per_class, size=p, replace=False)
        layout, proto = self.layouts[cls, parts], self.prototypes[cls, parts]
        order = rng.permutation(p)  # target slot t shows part order[t]
        noise = cfg.descriptor_noise
        src_feat = proto + noise * rng.standard_normal(proto.shape)
        trg_feat = proto[order] + noise * rng.standard_normal(proto.shape)
        return KeypointPair(
            src_pos=self._view(layout, rng),
            trg_pos=self._view(layout[order], rng),
            perm=np.argsort(order),  # source i sits in target slot argsort(order)[i]
            category=str(cls),
            src_feat=src_feat,
            trg_feat=trg_feat,
        )

    def sample(self, p: int, count: int, rng: np.random.Generator) -> list[KeypointPair]:
        return [self.sample_pair(p, rng) for _ in range(count)]


def make_splits(
    world: SyntheticKeypoints, p: int, sizes: tuple[int, int, int], seed: int
) -> tuple[list[KeypointPair], list[KeypointPair], list[KeypointPair]]:
    """Train, validation and test pairs from independent streams of ``seed``."""
    streams = np.random.default_rng(seed).spawn(3)
    return tuple(world.sample(p, n, rng) for n, rng in zip(sizes, streams))  # type: ignore[return-value]
